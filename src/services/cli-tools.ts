import { z } from "zod";
import type { CliSettings } from "../engines/cli/container-spec.js";
import { CliToolDefinition, cliCommand, isPinnedImage } from "../engines/cli/definition.js";
import type { CliJudge } from "../engines/cli/judge.js";
import type { ContainerRuntime } from "../engines/cli/runtime.js";
import { sha256Canonical } from "../engines/workflow/compile.js";
import { compileInputSchema } from "../engines/workflow/input-schema.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { commandTokenProblem } from "../policy/commands.js";
import type { AuditedWrites, CliToolRow, CliToolStore, ToolStore } from "../store/types.js";
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
  TenantId,
  type VerbCall,
  type WithStore,
} from "./context.js";
import { ListingQuery, nameCursor, pageOf, storePage } from "./pagination.js";
import { nameTaken, refuseHeldName, reservedNameProblems } from "./tool-names.js";

/**
 * CLI tools (DESIGN §5): container-engine tools registered by an operator and called by agents.
 * Names are one namespace across tool kinds: a CLI tool may not take a workflow's name, the
 * explorer's or a native one, and workflows refuse CLI tools' names in turn.
 */

/** The container engine a gateway runs CLI tools on, built once by the composition root. */
export interface CliEngine {
  runtime: ContainerRuntime;
  settings: CliSettings;
  /** Present when `judge.url` is configured; tools requiring a judge fail closed without it. */
  judge?: CliJudge;
  /** `dev_mode`: image tags are accepted, with a warning. */
  devMode: boolean;
}

export type CliToolDeps = WithStore<ToolStore & CliToolStore & AuditedWrites>;

/** An id names a tool by `clt_…`; anything else in that path position is a name (manifests). */
const ID_PREFIX = "clt_";

type Problem = { path: string; message: string };

function invalid(problems: Problem[]) {
  return new GatewayError("BAD_REQUEST", "the CLI tool is invalid", { reason: "invalid_body", problems });
}

export function cliToolView(row: CliToolRow, warnings: readonly string[] = []) {
  return {
    id: row.id,
    ...(JSON.parse(row.document) as object),
    tenant_id: row.tenantId,
    hash: row.hash,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
  };
}

/** Checks a definition: the engine's schema, then the registration rules; every problem at once. */
function readDefinition(deps: CliToolDeps, actor: Principal, body: unknown) {
  let requested: string | undefined;
  let raw = body;
  if (typeof body === "object" && body !== null && !Array.isArray(body) && "tenant_id" in body) {
    const { tenant_id, ...rest } = body as Record<string, unknown>;
    const tenant = TenantId.safeParse(tenant_id);
    if (!tenant.success) throw invalid([{ path: "tenant_id", message: "must be a tenant name" }]);
    requested = tenant.data;
    raw = rest;
  }
  const tenantId = actingTenant(actor, requested);
  const def = parseInput(CliToolDefinition, raw);
  const problems: Problem[] = [];
  const warnings: string[] = [];
  problems.push(...reservedNameProblems(def.name));
  if (def.name.startsWith(ID_PREFIX))
    problems.push({ path: "name", message: `${ID_PREFIX}* names would read as tool ids` });
  const commandProblem = commandTokenProblem(cliCommand(def));
  if (commandProblem && def.command === undefined)
    problems.push({ path: "name", message: `its last segment is not a usable command (${commandProblem})` });
  if (def.args_schema !== undefined) {
    // The schema of the `args` array; checked now so the first call cannot discover it broken.
    const compiled = compileInputSchema(def.args_schema);
    if (!compiled.ok)
      problems.push(
        ...compiled.problems.map((p) => ({
          path: `args_schema${p.path.replace(/^\$/, "")}`,
          message: p.message,
        })),
      );
  }
  if (!isPinnedImage(def.docker_image)) {
    // A tag can be moved to other bytes after review; only dev mode runs what it names today.
    if (deps.cli?.devMode) {
      warnings.push(
        `docker_image ${JSON.stringify(def.docker_image)} is a tag, not pinned by digest: accepted in dev_mode only`,
      );
    } else {
      problems.push({
        path: "docker_image",
        message:
          "must be pinned: name@sha256:<digest> or a local image id sha256:<id> (a tag only in dev_mode)",
      });
    }
  }
  if (problems.length > 0) throw invalid(problems);
  return { def, tenantId, warnings, document: JSON.stringify(def) };
}

