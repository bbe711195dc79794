import { z } from "zod";
import { ERROR_TABLE, GatewayError } from "../errors.js";
import { parseSecurityContext, type SecurityContext } from "../policy/context-schema.js";
import { evaluate } from "../policy/evaluate.js";
import type { PlainJson } from "../seal/json.js";
import type { SecurityContextRow } from "../store/types.js";
import {
  actingTenant,
  canSee,
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
} from "./context.js";
import { ListingQuery, nameCursor, pageOf, storePage } from "./pagination.js";

/** Security contexts: CRUD (audited) and the dry-run evaluation operators write policies with. */

/** A context named by the path, in the caller's (or an admin's named) tenant. */
export const NameInTenant = z.strictObject({ name: z.string().min(1), tenant_id: TenantId.optional() });
/** PUT input: the context named by the path, and its whole new document. */
const UpdateContext = z.strictObject({ name: z.string().min(1), context: z.unknown() });

function invalid(problems: { path: string; message: string }[]) {
  return new GatewayError("BAD_REQUEST", "the security context is invalid", {
    reason: "invalid_body",
    problems,
  });
}

/** Validates a context document; a `tenant_id` member (admin "*" only) is taken out first. */
function readDocument(body: unknown): { context: SecurityContext; tenantId: string | undefined } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw invalid([{ path: "", message: "must be a JSON object" }]);
  const { tenant_id, ...doc } = body as Record<string, unknown>;
  if (tenant_id !== undefined && !TenantId.safeParse(tenant_id).success) {
    throw invalid([{ path: "tenant_id", message: "must be a tenant name" }]);
  }
  const parsed = parseSecurityContext(doc);
  if (!parsed.ok) throw invalid(parsed.problems);
  return { context: parsed.context, tenantId: tenant_id as string | undefined };
}

export function contextView(row: SecurityContextRow) {
  return {
    ...(JSON.parse(row.document) as object),
    tenant_id: row.tenantId,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

/** The ConfigChanged event a context change writes in its own transaction. */
function changeEvent(
  deps: ServiceDeps,
  actor: Principal,
  tenantId: string,
  action: "create" | "update" | "delete",
  name: string,
  document?: string,
) {
  return deps.audit.event(
    controlEvent({
      eventType: "ConfigChanged",
      tenantId,
      payload: {
        actor: actor.sub,
        object: "security_context",
        action,
        name,
        ...(document ? { document: JSON.parse(document) as unknown } : {}),
      },
    }),
  );
}

export async function createContext({ ctx, input: body }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { deps } = ctx;
  const { context, tenantId: requested } = readDocument(body);
  const tenantId = actingTenant(actor, requested);
  const now = deps.clock.nowMs();
  const document = JSON.stringify(context);
  if (await deps.store.getSecurityContext(tenantId, context.name)) {
    throw new GatewayError(
      "CONFLICT",
      `security context ${JSON.stringify(context.name)} already exists (use PUT)`,
      { reason: "exists" },
    );
  }
  const row = { tenantId, name: context.name, document, createdAt: now, updatedAt: now };
  const event = changeEvent(deps, actor, tenantId, "create", context.name, document);
  // A concurrent create of the name may win after the check above: then neither is written.
  if (!(await deps.store.audited(event, "insertSecurityContext", row))) {
    throw new GatewayError(
      "CONFLICT",
      `security context ${JSON.stringify(context.name)} already exists (use PUT)`,
      { reason: "exists" },
    );
  }
  return contextView(row);
}

/** Contexts page by (tenant_id, name). */
const CONTEXT_CURSOR = nameCursor("ctx");

export async function listContexts({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await deps.store.listSecurityContexts(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, CONTEXT_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, CONTEXT_CURSOR, (r) => ({ tenantId: r.tenantId, name: r.name }));
  return { security_contexts: page.rows.map(contextView), next_cursor: page.next_cursor };
}

async function visibleRow(deps: ServiceDeps, actor: Principal, name: string, tenant?: string) {
  const tenantId = actingTenant(actor, tenant);
  const row = await deps.store.getSecurityContext(tenantId, name);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("security context");
  return row;
}

export async function getContext({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { name, tenant_id: tenant } = parseInput(NameInTenant, input, "invalid_query");
  const { deps } = ctx;
  return contextView(await visibleRow(deps, actor, name, tenant));
}

export async function updateContext({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { name, context: body } = parseInput(UpdateContext, input);
  const { deps } = ctx;
  const { context, tenantId: requested } = readDocument(body);
  if (context.name !== name)
    throw invalid([
      { path: "name", message: "must equal the name in the path (a context cannot be renamed)" },
    ]);
  const existing = await visibleRow(deps, actor, name, requested);
  const document = JSON.stringify(context);
  const now = deps.clock.nowMs();
  const event = changeEvent(deps, actor, existing.tenantId, "update", name, document);
  if (!(await deps.store.audited(event, "updateSecurityContext", existing.tenantId, name, document, now)))
    throw notFound("security context");
  return contextView({ ...existing, document, updatedAt: now });
}

export async function deleteContext({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { name, tenant_id: tenant } = parseInput(NameInTenant, input, "invalid_query");
  const { deps } = ctx;
  const existing = await visibleRow(deps, actor, name, tenant);
  const inUse = await deps.store.countActiveSessionsForContext(existing.tenantId, name, deps.clock.nowMs());
  if (inUse > 0) {
    throw new GatewayError(
      "CONFLICT",
      `security context ${JSON.stringify(name)} is used by ${inUse} active session(s)`,
      { reason: "in_use", sessions: inUse },
    );
  }
  const event = changeEvent(deps, actor, existing.tenantId, "delete", name);
  if (!(await deps.store.audited(event, "deleteSecurityContext", existing.tenantId, name)))
    throw notFound("security context");
  return { status: "success", name, tenant_id: existing.tenantId };
}

export const EvaluateInput = z.strictObject({
  tool: z.string().min(1).max(256),
  arguments: z.record(z.string(), z.unknown()).default({}),
  sub: z.string().min(1).max(256).optional(),
  tenant_id: TenantId.optional(),
});
export type EvaluateInput = z.infer<typeof EvaluateInput>;

/** Dry run: the decision a call would get, with the deciding rule; nothing runs or counts. */
export async function evaluateContext({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { name, ...input } = parseInput(EvaluateInput.extend({ name: z.string().min(1) }), raw);
  const { deps } = ctx;
  const row = await visibleRow(deps, actor, name, input.tenant_id);
  const parsed = parseSecurityContext(JSON.parse(row.document));
  if (!parsed.ok)
    throw new GatewayError("INTERNAL", "the stored security context no longer validates", {
      reason: "invalid_stored_context",
    });
  const tool = await deps.tools.lookup(row.tenantId, input.tool);
  let info = tool?.info;
  if (tool?.infoFor) {
    // Per-call facts (e.g. the explorer's spec hosts); arguments that name nothing known
    // leave the tool-dependent constraints unchecked, as before lookup.
    info = await tool
      .infoFor(input.arguments as { [key: string]: PlainJson }, row.tenantId)
      .catch(() => undefined);
  }
  const decision = evaluate(
    parsed.context,
    { toolName: input.tool, arguments: input.arguments, ...(info ? { tool: info } : {}) },
    { phase: info ? "post-lookup" : "pre-lookup" },
  );
  return {
    decision: decision.decision,
    code: decision.code ? ERROR_TABLE[decision.code].seal : null,
    rule: decision.rule,
    reason: decision.reason,
    tool_registered: tool !== null,
    ...(input.sub ? { sub: input.sub } : {}),
  };
}
