import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { EventFilter, EventRow } from "../store/types.js";
import { iso, type Principal, parseInput, requireRole, TenantId, type VerbCall } from "./context.js";
import { cursorOf, PageQuery, pageOf } from "./pagination.js";

/** GET /v1/events: filters and an opaque cursor (newest first). */

export const Time = z.string().transform((s, ctx) => {
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
  ...PageQuery,
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

/** The listing's cursor: the seq of the page's last (oldest) row; the next page is below it. */
const EVENT_CURSOR = cursorOf(
  "seq",
  z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  (seq: number) => seq,
  (seq) => seq,
);

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
    beforeSeq: EVENT_CURSOR.decode(q.cursor),
    limit: q.limit + 1,
  });
  const page = pageOf(rows, q.limit, EVENT_CURSOR, (r) => r.seq);
  return { items: page.rows.map(eventView), next_cursor: page.next_cursor };
}