function changeEvent(
  deps: CliToolDeps,
  actor: Principal,
  row: CliToolRow,
  eventType: "CliToolRegistered" | "CliToolUpdated" | "CliToolDeleted",
  warnings: readonly string[] = [],
) {
  const { docker_image } = JSON.parse(row.document) as { docker_image?: unknown };
  return deps.audit.event(
    controlEvent({
      eventType,
      tenantId: row.tenantId,
      toolName: row.name,
      payload: {
        actor: actor.sub,
        cli_tool_id: row.id,
        name: row.name,
        hash: row.hash,
        docker_image,
        ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
      },
    }),
  );
}

function logWarnings(deps: CliToolDeps, row: CliToolRow, warnings: readonly string[]) {
  for (const warning of warnings)
    deps.log.warn("cli tool registered with a warning", { tool: row.name, tenant: row.tenantId, warning });
}

/** The 409 of an insert that did nothing: names the kind that holds the name now. */
async function raceLost(deps: CliToolDeps, tenantId: string, name: string): Promise<GatewayError> {
  const workflow = await deps.store.getWorkflowByName(tenantId, name);
  return nameTaken(name, workflow ? "workflow" : "cli", "cli");
}

export async function createCliTool({ ctx, input: body }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const deps: CliToolDeps = ctx.deps;
  const { def, tenantId, warnings, document } = readDefinition(deps, actor, body);
  await refuseHeldName(deps.store, tenantId, def.name, "cli");
  const now = deps.clock.nowMs();
  const row: CliToolRow = {
    id: newId("clt"),
    tenantId,
    name: def.name,
    document,
    hash: sha256Canonical(def),
    createdAt: now,
    updatedAt: now,
  };
  // The database decides a race between two registrations of one name, of any kind: the
  // insert then does nothing (tool_names, src/services/tool-names.ts).
  if (
    !(await deps.store.audited(
      changeEvent(deps, actor, row, "CliToolRegistered", warnings),
      "insertCliTool",
      row,
    ))
  )
    throw await raceLost(deps, tenantId, def.name);
  logWarnings(deps, row, warnings);
  return cliToolView(row, warnings);
}

/** `{id}` path position: a `clt_…` id, or a tool name in the acting tenant (as manifests send). */
export const ToolRef = z.strictObject({ id: z.string().min(1), tenant_id: TenantId.optional() });

async function visibleCliTool(deps: CliToolDeps, actor: Principal, input: z.infer<typeof ToolRef>) {
  const row = input.id.startsWith(ID_PREFIX)
    ? await deps.store.getCliTool(input.id)
    : // By name, an admin across tenants names the tenant (default "default"), as a write does.
      await deps.store.getCliToolByName(actingTenant(actor, input.tenant_id), input.id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("CLI tool");
  return row;
}

export async function getCliTool({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const ref = parseInput(ToolRef, input);
  return cliToolView(await visibleCliTool(ctx.deps, actor, ref));
}

/** CLI tools page by (tenant_id, name). */
const CLI_TOOL_CURSOR = nameCursor("clt");

export async function listCliTools({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const rows = await ctx.deps.store.listCliTools(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, CLI_TOOL_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, CLI_TOOL_CURSOR, (r) => ({ tenantId: r.tenantId, name: r.name }));
  return { cli_tools: page.rows.map((r) => cliToolView(r)), next_cursor: page.next_cursor };
}

/** PUT input: the tool named by the path, and its whole new definition. */
const UpdateCliTool = ToolRef.extend({ definition: z.unknown() });

export async function updateCliTool({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { definition: body, ...ref } = parseInput(UpdateCliTool, input);
  const deps: CliToolDeps = ctx.deps;
  const existing = await visibleCliTool(deps, actor, ref);
  const { def, tenantId, warnings, document } = readDefinition(deps, actor, body);
  if (tenantId !== existing.tenantId || def.name !== existing.name) {
    throw invalid([
      { path: "name", message: "must equal the CLI tool's name (a tool cannot be renamed or moved)" },
    ]);
  }
  const row: CliToolRow = {
    ...existing,
    document,
    hash: sha256Canonical(def),
    updatedAt: deps.clock.nowMs(),
  };
  if (
    !(await deps.store.audited(
      changeEvent(deps, actor, row, "CliToolUpdated", warnings),
      "updateCliTool",
      row.id,
      row,
    ))
  )
    throw notFound("CLI tool");
  logWarnings(deps, row, warnings);
  return cliToolView(row, warnings);
}

export async function deleteCliTool({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const ref = parseInput(ToolRef, input);
  const deps: CliToolDeps = ctx.deps;
  const row = await visibleCliTool(deps, actor, ref);
  if (!(await deps.store.audited(changeEvent(deps, actor, row, "CliToolDeleted"), "deleteCliTool", row.id)))
    throw notFound("CLI tool");
  return { status: "success", id: row.id };
}
