/**
 * Properties of the recorded call, what-if and suggest on generated contexts and histories
 * (fast-check):
 * - the recorded (redacted) arguments decide as the call did, or the call is undecidable;
 * - a suggestion is a valid context, and a what-if of it flips no call the current one allowed;
 * - a suggestion is never broader: what it does not reject, the current context does not either.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSecurityContext, type SecurityContext } from "../../src/policy/context-schema.js";
import { evaluate, type ToolInfo } from "../../src/policy/evaluate.js";
import { recordedArguments } from "../../src/policy/recorded-call.js";
import { SuggestionBuilder } from "../../src/policy/suggest.js";
import { type RecordedCall, redecide } from "../../src/policy/what-if.js";

const TOOLS: Record<string, ToolInfo | undefined> = {
  "fs.read": { kind: "workflow" },
  "fs.write": undefined,
  "web.get": { kind: "workflow", upstreamHosts: ["api.example.com"] },
  "pay.refund": { kind: "native" },
  "cli.git": { kind: "cli", command: "git", mounts: ["/workspace/repo"] },
};
const PATHS = [
  "/workspace/a",
  "/workspace/b/1.txt",
  "/workspace/b/2.txt",
  "/workspace/b/3.txt",
  "/workspace/b/c/4",
  "/workspace/repo/x",
  "/workspace/../etc/x",
  "/etc/passwd",
  "/tmp/x",
  "relative/p",
  "/workspace/*",
];
const URLS = [
  "https://example.com/x",
  "https://a.example.org/",
  "https://b.a.example.org/q?token=1",
  "https://api.example.com/y",
  "https://evil.com/",
  "https://evilexample.com/",
  "not a url",
  "http://user:pw@example.com/?q=1",
];

const subset = <T>(items: readonly T[]) => fc.subarray([...items], { minLength: 0 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const capability = fc.record(
  {
    tool_pattern: fc.constantFrom(
      "*",
      "fs.*",
      "fs.read",
      "web.*",
      "web.get",
      "pay.refund",
      "cli.*",
      "cli.git",
    ),
    path_allowlist: maybe(subset(["/workspace/**", "/workspace/b/*", "/workspace/a", "/tmp/**", "/**"])),
    domain_allowlist: maybe(subset(["example.com", "*.example.org", "api.example.com", "*.example.com"])),
    subcommand_allowlist: maybe(subset(["status", "log"])),
    approval: maybe(fc.constantFrom("required" as const, "none" as const)),
    rate_limit: maybe(fc.record({ calls: fc.integer({ min: 1, max: 10 }), per_seconds: fc.constant(60) })),
  },
  { requiredKeys: ["tool_pattern"] },
);

const context: fc.Arbitrary<SecurityContext> = fc
  .record({
    deny_list: maybe(subset(["fs.write", "pay.*"])),
    capabilities: fc.array(capability, { maxLength: 5 }),
    visible_tools: maybe(subset(["fs.*", "web.get", "cli.git"])),
  })
  .map((c) => {
    const parsed = parseSecurityContext({ name: "gen", ...c });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.context;
  });

interface Call {
  toolName: string;
  args: Record<string, unknown>;
}

const call: fc.Arbitrary<Call> = fc.record({
  toolName: fc.constantFrom(...Object.keys(TOOLS)),
  args: fc.record(
    {
      path: fc.constantFrom(...PATHS),
      url: fc.constantFrom(...URLS),
      files: fc.array(fc.record({ source_path: fc.constantFrom(...PATHS) }), { maxLength: 2 }),
      subcommand: fc.constantFrom("status", "log", "push"),
      note: fc.string({ maxLength: 5 }),
    },
    { requiredKeys: [] },
  ),
});

/** The registry's facts for a call, as the live path gets them after lookup (CLI: its subcommand). */
function infoFor(toolName: string, args: Record<string, unknown>): ToolInfo | undefined {
  const info = TOOLS[toolName];
  if (info?.kind === "cli" && typeof args.subcommand === "string")
    return { ...info, subcommand: args.subcommand };
  return info;
}

function live(ctx: SecurityContext, c: Call) {
  const tool = infoFor(c.toolName, c.args);
  return evaluate(
    ctx,
    { toolName: c.toolName, arguments: c.args, ...(tool ? { tool } : {}) },
    { phase: tool ? "post-lookup" : "pre-lookup" },
  );
}

function recorded(c: Call): RecordedCall {
  const args = recordedArguments(c.args);
  const tool = infoFor(c.toolName, args as Record<string, unknown>);
  return { toolName: c.toolName, arguments: args, ...(tool ? { tool } : {}) };
}

const RUNS = { numRuns: 300 };

