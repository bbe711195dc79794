import { z } from "zod";
import { sha256Canonical, validateAgainstSpec } from "../engines/workflow/compile.js";
import { parseWorkflowDefinition, type WorkflowDefinition } from "../engines/workflow/definition.js";
import { OutcomeRows } from "../engines/workflow/events.js";
import { workflowHints } from "../engines/workflow/hints.js";
import { runWorkflow } from "../engines/workflow/runner.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { PlainJson } from "../seal/json.js";
import type { AuditedWrites, CliToolStore, ToolStore, WorkflowRow } from "../store/types.js";
import { callInfo, type RegisteredTool, type ToolSource } from "../tools/registry.js";
import { dereferenceSchema } from "../tools/schema-deref.js";
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
  type VerbCall,
  type WithStore,
} from "./context.js";
import { ListingQuery, nameCursor, pageOf, storePage } from "./pagination.js";
import { nameTaken, refuseHeldName, reservedNameProblems } from "./tool-names.js";

/** Workflows: compositions of a spec's operations that agents call as one tool. */

// CLI tools share the tool namespace: registration reads their names too.
export type WorkflowDeps = WithStore<ToolStore & CliToolStore & AuditedWrites>;

function invalid(problems: { path: string; message: string }[]) {
  return new GatewayError("BAD_REQUEST", "the workflow is invalid", { reason: "invalid_body", problems });
}

