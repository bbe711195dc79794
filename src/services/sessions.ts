import { z } from "zod";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { ToolPattern } from "../policy/context-schema.js";
import { decodePublicKey } from "../seal/ed25519.js";
import type { AuditedWrites, SessionRow, SessionStore } from "../store/types.js";
import { killCliContainers, sessionContainers } from "./cli-revocation.js";
import {
  actingTenant,
  ById,
  canSee,
  controlEvent,
  iso,
  listingTenant,
  notFound,
  parseInput,
  requireRole,
  TenantId,
  type VerbCall,
  type WithStore,
} from "./context.js";
import { createdCursor, PageQuery, pageOf, storePage } from "./pagination.js";

/** RFC §6.5 session lifecycle. AEGIS field names (`agent_id`, `security_context`) are accepted. */

export type SessionDeps = WithStore<SessionStore & AuditedWrites>;

const Name = z.string().min(1).max(256);
export const CreateSessionInput = z
  .strictObject({
    execution_id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "letters, digits and . _ : - (at most 128)")
      .optional(),
    sub: Name.optional(),
    agent_id: Name.optional(),
    security_context_name: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .max(128)
      .optional(),
    security_context: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .max(128)
      .optional(),
    public_key_b64: z.string().max(512),
    allowed_tool_patterns: z.array(ToolPattern).min(1).max(256).optional(),
    workload_id: z.string().min(1).max(512).optional(),
    tenant_id: TenantId.optional(),
    ttl_seconds: z.int().min(60).max(86_400).optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.sub && !v.agent_id)
      ctx.addIssue({ code: "custom", path: ["sub"], message: "sub (or agent_id) is required" });
    if (v.sub && v.agent_id && v.sub !== v.agent_id)
      ctx.addIssue({ code: "custom", path: ["agent_id"], message: "sub and agent_id differ" });
    if (!v.security_context_name && !v.security_context) {
      ctx.addIssue({
        code: "custom",
        path: ["security_context_name"],
        message: "security_context_name (or security_context) is required",
      });
    }
    if (v.security_context_name && v.security_context && v.security_context_name !== v.security_context) {
      ctx.addIssue({
        code: "custom",
        path: ["security_context"],
        message: "security_context_name and security_context differ",
      });
    }
  });
export type CreateSessionInput = z.infer<typeof CreateSessionInput>;

export function sessionView(row: SessionRow, nowMs: number) {
  const status = row.status === "Active" && row.expiresAt <= nowMs ? "Expired" : row.status;
  return {
    execution_id: row.executionId,
    sub: row.sub,
    agent_id: row.sub,
    security_context_name: row.securityContext,
    security_context: row.securityContext,
    tenant_id: row.tenantId,
    public_key_b64: row.publicKeyB64,
    allowed_tool_patterns: row.allowedToolPatterns,
    session_status: status,
    created_at: iso(row.createdAt),
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
  };
}

