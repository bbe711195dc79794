import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { ApprovalRow } from "../store/types.js";
import {
  ById,
  canSee,
  iso,
  listingTenant,
  notFound,
  type Principal,
  parseInput,
  requireAgent,
  requireRole,
  type ServiceDeps,
  TenantId,
  type VerbCall,
} from "./context.js";
import { createdCursor, PageQuery, pageOf } from "./pagination.js";

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
  tenant_id: TenantId.optional(),
  ...PageQuery,
});
export type ApprovalQuery = z.infer<typeof ApprovalQuery>;

/** Approvals page by (created_at, id), newest first: the next page is older. */
const APPROVAL_CURSOR = createdCursor("apr");

export const DecisionInput = z.strictObject({ reason: z.string().max(2048).optional() });
const Decide = DecisionInput.extend({ id: z.string().min(1) });
export type DecisionInput = z.infer<typeof DecisionInput>;

export async function listApprovals({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ApprovalQuery, input, "invalid_query");
  const { deps } = ctx;
  const now = deps.clock.nowMs();
  // "expired" is computed on read: the store judges it at `now` as the view does.
  const before = APPROVAL_CURSOR.decode(q.cursor);
  const rows = await deps.store.listApprovals(listingTenant(actor, q.tenant_id), q.status, q.limit + 1, {
    at: now,
    ...(before === undefined ? {} : { before }),
  });
  const page = pageOf(rows, q.limit, APPROVAL_CURSOR, (r) => ({ createdAt: r.createdAt, id: r.id }));
  return { approvals: page.rows.map((r) => approvalView(r, now)), next_cursor: page.next_cursor };
}

export async function getApproval({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await deps.store.getApproval(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("approval");
  return approvalView(row, deps.clock.nowMs());
}

/** POST /v1/approvals/{id}/approve `{reason?}` — approvers and admins. */
export async function approveApproval({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "approver");
  const { id, ...decision } = parseInput(Decide, input);
  return await decideApproval(ctx.deps, actor, id, "approved", decision);
}

/** POST /v1/approvals/{id}/deny `{reason?}` — approvers and admins. */
export async function denyApproval({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "approver");
  const { id, ...decision } = parseInput(Decide, input);
  return await decideApproval(ctx.deps, actor, id, "denied", decision);
}

async function decideApproval(
  deps: ServiceDeps,
  actor: Principal,
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
  const event = deps.audit.event({
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
  // The decision and its event commit together: a decision that lost the race to another one
  // (the approval is no longer pending) writes neither, so the trail holds exactly the
  // decision that took effect.
  const after = await deps.store.audited(
    event,
    "decideApproval",
    id,
    decision,
    actor.sub,
    input.reason ?? null,
    now,
  );
  if (!after)
    throw new GatewayError("CONFLICT", "the approval was decided concurrently", {
      reason: "already_decided",
    });
  return approvalView(after, now);
}

/**
 * GET /v1/seal/approvals/{id} for the agent that asked (the MCP bridge polls it): its own
 * approvals only — same `sub` and tenant — and only status and expiry, so an agent learns
 * nothing about other agents' calls or who decided. Anything else is 404, like an unknown id.
 */
export async function approvalStatusForAgent({ ctx, input }: VerbCall) {
  const agent = requireAgent(ctx);
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = id.length <= 128 ? await deps.store.getApproval(id) : null;
  if (!row || row.tenantId !== agent.tenant || row.sub !== agent.sub) throw notFound("approval");
  const view = approvalView(row, deps.clock.nowMs());
  return { approval_id: row.id, status: view.status, expires_at: view.expires_at };
}
