/**
 * POST /v1/security-contexts/{name}/evaluate: the decision a call would get, with its rule and
 * code — and nothing else: no tool runs, no counter moves, no approval or audit row appears.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { call, expectCode, lastSeq, putContext, sessionAgent, testTool } from "./support.js";

interface Dry {
  decision: string;
  code: number | null;
  rule: string;
  reason: string;
  tool_registered: boolean;
  sub?: string;
}

const CONTEXT = {
  name: "dry-ctx",
  deny_list: ["fs.delete"],
  capabilities: [
    { tool_pattern: "fs.*", path_allowlist: ["/workspace/**"], rate_limit: { calls: 2, per_seconds: 60 } },
    { tool_pattern: "pay.refund", approval: "required" },
    { tool_pattern: "web.*", domain_allowlist: ["example.com"] },
  ],
};

describe.each(BACKENDS)("dry run: evaluate (%s)", (backend) => {
  let t: TestGateway;
  const fsRead = testTool("fs.read");
  const rogue = testTool("web.rogue", { info: { kind: "workflow", upstreamHosts: ["evil.com"] } });
  const all = [fsRead, rogue];

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [{ lookup: async (_t, n) => all.find((x) => x.name === n) ?? null, list: async () => all }] },
    );
    await putContext(t, CONTEXT);
    await putContext(t, { name: "dry-ctx", capabilities: [], tenant_id: "tenant-b" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const evaluate = (body: unknown, token = t.operatorToken("viewer"), name = "dry-ctx") =>
    t.request(`/v1/security-contexts/${name}/evaluate`, jsonInit("POST", body, token));
  const dry = async (body: unknown, token?: string) =>
    await expectJson<Dry>(await evaluate(body, token), 200);

  it("answers decision, code, rule and reason for every kind of outcome", async () => {
    const cases: Array<[string, Record<string, unknown>, string, number | null, string]> = [
      ["fs.read", { path: "/workspace/a.txt" }, "allow", null, "capabilities[0]"],
      ["fs.delete", { path: "/workspace/a.txt" }, "reject", 2001, "deny_list[0]"],
      ["fs.read", { path: "/workspace/../etc/passwd" }, "reject", 2002, "capabilities[0]"],
      ["pay.refund", { order: 1 }, "escalate", null, "capabilities[1]"],
      ["web.search", { url: "https://evilexample.com/" }, "reject", 2004, "capabilities[2]"],
      ["web.search", { url: "https://example.com/" }, "allow", null, "capabilities[2]"],
      ["fsck", {}, "reject", 2006, "default"],
      // Registered: the tool's own upstream host is checked, as after lookup in a real call.
      ["web.rogue", { url: "https://example.com/" }, "reject", 2004, "capabilities[2]"],
    ];
    for (const [tool, args, decision, code, rule] of cases) {
      const got = await dry({ tool, arguments: args });
      expect(got, `${tool} ${JSON.stringify(args)}`).toMatchObject({ decision, code, rule });
      expect(typeof got.reason).toBe("string");
      expect(got.reason.length).toBeGreaterThan(0);
    }
    expect((await dry({ tool: "fs.read" })).decision).toBe("allow");
    expect((await dry({ tool: "fs.read", arguments: {}, sub: "agent-7" })).sub).toBe("agent-7");
    expect((await dry({ tool: "fs.read" })).tool_registered).toBe(true);
    expect((await dry({ tool: "fs.write" })).tool_registered).toBe(false);
  });

  it("runs nothing, counts nothing, records nothing", async () => {
    const before = await lastSeq(t);
    for (let i = 0; i < 10; i++) {
      expect((await dry({ tool: "fs.read", arguments: { path: "/workspace/x" } })).decision).toBe("allow");
      expect((await dry({ tool: "fs.delete" })).decision).toBe("reject");
      expect((await dry({ tool: "pay.refund" })).decision).toBe("escalate");
    }
    expect(fsRead.runs).toEqual([]);
    expect(await lastSeq(t)).toBe(before);
    const approvals = await expectJson<{ approvals: unknown[] }>(
      await t.request("/v1/approvals", { headers: { authorization: `Bearer ${t.adminToken()}` } }),
      200,
    );
    expect(approvals.approvals).toEqual([]);
    // The rate limit (2 per window) is untouched by 10 dry runs: a real agent still gets 2.
    const agent = await sessionAgent(t, { context: "dry-ctx" });
    expect((await call(t, agent, "fs.read", { path: "/workspace/1" })).status).toBe(200);
    expect((await call(t, agent, "fs.read", { path: "/workspace/2" })).status).toBe(200);
    expectCode(await call(t, agent, "fs.read", { path: "/workspace/3" }), 429, 2005);
    // And the dry run still says allow: it does not read counters either.
    expect((await dry({ tool: "fs.read", arguments: { path: "/workspace/4" } })).decision).toBe("allow");
  });

  it("every role may evaluate; tenants are separate; unknown contexts are 404", async () => {
    for (const role of ["viewer", "operator", "approver", "admin"] as const) {
      expect((await dry({ tool: "fs.read" }, t.operatorToken(role))).decision).toBe("allow");
    }
    expect((await dry({ tool: "fs.read" }, t.operatorToken("viewer", "tenant-b"))).rule).toBe("default");
    expect((await dry({ tool: "fs.read", tenant_id: "tenant-b" }, t.adminToken())).rule).toBe("default");
    await expectError(
      await evaluate({ tool: "fs.read" }, t.operatorToken("viewer", "tenant-c")),
      404,
      "not_found",
    );
    await expectError(
      await evaluate({ tool: "fs.read" }, t.operatorToken("viewer"), "no-such-ctx"),
      404,
      "not_found",
    );
    await expectError(await evaluate({ tool: "fs.read" }, "garbage"), 401);
  });

  it("refuses malformed input with the offending fields", async () => {
    for (const [body, path] of [
      [{}, "tool"],
      [{ tool: "" }, "tool"],
      [{ tool: 5 }, "tool"],
      [{ tool: "x".repeat(257) }, "tool"],
      [{ tool: "fs.read", arguments: [] }, "arguments"],
      [{ tool: "fs.read", arguments: "a" }, "arguments"],
      [{ tool: "fs.read", extra: 1 }, "extra"],
      [{ tool: "fs.read", sub: "" }, "sub"],
    ] as const) {
      const err = await expectError(await evaluate(body), 400, "invalid_body");
      expect(
        err.error.details.problems?.map((p) => p.path),
        JSON.stringify(body),
      ).toContain(path);
    }
  });
});
