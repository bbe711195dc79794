import { z } from "zod";
import { type BuiltinSecrets, secretValueProblem } from "../credentials/builtin-store.js";
import { parseCredentialPath, SecretKey, secretKeyProblem } from "../credentials/path.js";
import { GatewayError } from "../errors.js";
import type { SecretRow, ToolStore } from "../store/types.js";
import {
  actingTenant,
  controlEvent,
  iso,
  listingTenant,
  notFound,
  type Principal,
  parseInput,
  requireRole,
  type ServiceDeps,
  TenantId,
  type VerbCall,
  type WithStore,
} from "./context.js";
import { ListingQuery, nameCursor, pageOf, storePage } from "./pagination.js";

/**
 * The built-in secret store's API (DESIGN §4). Values are write-only: every answer and every
 * event carries the key, version, times and a keyed fingerprint — never the value. Writes and
 * deletes are admin-only; metadata is readable by every operator role, as it already is in
 * the events (SecretWritten) and in specs (their credential_path names the key).
 */

/** The built-in store does the writing (sealing, audited); the store is read for specs only. */
export type SecretDeps = WithStore<Pick<ToolStore, "listSpecs">>;

export const SECRETS_PREFIX = "/v1/secrets/";

/** A secret named by its key, in the caller's (or an admin's named) tenant. */
export const SecretInTenant = z.strictObject({ key: SecretKey, tenant_id: TenantId.optional() });

export const DeleteSecretInput = SecretInTenant.extend({
  force: z.enum(["true", "false"]).optional(),
});

export const PutSecretInput = SecretInTenant.extend({ value: z.unknown() });
export type PutSecretInput = z.infer<typeof PutSecretInput>;

function badKey(message: string): GatewayError {
  return new GatewayError("BAD_REQUEST", `the secret key is invalid: ${message}`, { reason: "invalid_key" });
}

/**
 * The key from the request path, exactly as sent. Keys never need percent-encoding, so any `%`
 * is refused: an encoded `/`, `.` or control character must not become part of a key after
 * routing decided what the path meant. The hostile key is never echoed.
 */
export function secretKeyFromPath(pathname: string): string {
  if (!pathname.startsWith(SECRETS_PREFIX)) throw badKey("missing");
  const key = pathname.slice(SECRETS_PREFIX.length);
  if (key.includes("%"))
    throw badKey(
      "percent-encoded characters are not allowed (keys use letters, digits, '.', '_', '-' and '/')",
    );
  const problem = secretKeyProblem(key);
  if (problem) throw badKey(problem);
  return key;
}

function store(deps: SecretDeps): BuiltinSecrets {
  const builtin = deps.credentials.builtin;
  if (!builtin) {
    throw new GatewayError("CREDENTIAL_UNAVAILABLE", "the built-in secret store is not configured", {
      reason: "backend_not_configured",
    });
  }
  return builtin;
}

export function secretView(row: SecretRow) {
  return {
    key: row.key,
    tenant_id: row.tenantId,
    status: "active",
    source: "builtin",
    version: row.version,
    created_at: iso(row.createdAt),
    rotated_at: iso(row.rotatedAt),
    fingerprint: row.fingerprint,
  };
}

/** The event a secret change writes in its own transaction: key and fingerprint, never the value. */
function changeEvent(
  deps: ServiceDeps,
  actor: Principal,
  tenantId: string,
  eventType: "SecretWritten" | "SecretDeleted",
  payload: Record<string, unknown>,
) {
  return deps.audit.event(controlEvent({ eventType, tenantId, payload: { actor: actor.sub, ...payload } }));
}

/** Writes a new version (the first, or a rotation). Returns the view and whether it was created. */
export async function putSecret({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "admin");
  const { key, tenant_id: tenant, ...input } = parseInput(PutSecretInput, raw);
  const { deps } = ctx;
  const builtin = store(deps);
  const tenantId = actingTenant(actor, tenant);
  const problem = input.value === undefined ? "is required" : secretValueProblem(input.value);
  if (problem !== null || typeof input.value !== "string") {
    throw new GatewayError("BAD_REQUEST", "the secret value is invalid", {
      reason: "invalid_body",
      problems: [{ path: "value", message: problem ?? "must be a string" }],
    });
  }
  const fingerprint = builtin.fingerprint(input.value);
  // No audit, no action: the event (key and fingerprint only) commits with the new version.
  const event = changeEvent(deps, actor, tenantId, "SecretWritten", { key, fingerprint });
  const row = await builtin.put(tenantId, key, input.value, deps.clock.nowMs(), event);
  return { created: row.version === 1, secret: secretView(row) };
}

export async function getSecret({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { key, tenant_id: tenant } = parseInput(SecretInTenant, input, "invalid_query");
  const { deps } = ctx;
  const row = await store(deps).get(actingTenant(actor, tenant), key);
  if (!row) throw notFound("secret");
  return secretView(row);
}

/** Secrets page by (tenant_id, key). */
const SECRET_CURSOR = nameCursor("sec");

export async function listSecrets({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await store(deps).list(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, SECRET_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, SECRET_CURSOR, (r) => ({ tenantId: r.tenantId, name: r.key }));
  return { secrets: page.rows.map(secretView), next_cursor: page.next_cursor };
}

/** Specs of the tenant whose credential_path reads this key (a StaticRef to it). */
async function referencingSpecs(deps: SecretDeps, tenantId: string, key: string) {
  const out: { id: string; name: string }[] = [];
  for (const spec of await deps.store.listSpecs(tenantId)) {
    if (spec.credentialPath === null) continue;
    const parsed = parseCredentialPath(JSON.parse(spec.credentialPath) as unknown);
    if (parsed.ok && "StaticRef" in parsed.path && parsed.path.StaticRef.key === key)
      out.push({ id: spec.id, name: spec.name });
  }
  return out;
}

/** Deletes every version. Refused (409) while a spec references the key, unless forced. */
export async function deleteSecret({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "admin");
  const { key, ...query } = parseInput(DeleteSecretInput, input, "invalid_query");
  const { deps } = ctx;
  const builtin = store(deps);
  const tenantId = actingTenant(actor, query.tenant_id);
  const row = await builtin.get(tenantId, key);
  if (!row) throw notFound("secret");
  const users = await referencingSpecs(deps, tenantId, key);
  const forced = query.force === "true";
  if (users.length > 0 && !forced) {
    throw new GatewayError(
      "CONFLICT",
      `the secret is referenced by ${users.length} spec(s); delete them first or pass force=true`,
      {
        reason: "in_use",
        specs: users,
      },
    );
  }
  const event = changeEvent(deps, actor, tenantId, "SecretDeleted", {
    key,
    fingerprint: row.fingerprint,
    version: row.version,
    forced,
    referenced_by: users.map((u) => u.id),
  });
  if (!(await builtin.delete(tenantId, key, event))) throw notFound("secret");
  return { status: "success", key, tenant_id: tenantId };
}
