/**
 * The native tools system.whoami and system.echo (DESIGN §5): in-process, no upstream, and the
 * whole call path — a context must allow them, refusals are audited, nothing is open by default.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  call,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  sessionAgent,
  testTool,
} from "../authorization/support.js";
import { expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("native tools (%s)", (backend) => {
  let t: TestGateway;
  let allowed: SessionAgent;
  let narrowSession: SessionAgent;
  let closed: SessionAgent;
  const billing = testTool("billing.list");

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      {
        tools: [
          { lookup: async (_t, n) => (n === billing.name ? billing : null), list: async () => [billing] },
        ],
      },
    );
    await putContext(t, {
      name: "native",
      capabilities: [{ tool_pattern: "system.*" }, { tool_pattern: "billing.*", approval: "required" }],
    });
    await putContext(t, { name: "closed", deny_list: ["system.*"], capabilities: [{ tool_pattern: "*" }] });
    allowed = await sessionAgent(t, { context: "native", sub: "who-1" });
    narrowSession = await sessionAgent(t, { context: "native", sub: "who-2", allowed: ["system.whoami"] });
    closed = await sessionAgent(t, { context: "closed" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("system.whoami answers the caller as the gateway sees it, and what it may call", async () => {
    const r = await call(t, allowed, "system.whoami");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toMatchObject({
      agent_id: "who-1",
      execution_id: allowed.executionId,
      tenant_id: "default",
      security_context: "native",
      session: { status: "Active" },
      callable_tools: expect.arrayContaining([
        { name: "system.whoami", approval_required: false },
        { name: "system.echo", approval_required: false },
        { name: "billing.list", approval_required: true },
      ]),
    });
    expect((r.body.result as { call_id: string }).call_id).toBe(r.body.call_id);
    // The explorer is registered but no capability allows it.
    const names = (r.body.result as { callable_tools: Array<{ name: string }> }).callable_tools.map(
      (x) => x.name,
    );
    expect(names).not.toContain("explorer");
    expect(r.body.payload?.result.structuredContent).toEqual(r.body.result);
  });

  it("a session's allowed_tool_patterns narrow what whoami lists", async () => {
    const r = await call(t, narrowSession, "system.whoami");
    expect(r.status).toBe(200);
    expect((r.body.result as { callable_tools: unknown }).callable_tools).toEqual([
      { name: "system.whoami", approval_required: false },
    ]);
    expectCode(await call(t, narrowSession, "system.echo", { a: 1 }), 403, 2001);
  });

  it("system.echo returns its arguments, through the audit trail like any tool", async () => {
    const args = { text: "<script>alert(1)</script>", n: 1.5, nested: { list: [1, "two", null] } };
    const r = await call(t, allowed, "system.echo", args);
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual(args);
    const types = (await eventsOf(t, allowed.executionId)).map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(["ToolCallAuthorized", "ToolCallCompleted"]));
  });

  it("nothing is open by default: a context that does not allow them refuses (2001), audited", async () => {
    const r = await call(t, closed, "system.whoami");
    expectCode(r, 403, 2001);
    const rows = (await eventsOf(t, closed.executionId)).filter((e) => e.stage !== "control");
    expect(rows.map((e) => e.event_type)).toEqual(["PolicyDenied"]);
    expect(rows[0]).toMatchObject({ tool_name: "system.whoami", decision: "reject", code: 2001 });
  });

  it("whoami refuses arguments (4000), audited, and answers nothing about the caller", async () => {
    const r = await call(t, allowed, "system.whoami", { as: "someone-else" });
    expectCode(r, 400, 4000);
    expect(r.body.error?.details.reason).toBe("unexpected_arguments");
    expect(JSON.stringify(r.body)).not.toContain(allowed.executionId);
    const last = (await eventsOf(t, allowed.executionId)).at(-1);
    expect(last).toMatchObject({ event_type: "EnvelopeRejected", code: 4000, stage: "execute" });
  });

  it("they appear in GET /v1/tools with their schemas", async () => {
    const list = await expectJson<{ tools: Array<{ name: string; inputSchema: unknown }> }>(
      await t.request("/v1/tools", { headers: bearer(allowed.token) }),
      200,
    );
    const whoami = list.tools.find((x) => x.name === "system.whoami");
    expect(whoami?.inputSchema).toEqual({ type: "object", properties: {}, additionalProperties: false });
    expect(list.tools.map((x) => x.name)).toContain("system.echo");
  });

  it("system.* names are reserved: a workflow cannot take one", async () => {
    const res = await t.request(
      "/v1/workflows",
      jsonInit(
        "POST",
        {
          name: "system.whoami",
          description: "an impostor",
          input_schema: { type: "object" },
          api_spec_id: "spec_none",
          steps: [{ name: "one", operation_id: "op", on_error: "AbortWorkflow" }],
        },
        t.operatorToken("operator"),
      ),
    );
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text, text).toContain("reserved for the native tools");
  });
});