describe("recorded calls, what-if and suggest (property-based)", () => {
  it("the recorded arguments decide as the live call did, or the call is undecidable", () => {
    fc.assert(
      fc.property(context, call, (ctx, c) => {
        const again = redecide(ctx, ctx, recorded(c));
        if (again.kind === "undecidable") return;
        const was = live(ctx, c);
        expect(again.from.decision).toBe(was.decision);
        expect(again.from.rule).toBe(was.rule);
        expect(again.from.code).toBe(was.code);
      }),
      RUNS,
    );
  });

  it("a suggestion is valid and a what-if of it flips no call the current context allowed", () => {
    fc.assert(
      fc.property(context, fc.array(call, { maxLength: 40 }), (ctx, history) => {
        const builder = new SuggestionBuilder(ctx);
        const calls = history.map(recorded);
        for (const c of calls) builder.add(c);
        const suggestion = builder.build();
        const parsed = parseSecurityContext(suggestion.context);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
        let allowed = 0;
        for (const c of calls) {
          const result = redecide(ctx, suggestion.context, c);
          if (result.kind === "undecidable") continue;
          if (result.from.decision === "reject") continue;
          allowed++;
          expect(result.to.decision, JSON.stringify({ c, ctx, s: suggestion.context })).toBe(
            result.from.decision,
          );
        }
        expect(suggestion.based_on).toBe(allowed);
      }),
      RUNS,
    );
  });

  it("a suggestion is never broader than the current context", () => {
    fc.assert(
      fc.property(
        context,
        fc.array(call, { maxLength: 40 }),
        fc.array(call, { minLength: 1, maxLength: 20 }),
        (ctx, history, probes) => {
          const builder = new SuggestionBuilder(ctx);
          for (const c of history) builder.add(recorded(c));
          const suggestion = builder.build().context;
          for (const probe of probes) {
            const now = live(ctx, probe).decision;
            const suggested = live(suggestion, probe).decision;
            const why = JSON.stringify({ probe, ctx, suggestion });
            // What the suggestion does not reject, the current context does not either; what
            // it allows without approval, the current context allows without approval.
            if (suggested !== "reject") expect(now, why).not.toBe("reject");
            if (suggested === "allow") expect(now, why).toBe("allow");
          }
          // Showing is narrowed too: every tool it shows, the current context shows.
          for (const name of suggestion.visible_tools ?? []) {
            const before = ctx.visible_tools ?? ctx.capabilities.map((c) => c.tool_pattern);
            expect(
              before.some(
                (p) => p === "*" || p === name || (p.endsWith(".*") && name.startsWith(p.slice(0, -1))),
              ),
            ).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });
});

describe("suggest: generalisation and notes", () => {
  const ctxOf = (path_allowlist: string[]) => {
    const parsed = parseSecurityContext({
      name: "g",
      capabilities: [{ tool_pattern: "fs.*", path_allowlist }],
    });
    if (!parsed.ok) throw new Error("invalid");
    return parsed.context;
  };
  const history = ["/workspace/b/1", "/workspace/b/2", "/workspace/b/3", "/workspace/a"].map((path) =>
    recorded({ toolName: "fs.read", args: { path } }),
  );

  it(`writes dir/** once ${3} siblings share a directory the current glob covers, with a note`, () => {
    const b = new SuggestionBuilder(ctxOf(["/workspace/**"]));
    for (const c of history) b.add(c);
    const s = b.build();
    expect(s.context.capabilities[0]?.path_allowlist).toEqual(["/workspace/a", "/workspace/b/**"]);
    expect(
      s.notes.some((n) => n.includes("3 paths observed under /workspace/b") && n.includes("/workspace/b/**")),
    ).toBe(true);
  });

  it("keeps exact paths where dir/** would be broader than the current glob", () => {
    const b = new SuggestionBuilder(ctxOf(["/workspace/b/*", "/workspace/a"]));
    for (const c of history) b.add(c);
    expect(b.build().context.capabilities[0]?.path_allowlist).toEqual([
      "/workspace/a",
      "/workspace/b/1",
      "/workspace/b/2",
      "/workspace/b/3",
    ]);
  });

  it("two siblings stay exact", () => {
    const b = new SuggestionBuilder(ctxOf(["/workspace/**"]));
    for (const c of history.slice(1, 3)) b.add(c);
    expect(b.build().context.capabilities[0]?.path_allowlist).toEqual(["/workspace/b/2", "/workspace/b/3"]);
  });
});

describe("recordedArguments", () => {
  it("keeps only path and URL values (URLs without credentials, query or fragment) and a subcommand", () => {
    expect(
      recordedArguments({
        token: "secret",
        path: "/a",
        nested: { items: [{ x: 1 }, { source_path: "/b" }] },
        url: "https://u:p@example.com/x?k=v#f",
        subcommand: "status",
      }),
    ).toEqual({
      path: "/a",
      nested: { items: [null, { source_path: "/b" }] },
      url: "https://example.com/x",
      subcommand: "status",
    });
  });

  it("redacts what it cannot keep, and marks URLs it cannot read", () => {
    expect(recordedArguments({ path: `/${"x".repeat(3000)}` })).toEqual({ path: "[REDACTED]" });
    expect(recordedArguments({ url: "javascript:alert(1)" })).toEqual({ url: "[invalid URL]" });
    let deep: unknown = { path: "/a" };
    for (let i = 0; i < 80; i++) deep = { d: deep };
    expect(recordedArguments(deep)).toEqual({ path: "[REDACTED]", url: "[REDACTED]" });
  });
});
