import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { EventFilter, EventRow } from "../store/types.js";
import { iso, type Principal, parseInput, requireRole, TenantId, type VerbCall } from "./context.js";

/** GET /v1/events: filters and an opaque cursor (newest first). */

const Time = z.string().transform((s, ctx) => {
  const ms = /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: "must be RFC 3339 or Unix seconds" });
    return z.NEVER;
  }
  return ms;
});

export const EventQuery = z.strictObject({
  type: z.string().max(128).optional(),
  agent: z.string().max(256).optional(),
  tool: z.string().max(256).optional(),
  decision: z.enum(["allow", "escalate", "reject"]).optional(),
  stage: z.string().max(64).optional(),
  execution_id: z.string().max(256).optional(),
  tenant_id: TenantId.optional(),
  since: Time.optional(),
  until: Time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(64).optional(),
});
export type EventQuery = z.infer<typeof EventQuery>;

export function eventView(row: EventRow) {
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    payload = row.payload;
  }
  return {
    id: row.id,
    seq: row.seq,
    created_at: iso(row.createdAt),
    event_type: row.eventType,
    tenant_id: row.tenantId,
    execution_id: row.executionId,
    call_id: row.callId,
    agent_id: row.agentId,
    tool_name: row.toolName,
    decision: row.decision,
    stage: row.stage,
    code: row.code,
    request_id: row.requestId,
    payload,
    chain_seq: row.chainSeq,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

function decodeCursor(cursor: string): number {
  const n = Number(Buffer.from(cursor, "base64url").toString("utf8").replace(/^seq:/, ""));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new GatewayError("BAD_REQUEST", "invalid cursor", { reason: "bad_cursor" });
  return n;
}

/**
 * The store filter for a query: the token's tenant, or the one it names when it may (admin
 * `*`). Shared by the listing and the live stream, so both scope and filter alike.
 */
export function eventFilter(
  actor: Principal,
  q: Omit<EventQuery, "limit" | "cursor">,
): Omit<EventFilter, "limit" | "beforeSeq" | "afterSeq"> {
  let tenantId = actor.tenant;
  if (q.tenant_id !== undefined) {
    if (actor.tenant !== "*" && q.tenant_id !== actor.tenant)
      throw new GatewayError("FORBIDDEN", "this token cannot read another tenant's events", {
        reason: "wrong_tenant",
      });
    tenantId = q.tenant_id;
  }
  return {
    tenantId,
    type: q.type,
    agent: q.agent,
    tool: q.tool,
    decision: q.decision,
    stage: q.stage,
    executionId: q.execution_id,
    since: q.since,
    until: q.until,
  };
}

export async function listEvents({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(EventQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await deps.store.listEvents({
    ...eventFilter(actor, q),
    beforeSeq: q.cursor ? decodeCursor(q.cursor) : undefined,
    limit: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  const next = rows.length > q.limit && last ? Buffer.from(`seq:${last.seq}`).toString("base64url") : null;
  return { items: page.map(eventView), next_cursor: next };
}
