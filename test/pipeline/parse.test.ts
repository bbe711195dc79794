/**
 * DESIGN §2 rows 1–2: body size, the strict parse and the envelope shape. Every rejection is
 * 1000, belongs to the `system` tenant (no token verified yet) and runs nothing after it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type Caller, sessionAgent } from "./agents.js";
import { type ExpectedRejection, expectPolicyDenied, expectRejected, uid, withField } from "./helpers.js";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** An envelope whose arguments nest `levels` objects below `arguments` (envelope = depth 1, arguments = 4). */
function nested(levels: number): Record<string, unknown> {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return { a: v };
}

describe.each(BACKENDS)("envelope size, strict parse and shape (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const malformed = (reason: string, requestId: string | number | null = null): ExpectedRejection => ({
    status: 400,
    code: 1000,
    reason,
    stage: "parse",
    tenant: "system",
    requestId,
  });
  const tooLarge: ExpectedRejection = {
    status: 413,
    code: 1000,
    reason: "body_too_large",
    stage: "parse",
    tenant: "system",
  };

  async function validBody(
    args: Record<string, unknown> = { q: "x" },
  ): Promise<{ agent: Caller; body: string; id: string }> {
    const agent = await sessionAgent(t);
    const id = uid("req");
    return { agent, body: envelopeBody(t, agent, "demo.tool", args, { id }), id };
  }

  /** A valid envelope padded to exactly `size` bytes (ASCII, so characters = bytes). */
  async function bodyOfSize(size: number): Promise<{ agent: Caller; body: string }> {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const base = envelopeBody(t, agent, "demo.tool", { pad: "" }, { id }).length;
    const body = envelopeBody(t, agent, "demo.tool", { pad: "p".repeat(size - base) }, { id });
    expect(body.length).toBe(size);
    return { agent, body };
  }

  describe("body size (row 1)", () => {
    it("a body of exactly server.body_limit_bytes passes the size check", async () => {
      const { agent, body } = await bodyOfSize(t.config.server.body_limit_bytes);
      await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub });
    });

    it("one byte over the limit with a Content-Length is 413 body_too_large", async () => {
      const { agent, body } = await bodyOfSize(t.config.server.body_limit_bytes + 1);
      await expectRejected(
        t,
        body,
        { ...tooLarge, secrets: [agent.token] },
        { headers: { "content-length": String(body.length) } },
      );
    });

    it("one byte over the limit streamed without a Content-Length (chunked) is 413", async () => {
      const { body } = await bodyOfSize(t.config.server.body_limit_bytes + 1);
      const bytes = utf8(body);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let off = 0; off < bytes.length; off += 65_536) c.enqueue(bytes.slice(off, off + 65_536));
          c.close();
        },
      });
      await expectRejected(t, stream, tooLarge);
    });

    it("a Content-Length that understates the body does not get it past the limit", async () => {
      const { body } = await bodyOfSize(t.config.server.body_limit_bytes + 1);
      await expectRejected(t, body, tooLarge, { headers: { "content-length": "100" } });
    });

    it("a declared Content-Length over the limit is refused before the body is read", async () => {
      await expectRejected(t, "{}", tooLarge, {
        headers: { "content-length": String(t.config.server.body_limit_bytes + 1) },
      });
    });
  });

  describe("strict parse (row 2)", () => {
    it("malformed JSON", async () => {
      await expectRejected(t, '{"protocol":"seal/v1",', malformed("malformed_json"));
      await expectRejected(t, "", malformed("malformed_json"));
      await expectRejected(t, "{'protocol':'seal/v1'}", malformed("malformed_json"));
    });

    it("trailing garbage after a valid envelope", async () => {
      const { body } = await validBody();
      await expectRejected(t, `${body}x`, malformed("malformed_json"));
      await expectRejected(t, `${body}{}`, malformed("malformed_json"));
    });

    it("duplicate keys, including a duplicate spelled with an escape", async () => {
      const { body } = await validBody();
      await expectRejected(
        t,
        body.replace('{"protocol":"seal/v1"', '{"protocol":"seal/v1","protocol":"seal/v1"'),
        malformed("malformed_json"),
      );
      const { body: b2 } = await validBody({ a: 1 });
      expect(b2).toContain('"arguments":{"a":1}');
      await expectRejected(
        t,
        b2.replace('"arguments":{"a":1}', '"arguments":{"a":1,"\\u0061":2}'),
        malformed("malformed_json"),
      );
    });

    it("a lone surrogate escape", async () => {
      const { body } = await validBody({ q: "x" });
      await expectRejected(t, body.replace('"q":"x"', '"q":"\\ud800"'), malformed("malformed_json"));
      await expectRejected(t, body.replace('"q":"x"', '"q":"\\udc00\\ud800"'), malformed("malformed_json"));
    });

    it("invalid UTF-8 bytes", async () => {
      const { body } = await validBody({ q: "x" });
      const at = body.indexOf('"q":"x"') + 5;
      const bytes = utf8(body);
      bytes[at] = 0xff;
      await expectRejected(t, bytes, malformed("malformed_json"));
      const overlong = new Uint8Array([...utf8(body.slice(0, at)), 0xc0, 0xaf, ...utf8(body.slice(at + 1))]);
      await expectRejected(t, overlong, malformed("malformed_json"));
    });

    it("a byte order mark", async () => {
      const { body } = await validBody();
      await expectRejected(t, new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(body)]), malformed("malformed_json"));
    });

    it("nesting one level deeper than server.max_depth (64) is too_deep; exactly 64 passes", async () => {
      expect(t.config.server.max_depth).toBe(64);
      const ok = await validBody(nested(60));
      await expectPolicyDenied(t, ok.body, { tenant: "default", agentId: ok.agent.sub });
      const deep = await validBody(nested(61));
      await expectRejected(t, deep.body, malformed("too_deep"));
      await expectRejected(t, `${"[".repeat(10_000)}${"]".repeat(10_000)}`, malformed("too_deep"));
    });
  });

  describe("envelope shape (row 2)", () => {
    it("an envelope that is not an object", async () => {
      for (const body of ["[]", '"seal/v1"', "null", "42", "true"])
        await expectRejected(t, body, malformed("malformed_json"));
    });

    it("an unknown top-level field names itself", async () => {
      const { body, id } = await validBody();
      await expectRejected(t, withField(body, "extra", 1), malformed("bad_field:extra", id));
    });

    it("protocol wrong is bad_protocol, missing or not a string is bad_field:protocol", async () => {
      const { body, id } = await validBody();
      await expectRejected(t, withField(body, "protocol", "seal/v2"), malformed("bad_protocol", id));
      await expectRejected(t, withField(body, "protocol", undefined), malformed("bad_field:protocol", id));
      await expectRejected(t, withField(body, "protocol", 1), malformed("bad_field:protocol", id));
    });

    it("payload.method other than tools/call is bad_method", async () => {
      const { body, id } = await validBody();
      await expectRejected(
        t,
        body.replace('"method":"tools/call"', '"method":"tools/list"'),
        malformed("bad_method", id),
      );
      await expectRejected(
        t,
        body.replace('"method":"tools/call"', '"method":"Tools/Call"'),
        malformed("bad_method", id),
      );
    });

    it("missing params.name and non-object arguments", async () => {
      const { body, id } = await validBody({ q: "x" });
      await expectRejected(
        t,
        body.replace('"name":"demo.tool"', '"nom":"demo.tool"'),
        malformed("bad_field:payload.params.name", id),
      );
      await expectRejected(
        t,
        body.replace('"name":"demo.tool"', '"name":""'),
        malformed("bad_field:payload.params.name", id),
      );
      await expectRejected(
        t,
        body.replace('"arguments":{"q":"x"}', '"arguments":["x"]'),
        malformed("bad_field:payload.params.arguments", id),
      );
      await expectRejected(
        t,
        body.replace('"arguments":{"q":"x"}', '"arguments":"x"'),
        malformed("bad_field:payload.params.arguments", id),
      );
    });

    it("wrong types of the token, signature and payload", async () => {
      const { body, id } = await validBody();
      await expectRejected(
        t,
        withField(body, "security_token", 7),
        malformed("bad_field:security_token", id),
      );
      await expectRejected(
        t,
        withField(body, "security_token", ""),
        malformed("bad_field:security_token", id),
      );
      await expectRejected(t, withField(body, "signature", undefined), malformed("bad_field:signature", id));
      await expectRejected(t, withField(body, "signature", ["a"]), malformed("bad_field:signature", id));
      await expectRejected(t, withField(body, "payload", "{}"), malformed("bad_field:payload"));
    });

    it("timestamp: float seconds, garbage strings and other types are bad_field:timestamp", async () => {
      const { body, id } = await validBody();
      const seconds = Math.floor(t.clock.nowMs() / 1000);
      const ts = JSON.stringify(new Date(t.clock.nowMs()).toISOString());
      expect(body).toContain(`"timestamp":${ts}`);
      for (const bad of [
        `${seconds}.0`,
        `${seconds}.5`,
        `${seconds}e0`,
        `"${seconds}"`,
        '"yesterday"',
        '"2026-01-01 00:00:00Z"',
        '"2026-02-30T00:00:00Z"',
        "null",
        "true",
        `-${seconds}`,
      ]) {
        await expectRejected(
          t,
          body.replace(`"timestamp":${ts}`, `"timestamp":${bad}`),
          malformed("bad_field:timestamp", id),
        );
      }
      await expectRejected(t, withField(body, "timestamp", undefined), malformed("bad_field:timestamp", id));
    });
  });
});
