/**
 * Escalated calls: 202 pending, an approver decides, the agent re-sends the same call with
 * `params._meta.approval_id` and it runs exactly once — only for the same agent, tool and
 * arguments, before expiry, and never after a denial.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  bearer,
  type CallAnswer,
  call,
  events,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  send,
  sessionAgent,
  signedCall,
  testTool,
} from "./support.js";

const TTL_SECONDS = 120;

interface ApprovalView {
  id: string;
  approval_id: string;
  tenant_id: string;
  status: string;
  sub: string;
  execution_id: string;
  security_context: string;
  tool_name: string;
  arguments: unknown;
  rule: string;
  expires_at: string;
  decided_by: string | null;
  reason: string | null;
  used_at: string | null;
}

describe.each(BACKENDS)("approvals (%s)", (backend) => {
  let t: TestGateway;
  const refund = testTool("pay.refund");
  let agent: SessionAgent;
  let other: SessionAgent;

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      { SEAL_GATEWAY_APPROVALS_TTL_SECONDS: String(TTL_SECONDS) },
      {
        tools: [{ lookup: async (_t, n) => (n === refund.name ? refund : null), list: async () => [refund] }],
      },
    );
    const doc = {
      name: "appr-ctx",
      capabilities: [
        { tool_pattern: "pay.refund", approval: "required" },
        { tool_pattern: "pay.void", approval: "required" },
        { tool_pattern: "pay.*" },
      ],
    };
    await putContext(t, doc);
    await putContext(t, { ...doc, tenant_id: "tenant-b" });
    agent = await sessionAgent(t, { context: "appr-ctx", sub: "refund-agent" });
    other = await sessionAgent(t, { context: "appr-ctx", sub: "other-agent" });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => {
    refund.runs.length = 0;
  });

  const approver = () => t.operatorToken("approver");
  const decide = (id: string, verb: "approve" | "deny", body: unknown = {}, token = approver()) =>
    t.request(`/v1/approvals/${id}/${verb}`, jsonInit("POST", body, token));
  const getApproval = async (id: string) =>
    await expectJson<ApprovalView>(
      await t.request(`/v1/approvals/${id}`, { headers: bearer(t.adminToken()) }),
      200,
    );

  /** Sends an escalated call and returns its pending approval id. */
  async function pending(a: SessionAgent, args: Record<string, unknown>): Promise<string> {
    const r = await call(t, a, "pay.refund", args);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(typeof r.body.approval_id).toBe("string");
    return r.body.approval_id as string;
  }
  async function approved(a: SessionAgent, args: Record<string, unknown>): Promise<string> {
    const id = await pending(a, args);
    await expectJson(await decide(id, "approve", { reason: "ok" }), 200);
    return id;
  }
  function expect4009(r: CallAnswer, reason: string): void {
    expectCode(r, 409, 4009);
    expect(r.body.error?.details.reason).toBe(reason);
    expect(refund.runs).toEqual([]);
  }

  it("an escalated call answers 202 pending, runs nothing and records ApprovalRequested", async () => {
    const r = await call(t, agent, "pay.refund", { order: "o-1", amount: 10 });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      protocol: "seal/v1",
      status: "pending",
      approval_id: expect.any(String),
      request_id: expect.stringMatching(/^req-/),
      expires_at: new Date(t.clock.nowMs() + TTL_SECONDS * 1000).toISOString(),
    });
    expect(refund.runs).toEqual([]);
    const rows = await eventsOf(t, agent.executionId);
    const requested = rows.filter((e) => e.event_type === "ApprovalRequested");
    expect(requested).toHaveLength(1);
    expect(requested[0]).toMatchObject({
      decision: "escalate",
      tool_name: "pay.refund",
      payload: { approval_id: r.body.approval_id, rule: "capabilities[0]" },
    });
    expect(rows.some((e) => e.event_type === "ToolCallAuthorized")).toBe(false);
  });

  it("an approved call that cannot run (no such tool) does not use up its approval", async () => {
    const args = { order: "o-void", amount: 1 };
    const first = await call(t, agent, "pay.void", args);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const id = first.body.approval_id as string;
    await expectJson(await decide(id, "approve", { reason: "ok" }), 200);
    const again = await call(t, agent, "pay.void", args, { approval_id: id });
    expectCode(again, 404, 4004);
    const view = await getApproval(id);
    expect(view.status).toBe("approved");
    expect(view.used_at).toBeNull();
  });

  it("approvers list and read pending approvals with what was asked", async () => {
    const id = await pending(agent, { order: "o-list", amount: 3 });
    const list = await expectJson<{ approvals: ApprovalView[] }>(
      await t.request("/v1/approvals?status=pending", { headers: bearer(approver()) }),
      200,
    );
    const mine = list.approvals.find((x) => x.id === id);
    expect(mine).toMatchObject({
      status: "pending",
      sub: "refund-agent",
      execution_id: agent.executionId,
      security_context: "appr-ctx",
      tool_name: "pay.refund",
      arguments: { order: "o-list", amount: 3 },
      rule: "capabilities[0]",
      tenant_id: "default",
    });
    expect((await getApproval(id)).status).toBe("pending");
    // Another tenant's approver sees none of them.
    const elsewhere = await expectJson<{ approvals: ApprovalView[] }>(
      await t.request("/v1/approvals", { headers: bearer(t.operatorToken("approver", "tenant-b")) }),
      200,
    );
    expect(elsewhere.approvals).toEqual([]);
    await expectError(
      await decide(id, "approve", {}, t.operatorToken("approver", "tenant-b")),
      404,
      "not_found",
    );
    expect((await getApproval(id)).status).toBe("pending");
  });

  it("viewer and operator cannot decide (403); the approval stays pending", async () => {
    const id = await pending(agent, { order: "o-roles" });
    for (const role of ["viewer", "operator"] as const) {
      await expectError(await decide(id, "approve", {}, t.operatorToken(role)), 403, "wrong_role");
      await expectError(await decide(id, "deny", {}, t.operatorToken(role)), 403, "wrong_role");
    }
    expect((await getApproval(id)).status).toBe("pending");
    expect(
      (await events(t, { type: "ApprovalGranted" })).filter((e) => e.payload.approval_id === id),
    ).toEqual([]);
  });

  it("re-sending while still pending answers 202 again with the same approval", async () => {
    const args = { order: "o-wait" };
    const id = await pending(agent, args);
    const before = (await events(t, { type: "ApprovalRequested" })).length;
    const seq = Math.max(0, ...(await eventsOf(t, agent.executionId)).map((e) => e.seq));
    const r = await call(t, agent, "pay.refund", args, { approval_id: id });
    expect(r.status).toBe(202);
    expect(r.body.approval_id).toBe(id);
    expect(refund.runs).toEqual([]);
    expect((await events(t, { type: "ApprovalRequested" })).length).toBe(before);
    // Every call records its decision: the re-send is an escalation too, naming the approval.
    const rows = await eventsOf(t, agent.executionId, seq);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      decision: "escalate",
      tool_name: "pay.refund",
      payload: { approval_id: id, rule: "capabilities[0]" },
    });
  });

  it("approve with a reason → ApprovalGranted; the re-sent call runs once; a second use is 4009", async () => {
    const args = { order: "o-2", amount: 25 };
    const id = await pending(agent, args);
    const decided = await expectJson<ApprovalView>(
      await decide(id, "approve", { reason: "customer verified" }),
      200,
    );
    expect(decided).toMatchObject({
      status: "approved",
      decided_by: "test-approver",
      reason: "customer verified",
    });
    const granted = (await events(t, { type: "ApprovalGranted" })).filter(
      (e) => e.payload.approval_id === id,
    );
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({
      agent_id: "refund-agent",
      payload: { actor: "test-approver", reason: "customer verified" },
    });

    const r = await call(t, agent, "pay.refund", args, { approval_id: id });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toEqual({ echo: args, tool: "pay.refund" });
    expect(refund.runs.map((x) => x.arguments)).toEqual([args]);
    expect((await getApproval(id)).status).toBe("used");
    const rows = await eventsOf(t, agent.executionId);
    expect(
      rows.filter((e) => e.event_type === "ApprovalRedeemed" && e.payload.approval_id === id),
    ).toHaveLength(1);
    expect(
      rows.find((e) => e.event_type === "ToolCallAuthorized" && e.payload.approval_id === id),
    ).toBeDefined();

    refund.runs.length = 0;
    expect4009(await call(t, agent, "pay.refund", args, { approval_id: id }), "approval_used");
    // Deciding a used approval again is refused.
    await expectError(await decide(id, "deny", { reason: "late" }), 409, "already_decided");
  });

  it("different arguments → 4009 approval_mismatch, and the approval stays usable for the right ones", async () => {
    const args = { order: "o-3", amount: 5 };
    const id = await approved(agent, args);
    expect4009(
      await call(t, agent, "pay.refund", { order: "o-3", amount: 5000 }, { approval_id: id }),
      "approval_mismatch",
    );
    expect4009(
      await call(t, agent, "pay.refund", { ...args, extra: true }, { approval_id: id }),
      "approval_mismatch",
    );
    expect4009(
      await call(t, agent, "pay.refund", { amount: 5, order: "o-3 " }, { approval_id: id }),
      "approval_mismatch",
    );
    // Another tool that also needs approval, with the same arguments.
    expect4009(await call(t, agent, "pay.void", args, { approval_id: id }), "approval_mismatch");
    // Key order does not matter: the digest is over canonical JSON.
    const r = await call(t, agent, "pay.refund", { amount: 5, order: "o-3" }, { approval_id: id });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(refund.runs).toHaveLength(1);
  });

  it("another agent cannot redeem it (4009)", async () => {
    const args = { order: "o-4" };
    const id = await approved(agent, args);
    expect4009(await call(t, other, "pay.refund", args, { approval_id: id }), "approval_mismatch");
    const rejected = (await eventsOf(t, other.executionId)).filter(
      (e) => e.event_type === "ApprovalRejected",
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      code: 4009,
      payload: { approval_id: id, reason: "approval_mismatch" },
    });
    expect((await getApproval(id)).status).toBe("approved");
  });

  it("an agent of another tenant with the same sub cannot redeem it (4009)", async () => {
    const args = { order: "o-tenant" };
    const id = await approved(agent, args);
    const twin = await sessionAgent(t, { context: "appr-ctx", sub: "refund-agent", tenant: "tenant-b" });
    expect4009(await call(t, twin, "pay.refund", args, { approval_id: id }), "approval_not_found");
    expect((await getApproval(id)).status).toBe("approved");
  });

  it("a denied approval → ApprovalDenied; the re-sent call is 4009 approval_denied", async () => {
    const args = { order: "o-5" };
    const id = await pending(agent, args);
    const decided = await expectJson<ApprovalView>(await decide(id, "deny", { reason: "suspicious" }), 200);
    expect(decided).toMatchObject({ status: "denied", reason: "suspicious" });
    const rows = (await events(t, { type: "ApprovalDenied" })).filter((e) => e.payload.approval_id === id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      decision: "reject",
      payload: { reason: "suspicious", actor: "test-approver" },
    });
    expect4009(await call(t, agent, "pay.refund", args, { approval_id: id }), "approval_denied");
    await expectError(await decide(id, "approve"), 409, "already_decided");
  });

  it("unknown, malformed and oversized approval ids are 4009", async () => {
    expect4009(
      await call(t, agent, "pay.refund", { order: "x" }, { approval_id: "apr_does_not_exist" }),
      "approval_not_found",
    );
    expect4009(await call(t, agent, "pay.refund", { order: "x" }, { approval_id: 42 }), "approval_malformed");
    expect4009(
      await call(t, agent, "pay.refund", { order: "x" }, { approval_id: null }),
      "approval_malformed",
    );
    expect4009(
      await call(t, agent, "pay.refund", { order: "x" }, { approval_id: "a".repeat(129) }),
      "approval_malformed",
    );
    await expectError(await decide("apr_does_not_exist", "approve"), 404, "not_found");
  });

  it("bad decision bodies are refused", async () => {
    const id = await pending(agent, { order: "o-body" });
    await expectError(await decide(id, "approve", { reason: 5 }), 400, "invalid_body");
    await expectError(await decide(id, "approve", { reason: "x", extra: 1 }), 400, "invalid_body");
    await expectError(await decide(id, "approve", { reason: "r".repeat(2049) }), 400, "invalid_body");
    expect((await getApproval(id)).status).toBe("pending");
    // An empty body is a decision without a reason.
    const res = await t.request(`/v1/approvals/${id}/approve`, {
      method: "POST",
      headers: bearer(approver()),
    });
    expect((await expectJson<ApprovalView>(res, 200)).reason).toBeNull();
  });

  it("approve and deny racing: exactly one decision wins, and the audit says which", async () => {
    for (let round = 0; round < 3; round++) {
      const id = await pending(agent, { order: `o-decide-race-${round}` });
      const [g, d] = await Promise.all([
        decide(id, "approve", { reason: "yes" }),
        decide(id, "deny", { reason: "no" }),
      ]);
      const statuses = [g.status, d.status].sort();
      expect(statuses).toEqual([200, 409]);
      const final = (await getApproval(id)).status;
      expect(final).toBe(g.status === 200 ? "approved" : "denied");
      const rows = (await events(t, {})).filter(
        (e) => e.payload.approval_id === id && e.stage === "approval",
      );
      const winner = final === "approved" ? "ApprovalGranted" : "ApprovalDenied";
      const loser = final === "approved" ? "ApprovalDenied" : "ApprovalGranted";
      expect(rows.filter((e) => e.event_type === winner)).toHaveLength(1);
      // The decision and its row commit together: the losing decision left no row.
      expect(rows.filter((e) => e.event_type === loser)).toHaveLength(0);
      expect(rows.filter((e) => e.event_type !== winner && e.event_type !== "ApprovalRequested")).toEqual([]);
    }
  });

  it("five concurrent redemptions: exactly one runs", async () => {
    const args = { order: "o-race" };
    const id = await approved(agent, args);
    const bodies = Array.from({ length: 5 }, () =>
      signedCall(t, agent, "pay.refund", args, { approval_id: id }),
    );
    const answers = await Promise.all(bodies.map((b) => send(t, b)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const losers = answers.filter((a) => a.status !== 200);
    expect(losers).toHaveLength(4);
    for (const l of losers) {
      expectCode(l, 409, 4009);
      expect(l.body.error?.details.reason).toBe("approval_used");
    }
    expect(refund.runs).toHaveLength(1);
  });

  it("expiry: past approvals.ttl_seconds a pending or approved approval is 4009 and cannot be decided", async () => {
    const pendingArgs = { order: "o-exp-1" };
    const approvedArgs = { order: "o-exp-2" };
    const p = await pending(agent, pendingArgs);
    const a = await approved(agent, approvedArgs);
    t.clock.advance((TTL_SECONDS + 1) * 1000);
    expect4009(await call(t, agent, "pay.refund", pendingArgs, { approval_id: p }), "approval_expired");
    expect4009(await call(t, agent, "pay.refund", approvedArgs, { approval_id: a }), "approval_expired");
    await expectError(await decide(p, "approve"), 409, "expired");
    expect((await getApproval(p)).status).toBe("expired");
    expect((await getApproval(a)).status).toBe("expired");
    const listed = await expectJson<{ approvals: ApprovalView[] }>(
      await t.request("/v1/approvals?status=expired", { headers: bearer(approver()) }),
      200,
    );
    expect(listed.approvals.map((x) => x.id)).toEqual(expect.arrayContaining([p, a]));
    // The same call without an approval id asks for a new one.
    const again = await call(t, agent, "pay.refund", pendingArgs);
    expect(again.status).toBe(202);
    expect(again.body.approval_id).not.toBe(p);
  });

  it("exactly at the expiry instant the approval no longer works", async () => {
    const args = { order: "o-edge" };
    const id = await approved(agent, args);
    t.clock.advance(TTL_SECONDS * 1000);
    expect4009(await call(t, agent, "pay.refund", args, { approval_id: id }), "approval_expired");
  });
});
