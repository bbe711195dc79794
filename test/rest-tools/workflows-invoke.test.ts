/**
 * Workflows called by an agent through signed envelopes: the multi-step billing workflow end
 * to end (result shapes, upstream requests, audit events with hashes and durations), and every
 * bad call refused with the right code, audited, and with nothing sent upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallAnswer,
  call,
  type EventItem,
  events,
  eventsOf,
  expectCode,
  lastSeq,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  createWorkflow,
  invoicesWorkflow,
  oneStep,
  type RestEnv,
  registerBilling,
  type SpecView,
  sentSince,
  startRestEnv,
  type WorkflowView,
} from "./support.js";

interface WorkflowResult {
  workflow_id: string;
  execution_id: string;
  result: unknown;
  state: Record<string, Record<string, unknown>>;
}

const resultOf = (r: CallAnswer) => r.body.result as WorkflowResult;

describe.each(BACKENDS)("workflows called through envelopes (%s)", (backend) => {
  let env: RestEnv;
  let spec: SpecView;
  let invoices: WorkflowView;
  let agent: SessionAgent;

  beforeAll(async () => {
    env = await startRestEnv(backend);
    spec = await registerBilling(env);
    invoices = await createWorkflow(env.t, invoicesWorkflow(spec.id));
    await putContext(env.t, { name: "billing-ctx", capabilities: [{ tool_pattern: "billing.*" }] });
    agent = await sessionAgent(env.t, { context: "billing-ctx", sub: "billing-agent" });
  });
  afterAll(async () => {
    await env?.close();
  });

  /** Calls and asserts that the upstream received nothing. */
  async function callSendingNothing(
    tool: string,
    args: Record<string, unknown>,
    who = agent,
  ): Promise<CallAnswer> {
    const from = env.up.requests.length;
    const r = await call(env.t, who, tool, args);
    expect(sentSince(env.up, from), JSON.stringify(r.body)).toEqual([]);
    return r;
  }

  it("runs the multi-step billing workflow: 200 with result.result, result.state and payload.result.structuredContent", async () => {
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.invoices", { email: "ada@example.com" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.status).toBe("success");
    const out = resultOf(r);
    expect(out.workflow_id).toBe(invoices.id);
    expect(out.execution_id).toBe(agent.executionId);
    expect(out.result).toEqual({
      data: [
        { id: "inv_1", total: 120.5, status: "paid" },
        { id: "inv_2", total: 79.5, status: "open" },
        { id: "inv_3", total: 300, status: "open" },
      ],
    });
    expect(out.state).toEqual({
      find_customer: { customer_id: "cus_1", status: 200 },
      invoices: { totals: [120.5, 79.5, 300], ids: ["inv_1", "inv_2", "inv_3"], status: 200 },
    });
    const mcp = r.body.payload?.result;
    expect(r.body.payload?.jsonrpc).toBe("2.0");
    expect(r.body.payload?.id).toBe(r.body.request_id);
    expect(mcp?.structuredContent).toEqual(out);
    expect(mcp?.isError).toBe(false);
    expect(JSON.parse(mcp?.content[0]?.text ?? "null")).toEqual(out);
    const sent = sentSince(env.up, from);
    expect(sent.map((q) => `${q.method} ${q.rawPath}`)).toEqual([
      "GET /customers",
      "GET /customers/cus_1/invoices",
    ]);
    expect(sent[0]?.query).toEqual({ email: ["ada@example.com"] });
    // No credential is configured for this spec, and none is invented.
    expect(sent[0]?.headers.authorization).toBeUndefined();
  });

  it("records Started, one StepExecuted per step, Completed and ToolCallCompleted naming the definition hash", async () => {
    const seq = await lastSeq(env.t);
    const r = await call(env.t, agent, "billing.invoices", { email: "ada@example.com", status: "open" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const rows = (await eventsOf(env.t, agent.executionId, seq)).filter((e) => e.call_id === r.body.call_id);
    expect(rows.map((e) => e.event_type)).toEqual([
      "ToolCallAuthorized",
      "WorkflowInvocationStarted",
      "WorkflowStepExecuted",
      "WorkflowStepExecuted",
      "WorkflowInvocationCompleted",
      "ToolCallCompleted",
    ]);
    for (const e of rows)
      expect(e).toMatchObject({
        tenant_id: "default",
        agent_id: "billing-agent",
        tool_name: "billing.invoices",
      });
    const [, started, step1, step2, completed, done] = rows as EventItem[];
    expect(started?.payload).toMatchObject({
      workflow_id: invoices.id,
      execution_id: agent.executionId,
      workflow_name: "billing.invoices",
      definition_hash: invoices.hash,
      spec_hash: spec.hash,
      step_count: 2,
      spec_id: spec.id,
    });
    expect(started?.payload.input_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(step1?.payload).toMatchObject({
      step: "find_customer",
      step_index: 0,
      method: "GET",
      operation: "searchCustomers",
      status: 200,
      attempt: 1,
      outcome: "succeeded",
      reason: null,
    });
    expect(step2?.payload).toMatchObject({
      step: "invoices",
      step_index: 1,
      method: "GET",
      operation: "listInvoices",
      status: 200,
      attempt: 1,
      outcome: "succeeded",
    });
    for (const e of [step1, step2, completed, done])
      expect(Number.isInteger(e?.payload.duration_ms) && (e?.payload.duration_ms as number) >= 0).toBe(true);
    expect(completed?.payload).toMatchObject({ steps_run: 2, continued_after_failure: [] });
    expect(done?.payload).toMatchObject({ definition_hash: invoices.hash, is_error: false });
    expect(done?.id).toBe(r.body.event_id);
    // Names, hashes and numbers only: never an argument value, a rendered URL or a body.
    const text = JSON.stringify(rows.map((e) => e.payload));
    for (const leak of ["ada@example.com", "cus_1", "inv_2", "/customers/"]) expect(text).not.toContain(leak);
  });

  it("measures durations with the gateway clock", async () => {
    const slow = await createWorkflow(
      env.t,
      oneStep(spec.id, "billing.slow-ok", { operation_id: "slow", query_params: { ms: "300" } }),
    );
    const tick = setInterval(() => env.t.clock.advance(10), 10);
    let r: CallAnswer;
    try {
      r = await call(env.t, agent, "billing.slow-ok", {});
    } finally {
      clearInterval(tick);
    }
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const rows = (await eventsOf(env.t, agent.executionId)).filter((e) => e.call_id === r.body.call_id);
    const step = rows.find((e) => e.event_type === "WorkflowStepExecuted");
    const completed = rows.find((e) => e.event_type === "WorkflowInvocationCompleted");
    const done = rows.find((e) => e.event_type === "ToolCallCompleted");
    expect(step?.payload.duration_ms as number).toBeGreaterThanOrEqual(150);
    expect(completed?.payload.duration_ms as number).toBeGreaterThanOrEqual(
      step?.payload.duration_ms as number,
    );
    expect(done?.payload.duration_ms as number).toBeGreaterThanOrEqual(
      completed?.payload.duration_ms as number,
    );
    expect(done?.payload.definition_hash).toBe(slow.hash);
  });

  describe("bad arguments: 4000, audited, nothing sent", () => {
    const BAD_INPUTS: Array<[string, Record<string, unknown>]> = [
      ["missing required email", {}],
      ["email of the wrong type", { email: 42 }],
      ["email not matching the pattern", { email: "not-an-email" }],
      ["an undeclared argument", { email: "ada@example.com", admin: true }],
      ["a status outside the enum", { email: "ada@example.com", status: "void" }],
      ["a nested object where a string is expected", { email: { $ne: "" } }],
      [
        "a prototype key",
        JSON.parse('{"email":"ada@example.com","__proto__":{"admin":true}}') as Record<string, unknown>,
      ],
    ];
    for (const [name, args] of BAD_INPUTS) {
      it(name, async () => {
        const seq = await lastSeq(env.t);
        const r = await callSendingNothing("billing.invoices", args);
        const body = expectCode(r, 400, 4000);
        expect(body.error?.details.reason).toBe("invalid_input");
        const problems = body.error?.details.problems as Array<{ path: string; message: string }>;
        expect(problems.length).toBeGreaterThan(0);
        // The rejected value is never quoted back.
        expect(JSON.stringify(body)).not.toContain("not-an-email");
        const rows = await eventsOf(env.t, agent.executionId, seq);
        const types = rows.map((e) => e.event_type);
        expect(types).toEqual([
          "ToolCallAuthorized",
          "WorkflowInvocationStarted",
          "WorkflowInvocationFailed",
          "EnvelopeRejected",
        ]);
        expect(rows[2]?.payload).toMatchObject({
          code: "INVALID_ARGUMENTS",
          reason: "invalid_input",
          failed_step: null,
        });
        expect(rows[3]).toMatchObject({
          decision: "reject",
          stage: "execute",
          code: 4000,
          tool_name: "billing.invoices",
        });
      });
    }

    it("a parameter of the wrong type (integer query parameter) is refused before sending", async () => {
      await createWorkflow(
        env.t,
        oneStep(
          spec.id,
          "billing.search-limit",
          {
            operation_id: "searchCustomers",
            query_params: { email: "{{input.email}}", limit: "{{input.limit}}" },
          },
          {
            type: "object",
            properties: { email: { type: "string" }, limit: {} },
            required: ["email"],
            additionalProperties: false,
          },
        ),
      );
      for (const limit of ["ten", 1.5, "1e3", [1], { n: 1 }, true]) {
        const r = await callSendingNothing("billing.search-limit", { email: "ada@example.com", limit });
        expectCode(r, 400, 4000);
      }
      const ok = await call(env.t, agent, "billing.search-limit", { email: "ada@example.com", limit: 5 });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(env.up.requests.at(-1)?.query).toEqual({ email: ["ada@example.com"], limit: ["5"] });
    });

    it("a required parameter that renders to nothing is refused before sending", async () => {
      await createWorkflow(
        env.t,
        oneStep(spec.id, "billing.open-search", {
          operation_id: "searchCustomers",
          query_params: { email: "{{input.email}}" },
        }),
      );
      const missing = await callSendingNothing("billing.open-search", {});
      expect(expectCode(missing, 400, 4000).error?.details).toMatchObject({
        reason: "template_render_failed",
        step: "only",
        field: "query_params.email",
      });
      const object = await callSendingNothing("billing.open-search", { email: { a: 1 } });
      expect(expectCode(object, 400, 4000).error?.details.reason).toBe("template_render_failed");
    });

    it("a dynamic lookup of constructor finds nothing (own data only)", async () => {
      await createWorkflow(
        env.t,
        oneStep(spec.id, "billing.lookup", {
          operation_id: "searchCustomers",
          query_params: { email: "{{lookup input input.key}}" },
        }),
      );
      for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        const r = await callSendingNothing("billing.lookup", { key });
        expect(expectCode(r, 400, 4000).error?.details.reason, key).toBe("template_render_failed");
      }
      const ok = await call(env.t, agent, "billing.lookup", { key: "mail", mail: "alan@example.com" });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect((resultOf(ok).result as { data: { id: string }[] }).data[0]?.id).toBe("cus_2");
    });
  });

  describe("hostile values are sent as data", () => {
    it("path traversal values are percent-encoded within their segment; . and .. alone are refused", async () => {
      await createWorkflow(
        env.t,
        oneStep(
          spec.id,
          "billing.item",
          { operation_id: "getItem", path_params: { itemId: "{{input.id}}" } },
          { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        ),
      );
      const CASES: Array<[string, string]> = [
        ["../admin", "/items/..%2Fadmin"],
        ["../../etc/passwd", "/items/..%2F..%2Fetc%2Fpasswd"],
        ["a/b", "/items/a%2Fb"],
        ["x?admin=1#frag", "/items/x%3Fadmin%3D1%23frag"],
        ["%2e%2e", "/items/%252e%252e"],
        ["..\\admin", "/items/..%5Cadmin"],
      ];
      for (const [id, rawPath] of CASES) {
        const from = env.up.requests.length;
        const r = await call(env.t, agent, "billing.item", { id });
        expect(r.status, `${id}: ${JSON.stringify(r.body)}`).toBe(200);
        const sent = sentSince(env.up, from);
        expect(
          sent.map((q) => q.rawPath),
          id,
        ).toEqual([rawPath]);
        expect(sent[0]?.query).toEqual({});
        expect((resultOf(r).result as { item_id: string }).item_id).toBe(id);
      }
      for (const id of ["..", "."]) {
        const r = await callSendingNothing("billing.item", { id });
        expectCode(r, 400, 4000);
      }
    });

    it("a template value is never evaluated, and cannot break out of a JSON string body", async () => {
      await createWorkflow(
        env.t,
        oneStep(
          spec.id,
          "billing.echo",
          { operation_id: "echoBody", body_template: '{"note": "{{input.note}}", "n": {{json input.n}} }' },
          {
            type: "object",
            properties: { note: { type: "string" }, n: { type: "number" } },
            required: ["note", "n"],
            additionalProperties: false,
          },
        ),
      );
      for (const note of [
        '", "admin": true, "x": "',
        "{{input.n}}",
        "{{constructor.constructor}}",
        "\u0000\n\u2028",
        '\\"}',
      ]) {
        const r = await call(env.t, agent, "billing.echo", { note, n: 7 });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect((resultOf(r).result as { received: unknown }).received).toEqual({ note, n: 7 });
      }
    });

    it("header values with CR/LF are refused before sending", async () => {
      await createWorkflow(
        env.t,
        oneStep(
          spec.id,
          "billing.headers",
          { operation_id: "echoHeaders", headers: { "X-Trace": "{{input.trace}}" } },
          { type: "object", properties: { trace: { type: "string" } } },
        ),
      );
      for (const trace of ["a\r\nX-Admin: 1", "a\nb", "a\u0000b"]) {
        const r = await callSendingNothing("billing.headers", { trace });
        expectCode(r, 400, 4000);
      }
      const ok = await call(env.t, agent, "billing.headers", { trace: "abc-123" });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect((resultOf(ok).result as { headers: Record<string, string> }).headers["x-trace"]).toBe("abc-123");
    });
  });

  it("a spec whose credential cannot be produced fails closed: 4010, nothing sent", async () => {
    // SystemJit needs an OpenBao backend this gateway does not have; the StaticRef key has no
    // stored secret (without a secret store at all the reason is backend_not_configured).
    const CASES: Array<[string, unknown, string[]]> = [
      [
        "billing.jit",
        { SystemJit: { openbao_engine_path: "database", role: "readonly" } },
        ["backend_not_configured"],
      ],
      [
        "billing.static",
        { StaticRef: { key: "shared/billing-token" } },
        ["backend_not_configured", "secret_not_found"],
      ],
    ];
    for (const [tool, credentialPath, reasons] of CASES) {
      const secured = await registerBilling(env, `spec-${tool.replace(".", "-")}`, {
        credential_path: credentialPath,
      });
      await createWorkflow(env.t, invoicesWorkflow(secured.id, tool));
      const seq = await lastSeq(env.t);
      const r = await callSendingNothing(tool, { email: "ada@example.com" });
      expect(r.status, JSON.stringify(r.body)).toBe(502);
      expect(r.body.error?.code).toBe(4010);
      expect(reasons).toContain(r.body.error?.details.reason);
      const types = (await eventsOf(env.t, agent.executionId, seq)).map((e) => e.event_type);
      expect(types).not.toContain("WorkflowStepExecuted");
      expect(types.slice(0, 2)).toEqual(["ToolCallAuthorized", "WorkflowInvocationStarted"]);
      expect(types.slice(-2)).toEqual(["WorkflowInvocationFailed", "EnvelopeRejected"]);
      const failedRow = (await eventsOf(env.t, agent.executionId, seq)).find(
        (e) => e.event_type === "WorkflowInvocationFailed",
      );
      expect(failedRow?.payload).toMatchObject({ code: "CREDENTIAL_UNAVAILABLE", failed_step: null });
    }
  });

  describe("security context constraints", () => {
    it("domain_allowlist not covering the spec's hosts → 2004, nothing sent; covering them → runs", async () => {
      await putContext(env.t, {
        name: "billing-elsewhere",
        capabilities: [
          {
            tool_pattern: "billing.*",
            domain_allowlist: ["api.example.com", "billing.example.com", "*.0.0.1.example.com"],
          },
        ],
      });
      const denied = await sessionAgent(env.t, { context: "billing-elsewhere" });
      const seq = await lastSeq(env.t);
      const r = await callSendingNothing("billing.invoices", { email: "ada@example.com" }, denied);
      expectCode(r, 403, 2004);
      const rows = await eventsOf(env.t, denied.executionId, seq);
      expect(rows.map((e) => e.event_type)).toContain("PolicyDenied");
      expect(rows.map((e) => e.event_type)).not.toContain("WorkflowInvocationStarted");

      await putContext(env.t, {
        name: "billing-local",
        capabilities: [{ tool_pattern: "billing.*", domain_allowlist: ["127.0.0.1", "billing.example.com"] }],
      });
      const allowed = await sessionAgent(env.t, { context: "billing-local" });
      const ok = await call(env.t, allowed, "billing.invoices", { email: "ada@example.com" });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    });

    it("a context that does not allow the workflow → 2006 before lookup; an unknown allowed tool → 4004", async () => {
      await putContext(env.t, { name: "other-tools", capabilities: [{ tool_pattern: "crm.*" }] });
      const other = await sessionAgent(env.t, { context: "other-tools" });
      expectCode(
        await callSendingNothing("billing.invoices", { email: "ada@example.com" }, other),
        403,
        2006,
      );
      expectCode(await callSendingNothing("billing.nope", { email: "ada@example.com" }), 404, 4004);
    });

    it("max_response_size on the capability caps the workflow result (4013)", async () => {
      await putContext(env.t, {
        name: "billing-small",
        capabilities: [{ tool_pattern: "billing.*", max_response_size: 64 }],
      });
      const small = await sessionAgent(env.t, { context: "billing-small" });
      const r = await call(env.t, small, "billing.invoices", { email: "ada@example.com" });
      expect(r.body.error).toMatchObject({
        code: 4013,
        details: { reason: "response_too_large", max_response_size: 64 },
      });
      expect(r.status).toBe(502);
    });
  });

  it("GET /v1/tools shows the workflow with its input schema, only to agents whose context allows it", async () => {
    const list = async (token: string) => {
      const res = await env.t.request("/v1/tools", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return (
        (await res.json()) as { tools: Array<{ name: string; description: string; inputSchema: unknown }> }
      ).tools;
    };
    const tools = await list(agent.token);
    expect(tools.find((t) => t.name === "billing.invoices")).toEqual({
      name: "billing.invoices",
      description: "A customer's invoices, by e-mail",
      inputSchema: invoicesWorkflow(spec.id).input_schema,
    });
    expect(tools.map((t) => t.name)).not.toContain("explorer");
    await putContext(env.t, { name: "crm-only", capabilities: [{ tool_pattern: "crm.*" }] });
    const crm = await sessionAgent(env.t, { context: "crm-only" });
    expect(await list(crm.token)).toEqual([]);
  });

  it("refused calls are readable by tool in the audit API", async () => {
    const rows = await events(env.t, { tool: "billing.invoices", decision: "reject" });
    expect(rows.length).toBeGreaterThan(0);
    for (const e of rows) expect(e.tool_name).toBe("billing.invoices");
  });
});
