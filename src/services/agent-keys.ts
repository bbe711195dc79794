import { z } from "zod";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { decodePublicKey } from "../seal/ed25519.js";
import type { AgentKeyRow } from "../store/types.js";
import { agentKeyContainers, killCliContainers } from "./cli-revocation.js";
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
} from "./context.js";
import { createdCursor, PageQuery, pageOf, storePage } from "./pagination.js";

/**
 * Registered agent keys: the `authorized_keys` of CI jobs and scripts without an identity
 * provider. Small-order and non-canonical keys are refused at registration (and again at use).
 */

const Jwk = z.strictObject({
  kty: z.string(),
  crv: z.string(),
  x: z.string().max(128),
  kid: z.string().max(128).optional(),
  use: z.string().optional(),
  alg: z.string().optional(),
});
export const RegisterAgentKeyInput = z
  .strictObject({
    sub: z.string().min(1).max(256),
    public_key_b64: z.string().max(512).optional(),
    jwk: Jwk.optional(),
    label: z.string().max(256).optional(),
    tenant_id: TenantId.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.public_key_b64 === undefined) === (v.jwk === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["public_key_b64"],
        message: "exactly one of public_key_b64 or jwk is required",
      });
    }
  });
export type RegisterAgentKeyInput = z.infer<typeof RegisterAgentKeyInput>;

export function agentKeyView(row: AgentKeyRow) {
  return {
    id: row.id,
    sub: row.sub,
    tenant_id: row.tenantId,
    public_key_b64: row.publicKeyB64,
    label: row.label,
    status: row.status,
    created_at: iso(row.createdAt),
    revoked_at: iso(row.revokedAt),
  };
}

export async function registerAgentKey({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const input = parseInput(RegisterAgentKeyInput, raw);
  const { deps } = ctx;
  const tenantId = actingTenant(actor, input.tenant_id);
  const decoded = decodePublicKey(input.public_key_b64 ?? input.jwk);
  if (!decoded.ok) throw new GatewayError("BAD_REQUEST", decoded.message, { reason: "bad_key" });
  const row: AgentKeyRow = {
    id: newId("akey"),
    tenantId,
    sub: input.sub,
    publicKeyB64: decoded.key.base64,
    label: input.label ?? null,
    status: "active",
    createdAt: deps.clock.nowMs(),
    revokedAt: null,
  };
  const event = deps.audit.event(
    controlEvent({
      eventType: "AgentKeyRegistered",
      tenantId,
      agentId: row.sub,
      payload: { actor: actor.sub, key_id: row.id, public_key_b64: row.publicKeyB64 },
    }),
  );
  await deps.store.audited(event, "insertAgentKey", row);
  return agentKeyView(row);
}

export const AgentKeyQuery = z.strictObject({
  sub: z.string().min(1).max(256).optional(),
  tenant_id: TenantId.optional(),
  ...PageQuery,
});
export type AgentKeyQuery = z.infer<typeof AgentKeyQuery>;

/** Agent keys page by (created_at, id), oldest first. */
const AGENT_KEY_CURSOR = createdCursor("akey");

export async function listAgentKeys({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(AgentKeyQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await deps.store.listAgentKeys(
    listingTenant(actor, q.tenant_id),
    q.sub,
    storePage(q.limit, AGENT_KEY_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, AGENT_KEY_CURSOR, (r) => ({ createdAt: r.createdAt, id: r.id }));
  return { agent_keys: page.rows.map(agentKeyView), next_cursor: page.next_cursor };
}

export async function getAgentKey({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await deps.store.getAgentKey(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("agent key");
  return agentKeyView(row);
}

export async function revokeAgentKey({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const existing = await deps.store.getAgentKey(id);
  if (!existing || !canSee(actor, existing.tenantId)) throw notFound("agent key");
  // Running CLI containers of calls bound by this agent's registered keys are killed: once
  // before the revocation (counted in its row) and once after, for a call that created its
  // container in between. The envelope does not say which of the agent's active keys signed
  // it, so every key-bound call of the agent goes — erring toward the revocation.
  const labels = agentKeyContainers(existing.tenantId, existing.sub);
  const killed = await killCliContainers(deps.cli, deps.log, labels, "agent key");
  const event = deps.audit.event(
    controlEvent({
      eventType: "AgentKeyRevoked",
      tenantId: existing.tenantId,
      agentId: existing.sub,
      payload: { actor: actor.sub, key_id: id, ...(killed > 0 ? { killed_containers: killed } : {}) },
    }),
  );
  const row = await deps.store.audited(event, "revokeAgentKey", id, deps.clock.nowMs());
  if (!row) throw notFound("agent key");
  deps.inflight?.revokeAgentKeys(existing.tenantId, existing.sub);
  const late = await killCliContainers(deps.cli, deps.log, labels, "agent key");
  return { ...agentKeyView(row), ...(killed + late > 0 ? { killed_containers: killed + late } : {}) };
}
