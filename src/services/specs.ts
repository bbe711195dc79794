import { createHash } from "node:crypto";
import { z } from "zod";
import { parseCredentialPath } from "../credentials/path.js";
import { loadSpec } from "../engines/openapi/load-spec.js";
import { baseUrlProblem, hostsOf } from "../engines/openapi/servers.js";
import type { IndexedSpec } from "../engines/openapi/types.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { canonicalJson } from "../seal/canonical.js";
import type { ApiSpecMeta, ApiSpecRow, AuditedWrites, ToolStore } from "../store/types.js";
import {
  actingTenant,
  ById,
  canSee,
  controlEvent,
  iso,
  listingTenant,
  notFound,
  type Principal,
  parseInput,
  requireRole,
  TenantId,
  type VerbCall,
  type WithStore,
} from "./context.js";
import { ListingQuery, nameCursor, pageOf, storePage } from "./pagination.js";

/** OpenAPI specs: registered once, indexed, and the hosts workflows may reach. */

const HOST =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$|^[0-9.]+$/;

export const RegisterSpecInput = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_.-]*$/, "lowercase letters, digits, '_', '.', '-'")
      .max(128),
    base_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    inline_json: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
    inline_yaml: z.string().optional(),
    source_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    credential_path: z.unknown().optional(),
    allowed_hosts: z
      .array(z.string().toLowerCase().regex(HOST, "a host name or IP literal"))
      .max(64)
      .optional(),
    tenant_id: TenantId.optional(),
  })
  .superRefine((v, ctx) => {
    const sources = [v.inline_json, v.inline_yaml, v.source_url].filter((x) => x !== undefined).length;
    if (sources !== 1)
      ctx.addIssue({
        code: "custom",
        path: ["inline_json"],
        message: "exactly one of inline_json, inline_yaml or source_url is required",
      });
  });
export type RegisterSpecInput = z.infer<typeof RegisterSpecInput>;

export type SpecDeps = WithStore<ToolStore & AuditedWrites>;

/**
 * Indexed specs by id and hash: indexing a large spec takes far longer than a call, and its
 * document is read from the store only on a miss (calls read the spec's metadata only).
 */
export class SpecCache {
  private readonly entries = new Map<string, IndexedSpec>();

  constructor(
    private readonly store: Pick<ToolStore, "getSpec">,
    private readonly max = 64,
  ) {}

