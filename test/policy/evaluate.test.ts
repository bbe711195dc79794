import { describe, expect, it } from "vitest";
import {
  type SecurityContext,
  SecurityContext as SecurityContextSchema,
} from "../../src/policy/context-schema.js";
import { type EvaluateOptions, evaluate, type ToolCall, type ToolInfo } from "../../src/policy/evaluate.js";

function context(fields: Partial<SecurityContext>): SecurityContext {
  // Every context under test goes through the schema, as stored contexts do.
  return SecurityContextSchema.parse({ name: "test", capabilities: [], ...fields });
}

function decide(
  ctx: SecurityContext,
  toolName: string,
  args: unknown = {},
  opts?: EvaluateOptions,
  tool?: ToolInfo,
) {
  const call: ToolCall =
    tool === undefined ? { toolName, arguments: args } : { toolName, arguments: args, tool };
  return evaluate(ctx, call, opts);
}

describe("deny list", () => {
  const ctx = context({ deny_list: ["shell.*", "fs.delete"], capabilities: [{ tool_pattern: "*" }] });

  it("takes precedence over a capability that would allow", () => {
    expect(decide(ctx, "fs.delete")).toMatchObject({
      decision: "reject",
      code: "TOOL_DENIED",
      rule: "deny_list[1]",
      capabilityIndex: null,
    });
    expect(decide(ctx, "shell.exec.raw")).toMatchObject({ code: "TOOL_DENIED", rule: "deny_list[0]" });
  });

  it("matches at a dot boundary only", () => {
    expect(decide(ctx, "shellcheck").decision).toBe("allow");
    expect(decide(ctx, "fs.deleted").decision).toBe("allow");
    expect(decide(ctx, "fs.read").decision).toBe("allow");
  });

  it('"*" denies everything', () => {
    expect(decide(context({ deny_list: ["*"], capabilities: [{ tool_pattern: "*" }] }), "x")).toMatchObject({
      code: "TOOL_DENIED",
      rule: "deny_list[0]",
    });
  });
});