export function workflowView(row: WorkflowRow) {
  return {
    id: row.id,
    ...(JSON.parse(row.document) as object),
    tenant_id: row.tenantId,
    hash: row.hash,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

/** Reads and checks a definition against its spec; every problem at once. */
async function readDefinition(
  deps: WorkflowDeps,
  actor: Principal,
  body: unknown,
): Promise<{ def: WorkflowDefinition; tenantId: string; document: string }> {
  let requested: string | undefined;
  let raw = body;
  if (typeof body === "object" && body !== null && !Array.isArray(body) && "tenant_id" in body) {
    const { tenant_id, ...rest } = body as Record<string, unknown>;
    if (typeof tenant_id !== "string")
      throw invalid([{ path: "tenant_id", message: "must be a tenant name" }]);
    requested = tenant_id;
    raw = rest;
  }
  const tenantId = actingTenant(actor, requested);
  const parsed = parseWorkflowDefinition(raw);
  if (!parsed.ok) throw invalid(parsed.problems);
  const def = parsed.def;
  // Every problem at once: a reserved name does not hide the definition's other faults.
  const problems: { path: string; message: string }[] = [];
  problems.push(...reservedNameProblems(def.name));
  const specRow = await deps.store.getSpecMeta(def.api_spec_id);
  if (!specRow || specRow.tenantId !== tenantId)
    throw invalid([...problems, { path: "api_spec_id", message: "no such spec in this tenant" }]);
  problems.push(...validateAgainstSpec(def, await deps.specs.spec(specRow)));
  // MCP tools/list shows schemas without $ref (DESIGN §7): a schema that cannot be inlined is
  // refused now, not discovered by the first client that lists it.
  if (!problems.some((p) => p.path.startsWith("$.input_schema"))) {
    const inlined = dereferenceSchema(def.input_schema as PlainJson);
    if (!inlined.ok) problems.push({ path: "$.input_schema", message: inlined.message });
  }
  if (problems.length > 0) throw invalid(problems);
  return { def, tenantId, document: JSON.stringify(def) };
}

/** The event a workflow change writes in its own transaction. */
function changeEvent(
  deps: WorkflowDeps,
  actor: Principal,
  row: WorkflowRow,
  eventType: "WorkflowRegistered" | "WorkflowUpdated" | "WorkflowDeleted",
) {
  return deps.audit.event(
    controlEvent({
      eventType,
      tenantId: row.tenantId,
      toolName: row.name,
      payload: {
        actor: actor.sub,
        workflow_id: row.id,
        name: row.name,
        hash: row.hash,
        api_spec_id: row.apiSpecId,
      },
    }),
  );
}

// The same hash the engine records in WorkflowInvocationStarted: one name per definition.
const hashOf = (document: string) => sha256Canonical(JSON.parse(document));

/** PUT input: the workflow named by the path, and its whole new definition. */
const UpdateWorkflow = z.strictObject({ id: z.string().min(1), definition: z.unknown() });

export async function createWorkflow({ ctx, input: body }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { deps } = ctx;
  const { def, tenantId, document } = await readDefinition(deps, actor, body);
  await refuseHeldName(deps.store, tenantId, def.name, "workflow");
  const now = deps.clock.nowMs();
  const row: WorkflowRow = {
    id: newId("wf"),
    tenantId,
    name: def.name,
    description: def.description,
    apiSpecId: def.api_spec_id,
    document,
    hash: hashOf(document),
    createdAt: now,
    updatedAt: now,
  };
  // A concurrent create of the name (of any tool kind: tool_names) may win after the check
  // above: then neither the workflow nor its event is written.
  if (
    !(await deps.store.audited(changeEvent(deps, actor, row, "WorkflowRegistered"), "insertWorkflow", row))
  ) {
    const cli = await deps.store.getCliToolByName(tenantId, def.name);
    throw nameTaken(def.name, cli ? "cli" : "workflow", "workflow");
  }
  return workflowView(row);
}

async function visibleWorkflow(deps: WorkflowDeps, actor: Principal, id: string): Promise<WorkflowRow> {
  const row = await deps.store.getWorkflow(id);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("workflow");
  return row;
}

export async function getWorkflow({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  return workflowView(await visibleWorkflow(deps, actor, id));
}

/** Workflows page by (tenant_id, name). */
const WORKFLOW_CURSOR = nameCursor("wf");

export async function listWorkflows({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(ListingQuery, input, "invalid_query");
  const { deps } = ctx;
  const rows = await deps.store.listWorkflows(
    listingTenant(actor, q.tenant_id),
    storePage(q.limit, WORKFLOW_CURSOR.decode(q.cursor)),
  );
  const page = pageOf(rows, q.limit, WORKFLOW_CURSOR, (r) => ({ tenantId: r.tenantId, name: r.name }));
  return { workflows: page.rows.map(workflowView), next_cursor: page.next_cursor };
}

export async function updateWorkflow({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id, definition: body } = parseInput(UpdateWorkflow, input);
  const { deps } = ctx;
  const existing = await visibleWorkflow(deps, actor, id);
  const { def, tenantId, document } = await readDefinition(deps, actor, body);
  if (tenantId !== existing.tenantId || def.name !== existing.name) {
    throw invalid([
      { path: "name", message: "must equal the workflow's name (a workflow cannot be renamed or moved)" },
    ]);
  }
  const now = deps.clock.nowMs();
  const row: WorkflowRow = {
    ...existing,
    description: def.description,
    apiSpecId: def.api_spec_id,
    document,
    hash: hashOf(document),
    updatedAt: now,
  };
  if (
    !(await deps.store.audited(changeEvent(deps, actor, row, "WorkflowUpdated"), "updateWorkflow", id, row))
  )
    throw notFound("workflow");
  return workflowView(row);
}

export async function deleteWorkflow({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  const { id } = parseInput(ById, input);
  const { deps } = ctx;
  const row = await visibleWorkflow(deps, actor, id);
  if (!(await deps.store.audited(changeEvent(deps, actor, row, "WorkflowDeleted"), "deleteWorkflow", id)))
    throw notFound("workflow");
  return { status: "success", id };
}

/** Workflows as tools: looked up by tenant and name on every call (an update applies at once). */
export function workflowTools(deps: WorkflowDeps): ToolSource {
  const defs = new Map<string, WorkflowDefinition>();
  const definition = (row: WorkflowRow): WorkflowDefinition => {
    const hit = defs.get(row.hash);
    if (hit) return hit;
    const parsed = parseWorkflowDefinition(JSON.parse(row.document));
    if (!parsed.ok)
      throw new GatewayError("INTERNAL", "a stored workflow no longer validates", {
        reason: "invalid_stored_workflow",
      });
    if (defs.size > 1000) defs.clear();
    defs.set(row.hash, parsed.def);
    return parsed.def;
  };
  const toTool = async (row: WorkflowRow): Promise<RegisteredTool | null> => {
    const specRow = await deps.store.getSpecMeta(row.apiSpecId);
    if (!specRow) return null;
    const def = definition(row);
    return {
      name: row.name,
      description: row.description,
      inputSchema: def.input_schema as PlainJson,
      info: { kind: "workflow", upstreamHosts: specRow.allowedHosts },
      definitionHash: row.hash,
      hints: async () => workflowHints(def, await deps.specs.spec(specRow)),
      // The runner awaits the call's ToolCallAuthorized with its WorkflowInvocationStarted.
      joinsRowsBefore: true,
      async run(ctx) {
        const spec = await deps.specs.spec(specRow);
        const rows = new OutcomeRows();
        const out = await runWorkflow({
          rows,
          ...(ctx.rowsBefore ? { rowsBefore: ctx.rowsBefore } : {}),
          def,
          spec,
          input: ctx.arguments,
          egress: deps.egress,
          credentials: deps.credentials,
          emit: async (type, payload, rowOpts) => {
            await deps.audit.record(
              {
                eventType: type,
                tenantId: ctx.tenantId,
                executionId: ctx.executionId,
                callId: ctx.callId,
                agentId: ctx.sub,
                toolName: row.name,
                decision: null,
                stage: "execute",
                code: null,
                requestId: null,
                payload: { ...payload, spec_id: specRow.id },
              },
              rowOpts,
            );
          },
          ids: { workflowId: row.id, executionId: ctx.executionId },
          tenantId: ctx.tenantId,
          call: callInfo(ctx, row.name),
          credentialPath: specRow.credentialPath ? (JSON.parse(specRow.credentialPath) as unknown) : null,
          signal: ctx.signal,
          now: () => deps.clock.nowMs(),
          allowedHosts: specRow.allowedHosts,
          ...(specRow.baseUrl ? { baseUrl: specRow.baseUrl } : {}),
        });
        const recorded = rows.settled();
        // Awaited by the pipeline; marked handled so a call that ends early (a timeout) cannot
        // leave it as an unhandled rejection.
        recorded.catch(() => undefined);
        return { result: out as unknown as PlainJson, isError: false, recorded };
      },
    };
  };
  return {
    async lookup(tenantId, name) {
      const row = await deps.store.getWorkflowByName(tenantId, name);
      return row ? await toTool(row) : null;
    },
    async list(tenantId) {
      const rows = await deps.store.listWorkflows(tenantId);
      const tools = await Promise.all(rows.map(toTool));
      return tools.filter((t): t is RegisteredTool => t !== null);
    },
  };
}
