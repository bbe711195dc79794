import { describe, expect, it } from "vitest";
import {
  contextText,
  type Flip,
  lineDiff,
  readCandidate,
  whatIfSummary,
  windowSince,
} from "../../web/src/context-text.js";

/** The context editor's pure parts (web/src/context-text.ts): text, diff, window, summary. */

const flip = (to: Flip["to"], from: Flip["from"] = "allow"): Flip => ({
  event_id: `e-${Math.random()}`,
  request_id: null,
  tool_name: "t",
  from,
  to,
  rule: null,
  reason: null,
  code: null,
  at: null,
});

describe("context editor text", () => {
  it("drops the row's own fields and orders keys the same way whatever order they came in", () => {
    const a = contextText({
      updated_at: "2026-01-01T00:00:00.000Z",
      capabilities: [{ rate_limit: { calls: 1, per_seconds: 60 }, tool_pattern: "x" }],
      tenant_id: "default",
      description: "d",
      name: "n",
      created_at: "2026-01-01T00:00:00.000Z",
    });
    const b = contextText({
      name: "n",
      capabilities: [{ tool_pattern: "x", rate_limit: { per_seconds: 60, calls: 1 } }],
      description: "d",
    });
    expect(a).toBe(b);
    expect(a).not.toMatch(/tenant_id|created_at|updated_at/);
    expect(a.split("\n").slice(1, 3)).toEqual(['  "name": "n",', '  "description": "d",']);
    expect(a).toMatch(/"tool_pattern": "x",\n\s+"rate_limit"/);
  });

  it("reads a candidate, and says why text is not one", () => {
    expect(readCandidate('{"name":"n"}')).toMatchObject({ ok: true, value: { name: "n" } });
    for (const [text, error] of [
      ["", /^not JSON/],
      ["{ not json", /^not JSON/],
      ["[]", /JSON object/],
      ["null", /JSON object/],
      ['"name"', /JSON object/],
      ["42", /JSON object/],
    ] as const) {
      const r = readCandidate(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.error).toMatch(error);
    }
  });

  it("diffs line by line, marking only what changed", () => {
    const before = contextText({ name: "n", capabilities: [{ tool_pattern: "a.*" }] });
    const after = contextText({ name: "n", capabilities: [{ tool_pattern: "a.b" }] });
    const lines = lineDiff(before, after);
    expect(lines.filter((l) => l.kind === "removed").map((l) => l.text.trim())).toEqual([
      '"tool_pattern": "a.*"',
    ]);
    expect(lines.filter((l) => l.kind === "added").map((l) => l.text.trim())).toEqual([
      '"tool_pattern": "a.b"',
    ]);
    expect(lineDiff(before, before).every((l) => l.kind === "same")).toBe(true);
  });

  it("turns a window choice into its start, and all of history into none", () => {
    const now = Date.UTC(2026, 0, 8);
    expect(windowSince("24h", now)).toBe("2026-01-07T00:00:00.000Z");
    expect(windowSince("7d", now)).toBe("2026-01-01T00:00:00.000Z");
    expect(windowSince("30d", now)).toBe("2025-12-09T00:00:00.000Z");
    expect(windowSince("all", now)).toBeUndefined();
    expect(windowSince("bogus", now)).toBeUndefined();
  });

  it("sums a what-if up in one sentence", () => {
    const w = "the last 7 days";
    expect(whatIfSummary({ evaluated: 0, unchanged: 0, undecidable: 0, flips: [] }, w)).toBe(
      "No recorded calls of this context in the last 7 days: nothing to compare.",
    );
    expect(whatIfSummary({ evaluated: 1, unchanged: 1, undecidable: 0, flips: [] }, w)).toBe(
      "No call would be decided differently, of 1 recorded call in the last 7 days.",
    );
    expect(
      whatIfSummary(
        {
          evaluated: 2310,
          unchanged: 2290,
          undecidable: 3,
          flips: [
            ...Array.from({ length: 14 }, () => flip("reject")),
            flip("escalate"),
            ...Array.from({ length: 2 }, () => flip("allow", "reject")),
          ],
        },
        w,
      ),
    ).toBe(
      "The candidate would deny 14 calls, would ask approval for 1 call, would allow 2 calls now refused or escalated, of 2,310 recorded calls in the last 7 days; 3 calls undecidable (a deciding argument was redacted).",
    );
  });
});
