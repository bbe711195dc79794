import { z } from "zod";
import { type Scrubber, SecretSink, secretScrubber } from "../credentials/redaction.js";
import type { CallInfo } from "../credentials/types.js";
import { compileJsonPath, queryJsonPath } from "../engines/jsonpath/jsonpath.js";
import { buildRequest } from "../engines/openapi/build-request.js";
import { type RequestCredential, requestCredential } from "../engines/openapi/credential.js";
import { findOperation } from "../engines/openapi/load-spec.js";
import { resolveServerUrl } from "../engines/openapi/servers.js";
import type { SpecOperation } from "../engines/openapi/types.js";
import { type ErrorCode, GatewayError } from "../errors.js";
import type { PlainJson } from "../seal/json.js";
import { toPlain, tryParseJson } from "../seal/json.js";
import type { ApiSpecMeta } from "../store/types.js";
import type { RegisteredTool } from "../tools/registry.js";
import { canSee, type Principal, requireRole, type VerbCall } from "./context.js";
import type { SpecDeps } from "./specs.js";

/**
 * The explorer: call one operation of a registered spec and return only the JSONPath slices
 * asked for, so an agent reads a few fields of a multi-megabyte response. RFC 9535, no code
 * evaluation ever. Available to operators (`POST /v1/explorer`) and to agents (tool `explorer`).
 */

export const ExplorerInput = z.strictObject({
  api_spec_id: z.string().min(1).max(256),
  operation_id: z.string().min(1).max(256),
  parameters: z.record(z.string(), z.json()).default({}),
  fields: z.array(z.string().min(1).max(4096)).min(1).max(64),
});
export type ExplorerInput = z.infer<typeof ExplorerInput>;

export type ExplorerDeps = SpecDeps;

interface Target {
  row: ApiSpecMeta;
  op: SpecOperation;
}

async function target(
  deps: ExplorerDeps,
  tenantId: string | Principal,
  input: ExplorerInput,
): Promise<Target> {
  const row = await deps.store.getSpecMeta(input.api_spec_id);
  const visible =
    row && (typeof tenantId === "string" ? row.tenantId === tenantId : canSee(tenantId, row.tenantId));
  if (!row || !visible)
    throw new GatewayError("INVALID_ARGUMENTS", "no such spec", { reason: "unknown_spec" });
  const op = findOperation(await deps.specs.spec(row), { operationId: input.operation_id });
  if (!op)
    throw new GatewayError("INVALID_ARGUMENTS", "the spec has no such operation", {
      reason: "unknown_operation",
    });
  return { row, op };
}

/** Splits flat `parameters` by where the operation declares them; `body` is the request body. */
function requestArgs(op: SpecOperation, parameters: { [key: string]: PlainJson }) {
  const pathParams: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) {
    if (name === "body") continue;
    const declared = op.parameters.find((p) => p.name === name && p.in !== "cookie");
    if (!declared)
      throw new GatewayError(
        "INVALID_ARGUMENTS",
        `the operation has no parameter ${JSON.stringify(name.slice(0, 64))}`,
        { reason: "unknown_parameter" },
      );
    if (declared.in === "path") pathParams[name] = value;
    else if (declared.in === "query") query[name] = value;
    else headers[name] = value;
  }
  return { pathParams, query, headers, ...(parameters.body !== undefined ? { body: parameters.body } : {}) };
}

export type ExplorerCaller =
  | { tenantId: string; executionId: string; callId: string; agentId: string; sink?: SecretSink }
  | { actor: Principal };

/** POST /v1/explorer: an operator tries a spec operation (audited as ExplorerRequested). */
export async function runExplorer({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "operator");
  return await explore(ctx.deps, { actor }, input, AbortSignal.timeout(ctx.deps.explorerTimeoutMs));
}

