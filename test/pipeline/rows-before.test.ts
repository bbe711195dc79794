/**
 * The rows before the run share a commit (issue 14, DESIGN §6): a call's ToolCallAuthorized is
 * not awaited where it is written, so a workflow's WorkflowInvocationStarted, written `after`
 * it, can join it in one group commit. "No audit, no action" still holds exactly: a failed
 * batch holding either row answers 5030, sends nothing upstream and uses no approval up, and
 * Started never reaches the table without ToolCallAuthorized.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTools } from "../../src/tools/registry.js";
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
import {
  createWorkflow,
  oneStep,
  type RestEnv,
  registerBilling,
  sentSince,
  startRestEnv,
} from "../rest-tools/support.js";
import { batchTap, hasRow } from "../support/batch-tap.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("the rows before a workflow run (%s)", (backend) => {
  const tap = batchTap();
  let env: RestEnv;
  let agent: SessionAgent;

  beforeAll(async () => {
    env = await startRestEnv(backend, undefined, { interceptStore: tap.intercept });
    const spec = await registerBilling(env);
    await createWorkflow(
      env.t,
      oneStep(spec.id, "billing.customer", {
        operation_id: "searchCustomers",
        query_params: { email: "ada@example.com" },
      }),
    );
    await putContext(env.t, { name: "rb-ctx", capabilities: [{ tool_pattern: "billing.*" }] });
    agent = await sessionAgent(env.t, { context: "rb-ctx", sub: "rb-agent" });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("ToolCallAuthorized and WorkflowInvocationStarted are written in order, before the request", async () => {
    tap.batches.length = 0;
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.customer", {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(sentSince(env.up, from)).toHaveLength(1);
    const rows = (await eventsOf(env.t, agent.executionId)).filter((e) => e.call_id === r.body.call_id);
    expect(rows.map((e) => e.event_type)).toEqual([
      "ToolCallAuthorized",
      "WorkflowInvocationStarted",
      "WorkflowStepExecuted",
      "WorkflowInvocationCompleted",
      "ToolCallCompleted",
    ]);
    const before = tap.batches.filter(hasRow("WorkflowInvocationStarted"));
    expect(before).toHaveLength(1);
    // SQLite's reads between the two rows are synchronous, so both land in the same turn's
    // batch; on PostgreSQL the lookup's round trips overlap the first row's commit instead.
    if (backend === "sqlite")
      expect(before[0]?.events.map((e) => e.eventType)).toEqual([
        "ToolCallAuthorized",
        "WorkflowInvocationStarted",
      ]);
  });

  for (const type of ["ToolCallAuthorized", "WorkflowInvocationStarted"]) {
    it(`a failed batch holding ${type}: 5030, nothing sent upstream, Started never without Authorized`, async () => {
      tap.failWhen = hasRow(type);
      tap.failed.length = 0;
      const from = env.up.requests.length;
      let r: Awaited<ReturnType<typeof call>>;
      try {
        r = await call(env.t, agent, "billing.customer", {});
      } finally {
        tap.failWhen = null;
      }
      expectCode(r, 503, 5030);
      expect(JSON.stringify(r.body)).not.toContain("injected");
      expect(sentSince(env.up, from)).toEqual([]);
      expect(tap.failed.length).toBeGreaterThan(0);
      // The refusal itself is audited, under the stage whose row failed; by its call id, every
      // row of the call.
      const all = await eventsOf(env.t, agent.executionId);
      const rejected = all.filter(
        (e) => e.event_type === "EnvelopeRejected" && e.request_id === r.body.error?.request_id,
      );
      expect(rejected).toHaveLength(1);
      // When both rows shared the failed batch (always on SQLite; on PostgreSQL when the reads
      // finished before the replay claim committed) neither was written. When Started came in a
      // later batch, the committed ToolCallAuthorized stays and the call stops in `execute`.
      const callId = rejected[0]?.call_id;
      const together = tap.failed.some((b) =>
        b.events.some((e) => e.callId === callId && e.eventType === "ToolCallAuthorized"),
      );
      if (backend === "sqlite") expect(together).toBe(true);
      const apart = !together;
      expect(rejected[0]).toMatchObject({ code: 5030, stage: apart ? "execute" : "authorize" });
      const rows = all.filter((e) => e.call_id === rejected[0]?.call_id);
      expect(rows.map((e) => e.event_type)).toEqual(
        apart ? ["ToolCallAuthorized", "EnvelopeRejected"] : ["EnvelopeRejected"],
      );
      // The store is back: the next call runs.
      const again = await call(env.t, agent, "billing.customer", {});
      expect(again.status, JSON.stringify(again.body)).toBe(200);
    });
  }
});

describe.each(BACKENDS)("the row before an approval is used up (%s)", (backend) => {
  const tap = batchTap();
  const refund = testTool("rb.refund");
  let t: TestGateway;
  let agent: SessionAgent;

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [staticTools([refund])], interceptStore: tap.intercept },
    );
    await putContext(t, {
      name: "rb-appr",
      capabilities: [{ tool_pattern: "rb.refund", approval: "required" }],
    });
    agent = await sessionAgent(t, { context: "rb-appr", sub: "rb-approver-agent" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a failed ToolCallAuthorized batch leaves the approval unused; the re-sent call then runs once", async () => {
    const args = { order: `o-${randomBytes(3).toString("hex")}` };
    const first = await call(t, agent, "rb.refund", args);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const id = String(first.body.approval_id);
    await expectJson(
      await t.request(
        `/v1/approvals/${id}/approve`,
        jsonInit("POST", { reason: "ok" }, t.operatorToken("approver")),
      ),
      200,
    );
    const meta = { approval_id: id };

    tap.failWhen = hasRow("ToolCallAuthorized");
    let refused: Awaited<ReturnType<typeof call>>;
    try {
      refused = await call(t, agent, "rb.refund", args, meta);
    } finally {
      tap.failWhen = null;
    }
    expectCode(refused, 503, 5030);
    expect(refund.runs).toEqual([]);
    const view = await expectJson<{ status: string; used_at: string | null }>(
      await t.request(`/v1/approvals/${id}`, { headers: bearer(t.adminToken()) }),
      200,
    );
    expect(view).toMatchObject({ status: "approved", used_at: null });

    const ran = await call(t, agent, "rb.refund", args, meta);
    expect(ran.status, JSON.stringify(ran.body)).toBe(200);
    expect(refund.runs).toHaveLength(1);
  });
});
