/**
 * The scrubber on its own: every encoded form an upstream may reflect a secret in, values
 * split across escapes, secrets hiding in keys and numbers, and the per-call sink that
 * scrubs error text.
 */
import { describe, expect, it } from "vitest";
import { REDACTED, SecretSink, secretNeedles, secretScrubber } from "../../src/credentials/redaction.js";
import { secretScrubber as workflowScrubber } from "../../src/engines/workflow/redact.js";
import { GatewayError } from "../../src/errors.js";

const SECRET = "tok_live_9f8e7d6c5b4a/+ é";
const scrub = secretScrubber([SECRET]);
const u = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

describe("secretScrubber", () => {
  const bytes = Buffer.from(SECRET, "utf8");
  const forms: Array<[string, string]> = [
    ["plain", SECRET],
    ["base64", bytes.toString("base64")],
    ["base64 without padding", bytes.toString("base64").replace(/=+$/, "")],
    ["base64url", bytes.toString("base64url")],
    ["URL-encoded", encodeURIComponent(SECRET)],
    ["form-encoded", new URLSearchParams({ v: SECRET }).toString().slice(2)],
    ["JSON-escaped", JSON.stringify(SECRET).slice(1, -1)],
    ["JSON-escaped with \\/", JSON.stringify(SECRET).slice(1, -1).replaceAll("/", "\\/")],
    ["every character \\u-escaped", u(SECRET)],
    [
      "every character \\u-escaped, upper-case hex",
      u(SECRET).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`),
    ],
    ["half plain, half \\u-escaped", SECRET.slice(0, 8) + u(SECRET.slice(8))],
    ["half plain, half percent-encoded", SECRET.slice(0, 8) + encodeURIComponent(SECRET.slice(8))],
    ["percent-encoded JSON escapes (two layers)", encodeURIComponent(u(SECRET))],
  ];
  for (const [name, form] of forms) {
    it(`finds the ${name} form inside other text`, () => {
      const out = scrub({ text: `before ${form} after` }) as { text: string };
      expect(out.text).toContain(REDACTED);
      expect(out.text).not.toContain(form);
      expect(out.text).not.toContain(SECRET);
    });
  }

  it("finds the secret inside a longer base64 run at any byte offset (Basic user:password)", () => {
    for (const prefix of ["", "u", "us", "user:", "abcdefg:"]) {
      const run = Buffer.from(`${prefix}${SECRET};tail`).toString("base64");
      expect(scrub(`Basic ${run}`), prefix).toContain(REDACTED);
    }
  });

  it("scrubs object keys, nested arrays, and a numeric secret echoed as a JSON number", () => {
    const numeric = secretScrubber(["9876543210"]);
    expect(numeric({ a: [9876543210, { "9876543210": 1 }], b: 12 })).toEqual({
      a: [REDACTED, { [REDACTED]: 1 }],
      b: 12,
    });
    expect(scrub({ [`k-${SECRET}`]: [[SECRET]] })).toEqual({ [`k-${REDACTED}`]: [[REDACTED]] });
  });

  it("leaves text without the secret exactly as it was, escapes included", () => {
    const text = 'a\\u0062c %41 + "quoted" \\n';
    expect(scrub(text)).toBe(text);
    expect(scrub({ n: 1, t: true, z: null })).toEqual({ n: 1, t: true, z: null });
  });

  it("keeps __proto__ an ordinary key (no prototype pollution through a scrubbed value)", () => {
    const hostile = JSON.parse(`{"__proto__": {"polluted": "${SECRET}"}}`) as object;
    const out = scrub(hostile) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(["__proto__"]);
  });

  it("is the scrubber the workflow engine uses", () => {
    expect(workflowScrubber([SECRET])(`x ${u(SECRET)} y`)).toBe(`x ${REDACTED} y`);
  });

  it("does nothing without secrets, and ignores empty strings", () => {
    const value = { a: "anything" };
    expect(secretScrubber([])(value)).toBe(value);
    expect(secretNeedles([""])).toEqual([]);
  });

  it("does not add short partial base64 needles that would redact ordinary text", () => {
    for (const needle of secretNeedles(["abc"])) expect(needle.length).toBeGreaterThanOrEqual(3);
    expect(secretScrubber(["abc"])("the word YWJ stays")).toBe("the word YWJ stays");
  });
});

describe("SecretSink", () => {
  it("scrubs an error's message and details and keeps its code and status", () => {
    const sink = new SecretSink();
    sink.add([SECRET, ""]);
    const err = new GatewayError("UPSTREAM_ERROR", `upstream said: bad token ${SECRET}`, {
      reason: "step_failed",
      echoed: { header: `Bearer ${SECRET}` },
    });
    const out = sink.scrubError(err);
    expect(out.code).toBe("UPSTREAM_ERROR");
    expect(out.httpStatus).toBe(502);
    expect(out.message).toBe(`upstream said: bad token ${REDACTED}`);
    expect(JSON.stringify(out.details)).not.toContain(SECRET);
    expect(out.details.reason).toBe("step_failed");
  });

  it("returns the same objects when it holds nothing or nothing matched", () => {
    const sink = new SecretSink();
    const err = new GatewayError("UPSTREAM_ERROR", "plain", { reason: "x" });
    expect(sink.scrubError(err)).toBe(err);
    sink.add(["zzz-not-there"]);
    expect(sink.scrubError(err)).toBe(err);
    expect(sink.size).toBe(1);
  });

  it("picks up values added after a first scrub", () => {
    const sink = new SecretSink();
    expect(sink.scrub("a-one b-two")).toBe("a-one b-two");
    sink.add(["a-one"]);
    expect(sink.scrub("a-one b-two")).toBe(`${REDACTED} b-two`);
    sink.add(["b-two"]);
    expect(sink.scrub("a-one b-two")).toBe(`${REDACTED} ${REDACTED}`);
  });
});