export async function createSession({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const input = parseInput(CreateSessionInput, raw);
  const { deps } = ctx;
  const tenantId = actingTenant(actor, input.tenant_id);
  const key = decodePublicKey(input.public_key_b64);
  if (!key.ok)
    throw new GatewayError("BAD_REQUEST", key.message, { reason: "bad_key", field: "public_key_b64" });
  const nowMs = deps.clock.nowMs();
  const executionId = input.execution_id ?? newId("ses");
  if (await deps.store.getSession(executionId)) {
    throw new GatewayError("CONFLICT", "a session with this execution_id already exists", {
      reason: "exists",
    });
  }
  const sub = (input.sub ?? input.agent_id) as string;
  const scp = (input.security_context_name ?? input.security_context) as string;
  const ttl = Math.min(input.ttl_seconds ?? deps.agentTokenTtlSeconds, 86_400);
  const { token, claims } = deps.tokens.mintAgentToken({
    sub,
    scp,
    wid: input.workload_id ?? `session:${executionId}`,
    tenantId,
    ttlSeconds: ttl,
    nowSeconds: Math.floor(nowMs / 1000),
    execId: executionId,
  });
  const row: SessionRow = {
    executionId,
    tenantId,
    sub,
    securityContext: scp,
    publicKeyB64: key.key.base64,
    allowedToolPatterns: input.allowed_tool_patterns ?? ["*"],
    tokenJti: claims.jti,
    status: "Active",
    createdAt: nowMs,
    expiresAt: claims.exp * 1000,
    revokedAt: null,
  };
  const event = deps.audit.event(
    controlEvent({
      eventType: "SessionCreated",
      tenantId,
      executionId,
      agentId: sub,
      payload: {
        actor: actor.sub,
        security_context: scp,
        allowed_tool_patterns: row.allowedToolPatterns,
        expires_at: iso(row.expiresAt),
        token_jti: claims.jti,
      },
    }),
  );
  try {
    await deps.store.audited(event, "insertSession", row);
  } catch (err) {
    // Two creates racing on one execution_id: the unique key decides, and the loser's session
    // and event are both rolled back.
    if (err instanceof GatewayError && err.code === "CONFLICT")
      throw new GatewayError("CONFLICT", "a session with this execution_id already exists", {
        reason: "exists",
      });
    throw err;
  }
  return { status: "success", ...sessionView(row, nowMs), security_token: token, session_status: "Active" };
}

export const SessionQuery = z.strictObject({
  status: z.enum(["Active", "Revoked", "Expired"]).optional(),
  tenant_id: TenantId.optional(),
  ...PageQuery,
});
export type SessionQuery = z.infer<typeof SessionQuery>;

/** Sessions page by (created_at, execution_id), oldest first. */
const SESSION_CURSOR = createdCursor("ses");

export async function listSessions({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(SessionQuery, input, "invalid_query");
  const { deps } = ctx;
  const now = deps.clock.nowMs();
  // Expiry is computed at read time (the stored status stays Active): the store judges it at
  // `now` as the view does, so a filtered page is full.
  const rows = await deps.store.listSessions(listingTenant(actor, q.tenant_id), q.status, {
    at: now,
    page: storePage(q.limit, SESSION_CURSOR.decode(q.cursor)),
  });
  const page = pageOf(rows, q.limit, SESSION_CURSOR, (r) => ({ createdAt: r.createdAt, id: r.executionId }));
  return { sessions: page.rows.map((r) => sessionView(r, now)), next_cursor: page.next_cursor };
}

export async function getSession({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id: executionId } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await deps.store.getSession(executionId);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("session");
  return sessionView(row, deps.clock.nowMs());
}

async function killContainers(deps: SessionDeps, executionId: string): Promise<number> {
  return await killCliContainers(deps.cli, deps.log, sessionContainers(executionId), "session");
}

export async function revokeSession({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id: executionId } = parseInput(ById, input);
  const { deps } = ctx;
  const existing = await deps.store.getSession(executionId);
  if (!existing || !canSee(actor, existing.tenantId)) throw notFound("session");
  const now = deps.clock.nowMs();
  // A running CLI container of the session is killed (DESIGN §4): once before the revocation,
  // so its count is in the row, and once after, for a call that started a container between.
  const killed = await killContainers(deps, executionId);
  const event = deps.audit.event(
    controlEvent({
      eventType: "SessionRevoked",
      tenantId: existing.tenantId,
      executionId,
      agentId: existing.sub,
      payload: {
        actor: actor.sub,
        previous_status: existing.status,
        ...(killed > 0 ? { killed_containers: killed } : {}),
      },
    }),
  );
  const row = await deps.store.audited(event, "revokeSession", executionId, now);
  if (!row) throw notFound("session");
  // Revoked first, then stopped: a run aborted now cannot be retried into the session.
  deps.inflight?.revokeSession(executionId);
  const late = await killContainers(deps, executionId);
  return {
    status: "success",
    execution_id: executionId,
    session_status: row.status,
    revoked_at: iso(row.revokedAt),
    ...(killed + late > 0 ? { killed_containers: killed + late } : {}),
  };
}