export async function explore(deps: ExplorerDeps, who: ExplorerCaller, raw: unknown, signal?: AbortSignal) {
  const parsed = ExplorerInput.safeParse(raw);
  if (!parsed.success) {
    throw new GatewayError("INVALID_ARGUMENTS", "the explorer arguments are invalid", {
      reason: "invalid_arguments",
      problems: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    });
  }
  const input = parsed.data;
  // Every path compiles before anything is sent.
  const paths = input.fields.map((expr) => {
    const compiled = compileJsonPath(expr);
    if (!compiled.ok)
      throw new GatewayError("INVALID_ARGUMENTS", `invalid JSONPath: ${compiled.error}`, {
        reason: "invalid_jsonpath",
      });
    return { expr, path: compiled.path };
  });
  const tenantId = "tenantId" in who ? who.tenantId : who.actor;
  const { row, op } = await target(deps, tenantId, input);
  const spec = await deps.specs.spec(row);
  const built = buildRequest(
    op,
    requestArgs(op, input.parameters as { [key: string]: PlainJson }),
    resolveServerUrl(spec, op, row.baseUrl ?? undefined),
  );
  const credentialPath = row.credentialPath ? (JSON.parse(row.credentialPath) as unknown) : null;
  const ac = signal ?? AbortSignal.timeout(deps.explorerTimeoutMs);
  let credential: RequestCredential | null = null;
  // Set once the credential is resolved: slices and audit payloads never carry its value.
  let scrub: Scrubber = (value) => value;
  const record = (
    eventType: "ExplorerRequested" | "ExplorerRequestExecuted" | "ExplorerRequestFailed",
    code: ErrorCode | null,
    fields: Record<string, unknown>,
  ) =>
    deps.audit.record({
      eventType,
      tenantId: row.tenantId,
      executionId: "tenantId" in who ? who.executionId : null,
      callId: "tenantId" in who ? who.callId : null,
      agentId: "tenantId" in who ? who.agentId : null,
      toolName: "explorer",
      decision: null,
      stage: "execute",
      code,
      requestId: null,
      payload: scrub({
        spec_id: row.id,
        spec_hash: row.hash,
        operation_id: input.operation_id,
        ...fields,
        fields: input.fields,
        ...("actor" in who ? { actor: who.actor.sub } : {}),
      }),
    });
  let status: number | null = null;
  try {
    // An agent's call (the explorer as a tool) scrubs with the call's sink; an operator's has its own.
    const call: CallInfo = {
      tenantId: row.tenantId,
      executionId: "tenantId" in who ? who.executionId : null,
      callId: "tenantId" in who ? who.callId : null,
      agentId: "tenantId" in who ? who.agentId : null,
      toolName: "explorer",
      sink: ("tenantId" in who ? who.sink : undefined) ?? new SecretSink(),
    };
    credential = await requestCredential({
      credentials: deps.credentials,
      credentialPath,
      call,
      spec,
      operation: op,
      signal: ac,
    });
    scrub = secretScrubber(credential?.secrets() ?? []);
    // On the agent plane ToolCallAuthorized is the row written before anything is sent; an
    // operator call has none, so it gets its own (no audit, no action) — once the scrubber knows
    // the credential, since the fields themselves could quote it.
    if ("actor" in who) await record("ExplorerRequested", null, {});
    const url = new URL(built.url);
    const headers = { ...built.headers };
    credential?.decorate({ url, headers, operation: op });
    const res = await deps.egress.request({
      method: built.method,
      url: url.toString(),
      headers,
      ...(built.body !== undefined ? { body: built.body } : {}),
      allowedHosts: row.allowedHosts,
      signal: ac,
    });
    status = res.status;
    if (res.status < 200 || res.status > 299) {
      throw new GatewayError("UPSTREAM_ERROR", `the upstream answered HTTP ${res.status}`, {
        reason: "upstream_status",
        status: res.status,
      });
    }
    const parsedBody = tryParseJson(res.body);
    if (!parsedBody.ok)
      throw new GatewayError("UPSTREAM_ERROR", "the upstream answer is not JSON", {
        reason: "not_json",
        status: res.status,
      });
    // Scrubbed before slicing: a filter such as $[?@.auth == '…'] must not probe the secret either.
    const doc = scrub(toPlain(parsedBody.value));
    const sliced: { [path: string]: PlainJson } = Object.create(null);
    for (const { expr, path } of paths) sliced[expr] = queryJsonPath(path, doc).values as PlainJson;
    const bytesBefore = res.body.byteLength;
    const bytesAfter = Buffer.byteLength(JSON.stringify(sliced));
    await record("ExplorerRequestExecuted", null, {
      status: res.status,
      bytes_before: bytesBefore,
      bytes_after: bytesAfter,
    });
    // The slice keys echo the caller's expressions, which may name the secret too.
    return scrub({
      sliced_data: sliced,
      operation_metadata: { status: res.status, bytes_before: bytesBefore, bytes_after: bytesAfter },
    });
  } catch (err) {
    // A request that was attempted leaves a row on both planes (the operator plane has no
    // other record of it): which spec and operation, and how it ended. Never the body or URL.
    if (err instanceof GatewayError)
      await record("ExplorerRequestFailed", err.code, {
        status,
        code: err.code,
        reason: err.details.reason,
      });
    throw err;
  } finally {
    await credential?.release();
  }
}

/** The built-in `explorer` tool; its upstream hosts are those of the spec the call names. */
export function explorerTool(deps: ExplorerDeps): RegisteredTool {
  return {
    name: "explorer",
    description:
      "Call one operation of a registered OpenAPI spec and return only the JSONPath slices asked for.",
    inputSchema: {
      type: "object",
      required: ["api_spec_id", "operation_id", "fields"],
      properties: {
        api_spec_id: { type: "string" },
        operation_id: { type: "string" },
        parameters: { type: "object" },
        fields: { type: "array", items: { type: "string" }, minItems: 1 },
      },
      additionalProperties: false,
    },
    info: { kind: "explorer" },
    definitionHash: "builtin:explorer:v1",
    async infoFor(args, tenantId) {
      const parsed = ExplorerInput.safeParse(args);
      if (!parsed.success) return { kind: "explorer" };
      const row = await deps.store.getSpecMeta(parsed.data.api_spec_id);
      return { kind: "explorer", upstreamHosts: row && row.tenantId === tenantId ? row.allowedHosts : [] };
    },
    async run(ctx) {
      const out = await explore(
        deps,
        {
          tenantId: ctx.tenantId,
          executionId: ctx.executionId,
          callId: ctx.callId,
          agentId: ctx.sub,
          sink: ctx.secrets,
        },
        ctx.arguments,
        ctx.signal,
      );
      return { result: out as unknown as PlainJson, isError: false };
    },
  };
}