  async spec(meta: ApiSpecMeta): Promise<IndexedSpec> {
    const key = `${meta.id}:${meta.hash}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const row = "document" in meta ? (meta as ApiSpecRow) : await this.store.getSpec(meta.id);
    if (!row || row.hash !== meta.hash)
      throw new GatewayError("TOOL_NOT_FOUND", "the tool's spec no longer exists", { reason: "spec_gone" });
    const loaded = loadSpec({
      inline_json: row.document,
      ...(row.sourceUrl ? { source_url: row.sourceUrl } : {}),
      // Checked against the limit when it was registered: a limit lowered since then must not
      // turn a stored spec (and every call of its tools) into an error.
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (!loaded.ok)
      throw new GatewayError("INTERNAL", "a stored spec no longer loads", { reason: "invalid_stored_spec" });
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, loaded.spec);
    return loaded.spec;
  }
}

export function specView(row: ApiSpecRow, spec?: IndexedSpec) {
  return {
    id: row.id,
    name: row.name,
    tenant_id: row.tenantId,
    hash: row.hash,
    base_url: row.baseUrl,
    allowed_hosts: row.allowedHosts,
    credential_path: row.credentialPath ? (JSON.parse(row.credentialPath) as unknown) : null,
    source_url: row.sourceUrl,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    ...(spec
      ? {
          openapi: spec.openapi,
          title: spec.title,
          version: spec.apiVersion,
          operations: spec.operations.map((o) => ({
            operation_id: o.operationId,
            method: o.method.toUpperCase(),
            path: o.pathTemplate,
          })),
        }
      : {}),
  };
}

async function fetchSource(deps: SpecDeps, url: string): Promise<string> {
  const host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, "");
  // The operator named this URL, so its host is allowed; its address still has to pass.
  let res: Awaited<ReturnType<typeof deps.egress.request>>;
  try {
    res = await deps.egress.request({
      method: "GET",
      url,
      allowedHosts: [host],
      headers: { accept: "application/json, application/yaml, text/yaml, */*" },
      maxResponseBytes: deps.maxSpecBytes,
    });
  } catch (err) {
    // The operator's input was too large, not the upstream at fault: answered like an inline one.
    if (err instanceof GatewayError && err.details.reason === "response_too_large") {
      const max = Number(err.details.max_bytes ?? deps.maxSpecBytes);
      throw new GatewayError("BAD_REQUEST", "the spec is invalid", {
        reason: "invalid_spec",
        problems: [{ path: "source_url", message: `the spec is larger than ${max} bytes` }],
      });
    }
    throw err;
  }
  if (res.status < 200 || res.status > 299) {
    throw new GatewayError("BAD_REQUEST", `source_url answered HTTP ${res.status}`, {
      reason: "source_fetch_failed",
      status: res.status,
    });
  }
  return res.body.toString("utf8");
}

export async function createSpec({ ctx, input: raw }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const input = parseInput(RegisterSpecInput, raw);
  const { deps } = ctx;
  const tenantId = actingTenant(actor, input.tenant_id);
  let credentialPath: string | null = null;
  if (input.credential_path !== undefined && input.credential_path !== null) {
    const parsed = parseCredentialPath(input.credential_path);
    if (!parsed.ok)
      throw new GatewayError("BAD_REQUEST", "the credential_path is invalid", {
        reason: "invalid_body",
        problems: parsed.problems,
      });
    credentialPath = JSON.stringify(parsed.path);
  }
  // Checked as calls will check it (a host spelled unlike its parsed form, userinfo, a query):
  // refused here, not accepted and then failing every call.
  const baseUrlWhy = input.base_url ? baseUrlProblem(input.base_url) : null;
  if (baseUrlWhy)
    throw new GatewayError("BAD_REQUEST", "the base_url is invalid", {
      reason: "invalid_body",
      problems: [{ path: "base_url", message: `base_url ${baseUrlWhy}` }],
    });
  const text = input.source_url ? await fetchSource(deps, input.source_url) : undefined;
  const loaded = loadSpec({
    ...(input.inline_json !== undefined ? { inline_json: input.inline_json } : {}),
    ...(input.inline_yaml !== undefined ? { inline_yaml: input.inline_yaml } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(input.source_url ? { source_url: input.source_url } : {}),
    maxBytes: deps.maxSpecBytes,
  });
  if (!loaded.ok)
    throw new GatewayError("BAD_REQUEST", "the spec is invalid", {
      reason: "invalid_spec",
      problems: loaded.problems,
    });
  const spec = loaded.spec;
  const hosts = new Set(input.allowed_hosts ?? hostsOf(spec));
  if (input.base_url) hosts.add(new URL(input.base_url).hostname.toLowerCase().replace(/^\[|\]$/g, ""));
  if (hosts.size === 0) {
    throw new GatewayError("BAD_REQUEST", "the spec names no server host: give base_url or allowed_hosts", {
      reason: "invalid_body",
      problems: [{ path: "base_url", message: "required when the spec has no absolute server URL" }],
    });
  }
  const document = JSON.stringify(spec.document);
  const now = deps.clock.nowMs();
  const row: ApiSpecRow = {
    id: newId("spec"),
    tenantId,
    name: input.name,
    document,
    // The form the workflow engine records as `spec_hash`, so an invocation event names the
    // registered version an auditor can look up.
    hash: `sha256:${createHash("sha256").update(canonicalJson(spec.document)).digest("hex")}`,
    baseUrl: input.base_url ?? null,
    allowedHosts: [...hosts],
    credentialPath,
    sourceUrl: input.source_url ?? null,
    createdAt: now,
    updatedAt: now,
  };
  if (await deps.store.getSpecByName(tenantId, input.name))
    throw new GatewayError("CONFLICT", `a spec named ${JSON.stringify(input.name)} already exists`, {
      reason: "exists",
    });
  const event = deps.audit.event(
    controlEvent({
      eventType: "ApiSpecRegistered",
      tenantId,
      payload: {
        actor: actor.sub,
        spec_id: row.id,
        name: row.name,
        hash: row.hash,
        operations: spec.operations.length,
        allowed_hosts: row.allowedHosts,
        credential_path: credentialPath ? JSON.parse(credentialPath) : null,
      },
    }),
  );
  // A concurrent registration of the name may win after the check above: then neither the spec
  // nor its event is written.
  if (!(await deps.store.audited(event, "insertSpec", row)))
    throw new GatewayError("CONFLICT", `a spec named ${JSON.stringify(input.name)} already exists`, {
      reason: "exists",
    });
  return specView(row, spec);
}

/** Specs page by (tenant_id, name). */
const SPEC_CURSOR = nameCursor("spec");

export async function listSpecs({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await deps.store.listSpecs(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, SPEC_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, SPEC_CURSOR, (r) => ({ tenantId: r.tenantId, name: r.name }));
  return { specs: page.rows.map((r) => specView(r)), next_cursor: page.next_cursor };
}

export async function visibleSpec(deps: SpecDeps, actor: Principal, id: string): Promise<ApiSpecRow> {
  const row = await deps.store.getSpec(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("spec");
  return row;
}

export async function getSpec({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await visibleSpec(deps, actor, id);
  return specView(row, await deps.specs.spec(row));
}

export async function deleteSpec({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await visibleSpec(deps, actor, id);
  const users = await deps.store.countWorkflowsForSpec(id);
  if (users > 0) {
    // Name the referrers (a workflow lives in its spec's tenant), so the operator knows what
    // to delete or re-point first.
    const names = (await deps.store.listWorkflows(row.tenantId))
      .filter((w) => w.apiSpecId === id)
      .map((w) => w.name)
      .sort();
    const shown = names.length > 0 ? `: ${names.map((n) => JSON.stringify(n)).join(", ")}` : "";
    throw new GatewayError("CONFLICT", `the spec is used by ${users} workflow(s)${shown}`, {
      reason: "in_use",
      workflows: users,
      workflow_names: names,
    });
  }
  const event = deps.audit.event(
    controlEvent({
      eventType: "ApiSpecDeleted",
      tenantId: row.tenantId,
      payload: { actor: actor.sub, spec_id: id, name: row.name, hash: row.hash },
    }),
  );
  let deleted: boolean;
  try {
    deleted = await deps.store.audited(event, "deleteSpec", id);
  } catch (err) {
    // A workflow registered after the count above keeps the spec (the foreign key refuses the
    // delete, which the store answers as a conflict): nothing was deleted or recorded.
    if (err instanceof GatewayError && err.code === "CONFLICT")
      throw new GatewayError("CONFLICT", "the spec is used by a workflow registered meanwhile", {
        reason: "in_use",
      });
    throw err;
  }
  if (!deleted) throw notFound("spec");
  return { status: "success", id };
}
