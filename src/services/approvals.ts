import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { ApprovalRow, ApprovalStatus } from "../store/types.js";
import { type Actor, canSee, iso, listingTenant, notFound, type ServiceDeps } from "./context.js";
import type { BearerAgent } from "./tools.js";

/**
 * Approvals of escalated calls: approvers (and admins) read and decide them; the agent then
 * re-sends the same call with `params._meta.approval_id` (redeemed in the pipeline).
 */

export function approvalView(row: ApprovalRow, nowMs: number) {
  const status =
    (row.status === "pending" || row.status === "approved") && row.expiresAt <= nowMs
      ? "expired"
      : row.status;
  let summary: unknown = row.summary;
  try {
    summary = JSON.parse(row.summary);
  } catch {
    // a truncated summary stays text
  }
  return {
    id: row.id,
    approval_id: row.id,
    tenant_id: row.tenantId,
    status,
    sub: row.sub,
    execution_id: row.executionId,
    security_context: row.securityContext,
    tool_name: row.toolName,
    arguments_digest: row.argumentsDigest,
    arguments: summary,
    rule: row.rule,
    request_id: row.requestId,
    created_at: iso(row.createdAt),
    expires_at: iso(row.expiresAt),
    decided_at: iso(row.decidedAt),
    decided_by: row.decidedBy,
    reason: row.reason,
    used_at: iso(row.usedAt),
  };
}

export const ApprovalQuery = z.strictObject({
  status: z.enum(["pending", "approved", "denied", "used", "expired"]).optional(),
  tenant_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ApprovalQuery = z.infer<typeof ApprovalQuery>;

export const DecisionInput = z.strictObject({ reason: z.string().max(2048).optional() });
export type DecisionInput = z.infer<typeof DecisionInput>;

export async function listApprovals(deps: ServiceDeps, actor: Actor, q: ApprovalQuery) {
  const now = deps.clock.nowMs();
  // "expired" is computed on read; the store filters on what it holds.
  const storeStatus: ApprovalStatus | undefined = q.status === "expired" ? undefined : q.status;
  const rows = await deps.store.listApprovals(
    listingTenant(actor, q.tenant_id),
    storeStatus,
    q.status ? 1000 : q.limit,
  );
  const views = rows.map((r) => approvalView(r, now)).filter((v) => !q.status || v.status === q.status);
  return { approvals: views.slice(0, q.limit) };
}

export async function getApproval(deps: ServiceDeps, actor: Actor, id: string) {
  const row = await deps.store.getApproval(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("approval");
  return approvalView(row, deps.clock.nowMs());
}

export async function decideApproval(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  decision: "approved" | "denied",
  input: DecisionInput,
) {
  const row = await deps.store.getApproval(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("approval");
  const now = deps.clock.nowMs();
  if (row.status !== "pending")
    throw new GatewayError("CONFLICT", `the approval is already ${row.status}`, {
      reason: "already_decided",
      status: row.status,
    });
  if (row.expiresAt <= now)
    throw new GatewayError("CONFLICT", "the approval has expired", { reason: "expired" });
  await deps.audit.record({
    eventType: decision === "approved" ? "ApprovalGranted" : "ApprovalDenied",
    tenantId: row.tenantId,
    executionId: row.executionId,
    callId: null,
    agentId: row.sub,
    toolName: row.toolName,
    decision: decision === "approved" ? "allow" : "reject",
    stage: "approval",
    code: null,
    requestId: row.requestId,
    payload: { approval_id: id, actor: actor.sub, reason: input.reason ?? null },
  });
  const after = await deps.store.decideApproval(id, decision, actor.sub, input.reason ?? null, now);
  if (!after) {
    // The decision row above was written first (no audit, no action) but another decision
    // won the race: a later row says this one did not take effect, so the trail never shows
    // an approval as both granted and denied without saying which held.
    const current = await deps.store.getApproval(id);
    await deps.audit.record({
      eventType: "ApprovalDecisionFailed",
      tenantId: row.tenantId,
      executionId: row.executionId,
      callId: null,
      agentId: row.sub,
      toolName: row.toolName,
      decision: null,
      stage: "approval",
      code: null,
      requestId: row.requestId,
      payload: {
        approval_id: id,
        actor: actor.sub,
        attempted: decision,
        reason: "already_decided",
        status: current?.status ?? null,
      },
    });
    throw new GatewayError("CONFLICT", "the approval was decided concurrently", {
      reason: "already_decided",
    });
  }
  return approvalView(after, now);
}

/**
 * GET /v1/seal/approvals/{id} for the agent that asked (the MCP bridge polls it): its own
 * approvals only — same `sub` and tenant — and only status and expiry, so an agent learns
 * nothing about other agents' calls or who decided. Anything else is 404, like an unknown id.
 */
export async function approvalStatusForAgent(deps: ServiceDeps, agent: BearerAgent, id: string) {
  const row = id.length <= 128 ? await deps.store.getApproval(id) : null;
  if (!row || row.tenantId !== agent.tenantId || row.sub !== agent.claims.sub) throw notFound("approval");
  const view = approvalView(row, deps.clock.nowMs());
  return { approval_id: row.id, status: view.status, expires_at: view.expires_at };
}