describe("capabilities", () => {
  it("deny by default: no capabilities, or none matching, is CONTEXT_DENIED", () => {
    expect(decide(context({}), "fs.read")).toMatchObject({
      decision: "reject",
      code: "CONTEXT_DENIED",
      rule: "default",
    });
    const ctx = context({ capabilities: [{ tool_pattern: "fs.*" }] });
    expect(decide(ctx, "fsck")).toMatchObject({
      code: "CONTEXT_DENIED",
      rule: "default",
      capabilityIndex: null,
    });
    expect(decide(ctx, "fs")).toMatchObject({ code: "CONTEXT_DENIED" });
  });

  it("allows by the first passing capability, in order, and returns its index", () => {
    const ctx = context({
      capabilities: [
        { tool_pattern: "web.*" },
        { tool_pattern: "fs.read", max_response_size: 10 },
        { tool_pattern: "fs.*", rate_limit: { calls: 1, per_seconds: 1 } },
      ],
    });
    expect(decide(ctx, "fs.read")).toEqual({
      decision: "allow",
      code: null,
      rule: "capabilities[1]",
      reason: "allowed by capabilities[1]",
      capabilityIndex: 1,
    });
    expect(decide(ctx, "fs.write")).toMatchObject({ decision: "allow", capabilityIndex: 2 });
  });

  it("escalates when the deciding capability requires approval", () => {
    const ctx = context({
      capabilities: [
        { tool_pattern: "billing.refund", approval: "required" },
        { tool_pattern: "billing.*", approval: "none" },
      ],
    });
    expect(decide(ctx, "billing.refund")).toMatchObject({
      decision: "escalate",
      code: null,
      rule: "capabilities[0]",
      capabilityIndex: 0,
    });
    expect(decide(ctx, "billing.list")).toMatchObject({ decision: "allow", rule: "capabilities[1]" });
  });

  it("skips a capability whose constraint fails and uses a later one that passes", () => {
    const ctx = context({
      capabilities: [
        { tool_pattern: "fs.*", path_allowlist: ["/workspace/**"], approval: "none" },
        { tool_pattern: "fs.read", path_allowlist: ["/etc/hostname"], approval: "required" },
      ],
    });
    expect(decide(ctx, "fs.read", { path: "/workspace/a" })).toMatchObject({
      decision: "allow",
      capabilityIndex: 0,
    });
    expect(decide(ctx, "fs.read", { path: "/etc/hostname" })).toMatchObject({
      decision: "escalate",
      capabilityIndex: 1,
    });
  });

  it("requires every non-null constraint of a capability to pass", () => {
    const ctx = context({
      capabilities: [
        { tool_pattern: "web.fetch", path_allowlist: ["/tmp/**"], domain_allowlist: ["example.com"] },
      ],
    });
    expect(decide(ctx, "web.fetch", { url: "https://example.com/", save_path: "/tmp/x" }).decision).toBe(
      "allow",
    );
    expect(decide(ctx, "web.fetch", { url: "https://evil.com/", save_path: "/tmp/x" })).toMatchObject({
      code: "DOMAIN_DENIED",
    });
    expect(decide(ctx, "web.fetch", { url: "https://example.com/", save_path: "/etc/x" })).toMatchObject({
      code: "PATH_DENIED",
    });
  });

  it("reports the failed constraint of the LAST matching capability", () => {
    const pathFirst = context({
      capabilities: [
        { tool_pattern: "web.*", path_allowlist: ["/tmp/**"] },
        { tool_pattern: "web.fetch", domain_allowlist: ["example.com"] },
        { tool_pattern: "other.*", path_allowlist: ["/nope"] },
      ],
    });
    const args = { url: "https://evil.com/", out_path: "/etc/x" };
    expect(decide(pathFirst, "web.fetch", args)).toMatchObject({
      decision: "reject",
      code: "DOMAIN_DENIED",
      rule: "capabilities[1]",
      capabilityIndex: 1,
    });
    const domainFirst = context({
      capabilities: [
        { tool_pattern: "web.fetch", domain_allowlist: ["example.com"] },
        { tool_pattern: "web.*", path_allowlist: ["/tmp/**"] },
      ],
    });
    expect(decide(domainFirst, "web.fetch", args)).toMatchObject({
      code: "PATH_DENIED",
      rule: "capabilities[1]",
    });
  });

  it("treats null constraints as absent and an empty list as allowing nothing", () => {
    const ctx = context({
      capabilities: [{ tool_pattern: "fs.*", path_allowlist: null, domain_allowlist: [] }],
    });
    expect(decide(ctx, "fs.read", { path: "/anything" }).decision).toBe("allow");
    expect(decide(ctx, "fs.read", { url: "https://example.com/" })).toMatchObject({ code: "DOMAIN_DENIED" });
  });
});

