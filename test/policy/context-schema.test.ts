import { describe, expect, it } from "vitest";
import { parseSecurityContext, SecurityContext } from "../../src/policy/context-schema.js";

// DESIGN §3's example, verbatim apart from the description.
const designExample = {
  name: "research-safe",
  description: "research agents",
  deny_list: ["fs.delete", "shell.*"],
  capabilities: [
    {
      tool_pattern: "billing.*",
      domain_allowlist: ["api.example.com"],
      path_allowlist: ["/workspace/**"],
      command_allowlist: ["git"],
      subcommand_allowlist: ["status", "log"],
      rate_limit: { calls: 20, per_seconds: 60 },
      max_response_size: 1048576,
      approval: "required",
    },
  ],
  visible_tools: ["billing.*"],
  revoke_after_denials: { count: 10, per_seconds: 60 },
};

function problems(input: unknown) {
  const result = parseSecurityContext(input);
  if (result.ok) throw new Error("expected the context to be refused");
  return result.problems;
}

function withCapability(extra: Record<string, unknown>) {
  return { name: "c", capabilities: [{ tool_pattern: "fs.*", ...extra }] };
}

describe("SecurityContext", () => {
  it("accepts DESIGN §3's example and returns it unchanged", () => {
    const result = parseSecurityContext(designExample);
    expect(result).toEqual({ ok: true, context: designExample });
  });

  it("accepts the RFC §5.2.3 capability with explicit nulls", () => {
    const ctx = {
      name: "fs-reader",
      description: "",
      capabilities: [
        {
          tool_pattern: "fs.read",
          path_allowlist: ["/workspace/shared/*", "/workspace/docs/*"],
          command_allowlist: null,
          subcommand_allowlist: null,
          domain_allowlist: null,
          max_response_size: 10485760,
        },
      ],
      deny_list: null,
      visible_tools: null,
      revoke_after_denials: null,
    };
    expect(SecurityContext.safeParse(ctx).success).toBe(true);
  });

  it("accepts an empty capability list (deny all)", () => {
    expect(parseSecurityContext({ name: "nothing", capabilities: [] }).ok).toBe(true);
  });

  it.each([
    [{ name: "c", capabilities: [], extra: 1 }, "extra"],
    [withCapability({ path_allowlsit: ["/a"] }), "capabilities[0].path_allowlsit"],
    [
      withCapability({ rate_limit: { calls: 1, per_seconds: 1, burst: 3 } }),
      "capabilities[0].rate_limit.burst",
    ],
    [
      { name: "c", capabilities: [], revoke_after_denials: { count: 1, per_seconds: 1, x: 1 } },
      "revoke_after_denials.x",
    ],
  ])("refuses an unknown field, naming it: %j", (input, path) => {
    expect(problems(input)).toContainEqual({ path, message: "unknown field" });
  });

  it.each([
    ["", "name"],
    ["Research", "name"],
    ["1research", "name"],
    ["-research", "name"],
    ["research_safe", "name"],
    ["research safe", "name"],
    ["a".repeat(65), "name"],
  ])("refuses the name %j", (name, path) => {
    expect(problems({ name, capabilities: [] }).map((p) => p.path)).toContain(path);
  });

  it("requires name and capabilities", () => {
    expect(
      problems({})
        .map((p) => p.path)
        .sort(),
    ).toEqual(["capabilities", "name"]);
    expect(problems({ name: "c", capabilities: [{}] }).map((p) => p.path)).toEqual([
      "capabilities[0].tool_pattern",
    ]);
    expect(problems(null).map((p) => p.path)).toEqual([""]);
  });

  it.each([
    [withCapability({ tool_pattern: "fs*" }), "capabilities[0].tool_pattern"],
    [withCapability({ path_allowlist: ["/ok/**", "relative/**"] }), "capabilities[0].path_allowlist[1]"],
    [withCapability({ path_allowlist: ["/a/../b"] }), "capabilities[0].path_allowlist[0]"],
    [withCapability({ domain_allowlist: ["Example.com"] }), "capabilities[0].domain_allowlist[0]"],
    [withCapability({ domain_allowlist: ["*"] }), "capabilities[0].domain_allowlist[0]"],
    [withCapability({ domain_allowlist: ["bücher.de"] }), "capabilities[0].domain_allowlist[0]"],
    [withCapability({ command_allowlist: ["git status"] }), "capabilities[0].command_allowlist[0]"],
    [withCapability({ subcommand_allowlist: ["st*"] }), "capabilities[0].subcommand_allowlist[0]"],
    [withCapability({ approval: "maybe" }), "capabilities[0].approval"],
    [withCapability({ rate_limit: { calls: 0, per_seconds: 60 } }), "capabilities[0].rate_limit.calls"],
    [withCapability({ rate_limit: { calls: 1.5, per_seconds: 60 } }), "capabilities[0].rate_limit.calls"],
    [
      withCapability({ rate_limit: { calls: 10, per_seconds: -1 } }),
      "capabilities[0].rate_limit.per_seconds",
    ],
    [
      withCapability({ rate_limit: { calls: 10, per_seconds: 1e12 } }),
      "capabilities[0].rate_limit.per_seconds",
    ],
    [withCapability({ rate_limit: { calls: "10", per_seconds: 60 } }), "capabilities[0].rate_limit.calls"],
    [withCapability({ max_response_size: 0 }), "capabilities[0].max_response_size"],
    [withCapability({ max_response_size: 2 ** 40 }), "capabilities[0].max_response_size"],
    [withCapability({ path_allowlist: "/workspace/**" }), "capabilities[0].path_allowlist"],
    [{ name: "c", capabilities: [], deny_list: ["fs..x"] }, "deny_list[0]"],
    [{ name: "c", capabilities: [], visible_tools: [""] }, "visible_tools[0]"],
    [
      { name: "c", capabilities: [], revoke_after_denials: { count: 0, per_seconds: 60 } },
      "revoke_after_denials.count",
    ],
    [{ name: "c", capabilities: [], description: "x".repeat(5000) }, "description"],
    [{ name: "c", capabilities: {} }, "capabilities"],
  ])("refuses an invalid value, naming its path: %j", (input, path) => {
    expect(problems(input).map((p) => p.path)).toContain(path);
  });

  it("reports every problem together", () => {
    const found = problems({
      name: "Bad",
      capabilities: [
        { tool_pattern: "ok.*", path_allowlist: ["x"] },
        { tool_pattern: "a*", domain_allowlist: ["*.*.com"], zzz: 1 },
      ],
      deny_list: ["*x"],
    });
    expect(found.map((p) => p.path).sort()).toEqual([
      "capabilities[0].path_allowlist[0]",
      "capabilities[1].domain_allowlist[0]",
      "capabilities[1].tool_pattern",
      "capabilities[1].zzz",
      "deny_list[0]",
      "name",
    ]);
    for (const p of found) expect(p.message.length).toBeGreaterThan(0);
  });

  it("refuses huge lists with one problem, without checking each entry", () => {
    const huge = Array.from({ length: 100_000 }, () => "not a pattern");
    const started = performance.now();
    const found = problems({ name: "c", capabilities: [], deny_list: huge });
    expect(found).toEqual([{ path: "deny_list", message: "must have at most 1024 entries" }]);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("refuses more than 256 capabilities", () => {
    const capabilities = Array.from({ length: 257 }, () => ({ tool_pattern: "*" }));
    expect(problems({ name: "c", capabilities })).toEqual([
      { path: "capabilities", message: "must have at most 256 capabilities" },
    ]);
  });

  it("accepts lists at the bound", () => {
    const allow = Array.from({ length: 1024 }, (_, i) => `/w/${i}/**`);
    expect(parseSecurityContext(withCapability({ path_allowlist: allow })).ok).toBe(true);
    expect(parseSecurityContext(withCapability({ path_allowlist: [...allow, "/x"] })).ok).toBe(false);
  });

  it("refuses over-long and wildcard-heavy patterns", () => {
    expect(problems(withCapability({ path_allowlist: [`/${"a".repeat(600)}`] }))[0]?.message).toContain(
      "512",
    );
    const starry = `/${Array.from({ length: 40 }, () => "a*").join("/")}`;
    expect(problems(withCapability({ path_allowlist: [starry] }))[0]?.message).toContain("wildcards");
  });
});
