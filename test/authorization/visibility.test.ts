/**
 * GET /v1/tools for an agent: what `visible_tools` shows, minus the deny list and outside the
 * session's patterns. Showing is not allowing, and hiding is not denying.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  bearer,
  call,
  expectCode,
  putContext,
  type SessionAgent,
  sessionAgent,
  tenantTools,
  testTool,
} from "./support.js";

interface ToolList {
  tools: Array<{ name: string; description: string; inputSchema: unknown }>;
}

describe.each(BACKENDS)("tool visibility: GET /v1/tools (%s)", (backend) => {
  let t: TestGateway;
  const names = [
    "billing.list",
    "billing.refund",
    "billing.delete",
    "hidden.tool",
    "web.fetch",
    "other.tool",
  ];
  const tools = names.map((n) => testTool(n));
  const bTool = testTool("b.tool");
  let full: SessionAgent;
  let narrow: SessionAgent;

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [tenantTools({ default: tools, "tenant-b": [bTool] })] },
    );
    await putContext(t, {
      name: "vis-ctx",
      deny_list: ["billing.delete"],
      capabilities: [{ tool_pattern: "billing.*" }, { tool_pattern: "hidden.tool" }],
      visible_tools: ["billing.*", "web.fetch"],
    });
    await putContext(t, {
      name: "no-vis",
      deny_list: ["billing.delete"],
      capabilities: [{ tool_pattern: "billing.*" }, { tool_pattern: "hidden.tool" }],
    });
    await putContext(t, { name: "no-vis", capabilities: [{ tool_pattern: "*" }], tenant_id: "tenant-b" });
    full = await sessionAgent(t, { context: "vis-ctx" });
    narrow = await sessionAgent(t, {
      context: "vis-ctx",
      allowed: ["billing.list", "web.fetch", "hidden.tool"],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const list = (token: string) => t.request("/v1/tools", { headers: bearer(token) });
  const listed = async (token: string) =>
    (await expectJson<ToolList>(await list(token), 200)).tools.map((x) => x.name);

  it("lists exactly the visible, non-denied, session-allowed tools", async () => {
    expect(await listed(full.token)).toEqual(["billing.list", "billing.refund", "web.fetch"]);
    expect(await listed(narrow.token)).toEqual(["billing.list", "web.fetch"]);
    const body = await expectJson<ToolList>(await list(full.token), 200);
    expect(body.tools[0]).toEqual({
      name: "billing.list",
      description: "test tool billing.list",
      inputSchema: { type: "object" },
    });
  });

  it("without visible_tools, shows what some capability covers (minus the deny list)", async () => {
    const a = await sessionAgent(t, { context: "no-vis" });
    expect(await listed(a.token)).toEqual(["billing.list", "billing.refund", "hidden.tool"]);
  });

  it("lists only the agent's own tenant's tools", async () => {
    const b = await sessionAgent(t, { context: "no-vis", tenant: "tenant-b" });
    // The built-in explorer and native tools belong to every tenant; tenant-a's tools never show here.
    expect(await listed(b.token)).toEqual(["explorer", "system.whoami", "system.echo", "b.tool"]);
  });

  it("an unknown context lists nothing", async () => {
    const a = await sessionAgent(t, { context: "nowhere" });
    expect(await listed(a.token)).toEqual([]);
  });

  it("a hidden tool is still callable when a capability allows it", async () => {
    const r = await call(t, full, "hidden.tool", { x: 1 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(tools[3]?.runs).toHaveLength(1);
  });

  it("a visible tool is still refused when no capability allows it", async () => {
    const r = await call(t, full, "web.fetch", {});
    expectCode(r, 403, 2006);
    expect(r.body.error?.details.rule).toBe("default");
    expect(tools[4]?.runs).toHaveLength(0);
  });

  it("an operator token, no token, or a garbage token is 401", async () => {
    for (const role of ["admin", "operator", "viewer"] as const) {
      const err = await expectError(
        await list(role === "admin" ? t.adminToken() : t.operatorToken(role)),
        401,
      );
      expect(err.error.code).toBe(1004);
    }
    await expectError(await t.request("/v1/tools"), 401, "missing_token");
    await expectError(
      await t.request("/v1/tools", { headers: { authorization: `Basic ${full.token}` } }),
      401,
      "missing_token",
    );
    await expectError(await list("garbage"), 401);
    await expectError(await list(`${full.token.slice(0, -4)}AAAA`), 401);
  });

  it("an expired agent token is 401", async () => {
    const a = await sessionAgent(t, { context: "vis-ctx" });
    t.clock.advance(2 * 3600 * 1000);
    try {
      const err = await expectError(await list(a.token), 401, "token_expired");
      expect(err.error.code).toBe(1003);
    } finally {
      t.clock.advance(-2 * 3600 * 1000);
    }
  });

  it("a revoked session's token is 401 (1006)", async () => {
    const a = await sessionAgent(t, { context: "vis-ctx" });
    expect(await listed(a.token)).toHaveLength(3);
    const res = await t.request(`/v1/seal/sessions/${a.executionId}`, {
      method: "DELETE",
      headers: bearer(t.adminToken()),
    });
    expect(res.status).toBe(200);
    const err = await expectError(await list(a.token), 401, "session_revoked");
    expect(err.error.code).toBe(1006);
  });
});
