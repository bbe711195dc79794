import { z } from "zod";
import { StaticRefBody } from "../credentials/path.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { ToolPattern } from "../policy/context-schema.js";
import type { CredentialBindingRow } from "../store/types.js";
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
import { createdCursor, ListingQuery, pageOf, storePage } from "./pagination.js";

/**
 * /v1/credential-bindings (DESIGN §4 UserBound): an operator binds (user, provider) in a
 * tenant to a secret reference, with grants naming the tools — and optionally the security
 * context — whose calls may use it. The user is matched against the verified `sub` of the
 * end user's token at call time, never against a claim of the agent. Values never pass here:
 * a binding names a secret, it does not hold one.
 */

const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "letters, digits, '.', '_', '-' and '/' (at most 128)");
const ContextName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "a security context name");
const Grants = z
  .array(z.strictObject({ tool_pattern: ToolPattern, security_context: ContextName.optional() }))
  .min(1, "a binding without grants could never be used: name the tools it serves (or delete the binding)")
  .max(100);
const grantRowsOf = (grants: z.infer<typeof Grants>) =>
  grants.map((g) => ({ toolPattern: g.tool_pattern, securityContext: g.security_context ?? null }));

export const CreateBindingInput = z.strictObject({
  user: z.string().min(1).max(256),
  /** Pins the issuer of the user's token (needed when the gateway trusts more than one). */
  issuer: z.string().min(1).max(512).optional(),
  provider: Name,
  secret: StaticRefBody,
  grants: Grants,
  tenant_id: TenantId.optional(),
});

export function bindingView(row: CredentialBindingRow) {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    user: row.userSub,
    ...(row.userIssuer ? { issuer: row.userIssuer } : {}),
    provider: row.provider,
    secret: {
      key: row.secretKey,
      ...(row.secretBackend ? { backend: row.secretBackend } : {}),
      ...(row.secretField ? { field: row.secretField } : {}),
    },
    grants: row.grants.map((g) => ({
      tool_pattern: g.toolPattern,
      ...(g.securityContext ? { security_context: g.securityContext } : {}),
    })),
    created_at: iso(row.createdAt),
    created_by: row.createdBy,
  };
}

const bindingEvent = (
  type: "CredentialBindingCreated" | "CredentialBindingUpdated" | "CredentialBindingDeleted",
  actorSub: string,
  row: CredentialBindingRow,
) =>
  controlEvent({
    eventType: type,
    tenantId: row.tenantId,
    payload: {
      actor: actorSub,
      binding_id: row.id,
      user: row.userSub,
      provider: row.provider,
      key: row.secretKey,
      grants: row.grants.length,
    },
  });

export async function createBinding({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const input = parseInput(CreateBindingInput, raw);
  const { deps } = ctx;
  const tenantId = actingTenant(actor, input.tenant_id);
  const row: CredentialBindingRow = {
    id: newId("cbd"),
    tenantId,
    userSub: input.user,
    userIssuer: input.issuer ?? null,
    provider: input.provider,
    secretKey: input.secret.key,
    secretBackend: input.secret.backend ?? null,
    secretField: input.secret.field ?? null,
    createdAt: deps.clock.nowMs(),
    createdBy: actor.sub,
    grants: grantRowsOf(input.grants),
  };
  const event = deps.audit.event(bindingEvent("CredentialBindingCreated", actor.sub, row));
  if (!(await deps.store.audited(event, "insertCredentialBinding", row)))
    throw new GatewayError(
      "CONFLICT",
      `user ${JSON.stringify(input.user.slice(0, 64))} already has a binding for provider ${input.provider} (delete it first)`,
      { reason: "exists" },
    );
  return bindingView(row);
}

/** Bindings page by (created_at, id), oldest first. */
const BINDING_CURSOR = createdCursor("cbd");

export async function listBindings({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const rows = await ctx.deps.store.listCredentialBindings(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, BINDING_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, BINDING_CURSOR, (r) => ({ createdAt: r.createdAt, id: r.id }));
  return { credential_bindings: page.rows.map(bindingView), next_cursor: page.next_cursor };
}

export async function getBinding({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id } = parseInput(ById, input);
  const row = await ctx.deps.store.getCredentialBinding(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("credential binding");
  return bindingView(row);
}

export const ReplaceGrantsInput = z.strictObject({ id: z.string().min(1), grants: Grants });

/** Replaces a binding's grants: revoking one is leaving it out (the next call is refused). */
export async function replaceGrants({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id, grants } = parseInput(ReplaceGrantsInput, input);
  const { deps } = ctx;
  const row = await deps.store.getCredentialBinding(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("credential binding");
  const next: CredentialBindingRow = { ...row, grants: grantRowsOf(grants) };
  const event = deps.audit.event(bindingEvent("CredentialBindingUpdated", actor.sub, next));
  if (!(await deps.store.audited(event, "replaceCredentialGrants", id, next.grants)))
    throw notFound("credential binding");
  return bindingView(next);
}

export async function deleteBinding({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await deps.store.getCredentialBinding(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("credential binding");
  const event = deps.audit.event(bindingEvent("CredentialBindingDeleted", actor.sub, row));
  if (!(await deps.store.audited(event, "deleteCredentialBinding", id))) throw notFound("credential binding");
  return { deleted: true, id };
}