describe("path constraint", () => {
  const ctx = context({ capabilities: [{ tool_pattern: "fs.*", path_allowlist: ["/workspace/**"] }] });

  it("passes when the call carries no path", () => {
    expect(decide(ctx, "fs.list", { recursive: true }).decision).toBe("allow");
  });

  it.each([
    "/workspace/../etc/passwd",
    "/workspace/./../x",
    "/workspace-evil/a",
    "/workspacex",
    "workspace/a",
    "/workspace/a\u0000",
    "/workspace\\..\\etc",
  ])("rejects the look-alike %j with PATH_DENIED", (path) => {
    expect(decide(ctx, "fs.read", { path })).toMatchObject({
      decision: "reject",
      code: "PATH_DENIED",
      rule: "capabilities[0]",
    });
  });

  it.each(["/workspace", "//workspace/a", "/workspace/a/../b", "/workspace/%2e%2e/etc"])(
    "allows %j",
    (path) => {
      expect(decide(ctx, "fs.read", { path }).decision).toBe("allow");
    },
  );

  it("checks nested _path arguments in arrays and objects, every one of them", () => {
    const good = {
      ops: [{ source_path: "/workspace/a", target: { dest_path: ["/workspace/b", "/workspace/c"] } }],
    };
    expect(decide(ctx, "fs.copy", good).decision).toBe("allow");
    const bad = {
      ops: [{ source_path: "/workspace/a", target: { dest_path: ["/workspace/b", "/etc/cron.d/x"] } }],
    };
    const decision = decide(ctx, "fs.copy", bad);
    expect(decision).toMatchObject({ code: "PATH_DENIED" });
    expect(decision.reason).toContain("ops[0].target.dest_path[1]");
    expect(decision.reason).toContain('"/etc/cron.d/x"');
  });

  it("fails on a path argument that is not a string", () => {
    expect(decide(ctx, "fs.read", { path: { base: "/workspace", rel: "../etc" } })).toMatchObject({
      code: "PATH_DENIED",
    });
    expect(decide(ctx, "fs.read", { path: 7 })).toMatchObject({ code: "PATH_DENIED" });
  });

  it("fails when arguments are too deep to check, but only where a constraint needs them", () => {
    let deep: unknown = { path: "/workspace/a" };
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect(decide(ctx, "fs.read", deep)).toMatchObject({ code: "PATH_DENIED" });
    expect(decide(context({ capabilities: [{ tool_pattern: "fs.*" }] }), "fs.read", deep).decision).toBe(
      "allow",
    );
  });

  it("cuts a long offending value short in the reason", () => {
    const path = `/etc/${"x".repeat(5000)}`;
    const { reason } = decide(ctx, "fs.read", { path });
    expect(reason.length).toBeLessThan(300);
    expect(reason).toContain("…");
  });

  it("checks the tool's mounts after lookup, without showing them", () => {
    const cli = context({ capabilities: [{ tool_pattern: "*", path_allowlist: ["/workspace/**"] }] });
    const tool: ToolInfo = { kind: "cli", mounts: ["/workspace/src", "/var/run/docker.sock"] };
    expect(decide(cli, "git", {}, { phase: "pre-lookup" }, tool).decision).toBe("allow");
    const post = decide(cli, "git", {}, { phase: "post-lookup" }, tool);
    expect(post).toMatchObject({ code: "PATH_DENIED", rule: "capabilities[0]" });
    expect(post.reason).not.toContain("docker.sock");
    expect(decide(cli, "git", {}, {}, { kind: "cli", mounts: ["/workspace/src"] }).decision).toBe("allow");
  });
});

describe("domain constraint", () => {
  const ctx = context({
    capabilities: [{ tool_pattern: "web.*", domain_allowlist: ["example.com", "*.wikipedia.org"] }],
  });

  it.each([
    ["https://example.com/x", "allow"],
    ["https://EXAMPLE.com./x", "allow"],
    ["https://en.wikipedia.org/wiki/A", "allow"],
    ["https://de.m.wikipedia.org/", "allow"],
    ["https://wikipedia.org/", "reject"],
    ["https://evilexample.com/", "reject"],
    ["https://example.com.evil.com/", "reject"],
    ["http://example.com@evil.com/", "reject"],
    ["http://example.com\\@evil.com/", "reject"],
    ["http://evil.com/?next=https://example.com/", "reject"],
    ["not a url", "reject"],
    ["file:///etc/passwd", "reject"],
  ])("%s → %s", (url, decision) => {
    const result = decide(ctx, "web.fetch", { url });
    expect(result.decision).toBe(decision);
    if (decision === "reject") expect(result.code).toBe("DOMAIN_DENIED");
  });

  it("allows userinfo in front of an allowed host", () => {
    expect(decide(ctx, "web.fetch", { url: "https://evil.com@example.com/" }).decision).toBe("allow");
  });

  it("checks every url at any depth, including *_url", () => {
    expect(
      decide(ctx, "web.post", { body: { callback_url: "https://evil.com/" }, url: "https://example.com/" }),
    ).toMatchObject({
      code: "DOMAIN_DENIED",
    });
    expect(
      decide(ctx, "web.post", { links: [{ url: "https://example.com/" }, { url: "https://evil.com/" }] })
        .reason,
    ).toContain("links[1].url");
  });

  it("passes when the call carries no URL", () => {
    expect(decide(ctx, "web.search", { query: "example.com" }).decision).toBe("allow");
  });

  it("checks upstream hosts after lookup only", () => {
    const tool: ToolInfo = { kind: "workflow", upstreamHosts: ["api.evil.com"] };
    expect(decide(ctx, "web.search", {}, { phase: "pre-lookup" }, tool).decision).toBe("allow");
    expect(decide(ctx, "web.search", {}, { phase: "post-lookup" }, tool)).toMatchObject({
      code: "DOMAIN_DENIED",
    });
    const ok: ToolInfo = { kind: "explorer", upstreamHosts: ["example.com:443", "EN.wikipedia.org"] };
    expect(decide(ctx, "web.search", {}, {}, ok).decision).toBe("allow");
  });
});

describe("command constraints", () => {
  const ctx = context({
    capabilities: [
      { tool_pattern: "git", command_allowlist: ["git"], subcommand_allowlist: ["status", "log"] },
    ],
  });
  const cli = (subcommand?: string, command = "git"): ToolInfo =>
    subcommand === undefined ? { kind: "cli", command } : { kind: "cli", command, subcommand };

  it("is deferred before lookup", () => {
    expect(decide(ctx, "git", { subcommand: "push" }, { phase: "pre-lookup" })).toMatchObject({
      decision: "allow",
      reason: "allowed by capabilities[0]; tool constraints are checked after lookup",
    });
  });

  it("compares whole tokens after lookup", () => {
    expect(decide(ctx, "git", {}, {}, cli("status")).decision).toBe("allow");
    expect(decide(ctx, "git", {}, {}, cli("log")).decision).toBe("allow");
    for (const sub of ["push", "statusx", "status --exec=sh", "Status", "stat", ""]) {
      expect(decide(ctx, "git", {}, {}, cli(sub))).toMatchObject({
        code: "COMMAND_DENIED",
        rule: "capabilities[0]",
      });
    }
    expect(decide(ctx, "git", {}, {}, cli("status", "/usr/bin/git"))).toMatchObject({
      code: "COMMAND_DENIED",
    });
  });

  it("fails a CLI call that has no subcommand or command to check", () => {
    expect(decide(ctx, "git", {}, {}, cli(undefined))).toMatchObject({ code: "COMMAND_DENIED" });
    expect(decide(ctx, "git", {}, {}, { kind: "cli", subcommand: "status" })).toMatchObject({
      code: "COMMAND_DENIED",
    });
  });

  it("fails tools that are not CLI tools, and post-lookup calls without tool information", () => {
    expect(decide(ctx, "git", {}, {}, { kind: "workflow" })).toMatchObject({ code: "COMMAND_DENIED" });
    expect(decide(ctx, "git", {}, {}, { kind: "explorer" })).toMatchObject({ code: "COMMAND_DENIED" });
    expect(decide(ctx, "git", {})).toMatchObject({ code: "COMMAND_DENIED" });
    const workflow = decide(ctx, "git", {}, {}, { kind: "workflow", command: "git", subcommand: "status" });
    expect(workflow).toMatchObject({ code: "COMMAND_DENIED" });
    expect(workflow.reason).toContain("applies only to CLI tools");
  });
});

describe("session allowed_tool_patterns", () => {
  const ctx = context({ deny_list: ["fs.delete"], capabilities: [{ tool_pattern: "*" }] });

  it("intersects with the context", () => {
    const opts = { sessionToolPatterns: ["fs.read", "web.*"] };
    expect(decide(ctx, "fs.read", {}, opts).decision).toBe("allow");
    expect(decide(ctx, "web.fetch", {}, opts).decision).toBe("allow");
    expect(decide(ctx, "fs.write", {}, opts)).toMatchObject({
      decision: "reject",
      code: "TOOL_DENIED",
      rule: "session.allowed_tool_patterns",
    });
    expect(decide(ctx, "fs.write", {}, { sessionToolPatterns: [] })).toMatchObject({ code: "TOOL_DENIED" });
    expect(decide(ctx, "fs.write", {}, { sessionToolPatterns: ["*"] }).decision).toBe("allow");
  });

  it("never widens the context, and the deny list is reported first", () => {
    expect(decide(context({}), "fs.read", {}, { sessionToolPatterns: ["*"] })).toMatchObject({
      code: "CONTEXT_DENIED",
    });
    expect(decide(ctx, "fs.delete", {}, { sessionToolPatterns: ["web.*"] })).toMatchObject({
      rule: "deny_list[0]",
    });
  });
});
