import type { Credential } from "../credentials/types.js";
import { checkArgv } from "../engines/cli/argv-policy.js";
import { argvRules } from "../engines/cli/argv-profiles.js";
import { effectiveLimits } from "../engines/cli/container-spec.js";
import { CliCall, CliToolDefinition, cliCommand, registryHost } from "../engines/cli/definition.js";
import { executeCli } from "../engines/cli/execute.js";
import type { RegistryAuth } from "../engines/cli/runtime.js";
import { compileInputSchema, type InputValidator } from "../engines/workflow/input-schema.js";
import { GatewayError, isGatewayError } from "../errors.js";
import type { ToolInfo } from "../policy/constraints.js";
import type { PlainJson } from "../seal/json.js";
import type { CliToolRow } from "../store/types.js";
import { callInfo, type RegisteredTool, type ToolRunContext, type ToolSource } from "../tools/registry.js";
import type { CliToolDeps } from "./cli-tools.js";

/**
 * CLI tools as tools: looked up by tenant and name on every call (an update applies at once).
 * Authorization after lookup sees `command` (the tool's CLI), `subcommand` (this call's) and
 * the host paths the container mounts, so a context's command_allowlist, subcommand_allowlist
 * and path_allowlist apply before anything is created.
 */

// Past the engine's own timeout (which kills the container and answers 4041 itself), time for
// creating and removing the container before the pipeline's timer gives up on the call.
const PIPELINE_GRACE_MS = 10_000;

function inputSchema(def: CliToolDefinition): PlainJson {
  const args = (def.args_schema as PlainJson | undefined) ?? { type: "array", items: { type: "string" } };
  return {
    type: "object",
    properties: {
      subcommand: { type: "string", enum: [...def.allowed_subcommands] },
      args,
      stdin: { type: "string" },
    },
    required: ["subcommand"],
    additionalProperties: false,
  };
}

function parseCall(args: { [key: string]: PlainJson }, validateArgs: InputValidator | null): CliCall {
  const parsed = CliCall.safeParse(args);
  if (!parsed.success)
    throw new GatewayError(
      "INVALID_ARGUMENTS",
      "the call must be {subcommand, args?: [string], stdin?: string}",
      {
        reason: "invalid_cli_call",
      },
    );
  const problems = validateArgs ? validateArgs(parsed.data.args) : [];
  if (problems.length > 0)
    throw new GatewayError("INVALID_ARGUMENTS", "the args do not match the tool's args_schema", {
      reason: "invalid_input",
      problems,
    });
  return parsed.data;
}

/** The registration checked the schema; a stored one that no longer compiles fails closed. */
function argsValidator(def: CliToolDefinition): InputValidator | null {
  if (def.args_schema === undefined) return null;
  const compiled = compileInputSchema(def.args_schema);
  if (compiled.ok) return compiled.validate;
  throw new GatewayError("INTERNAL", "a stored CLI tool's args_schema no longer compiles", {
    reason: "invalid_stored_cli_tool",
  });
}

/** One credential value through the resolver (audited CredentialExchange rows, fail closed). */
async function resolveOne(
  deps: CliToolDeps,
  credentialPath: unknown,
  ctx: ToolRunContext,
  toolName: string,
): Promise<Credential> {
  return await deps.credentials.obtain({
    credentialPath,
    signal: ctx.signal,
    call: callInfo(ctx, toolName),
  });
}

/** `user:password` or `{"username","password"}`; anything else fails closed (4010). */
export function parseRegistryLogin(value: string): { username: string; password: string } | null {
  const trimmed = value.trim();
  if (trimmed.startsWith("{")) {
    try {
      const v = JSON.parse(trimmed) as { username?: unknown; password?: unknown };
      if (typeof v.username === "string" && v.username && typeof v.password === "string" && v.password)
        return { username: v.username, password: v.password };
    } catch {
      // not JSON: refused below
    }
    return null;
  }
  const at = value.indexOf(":");
  if (at <= 0 || at === value.length - 1) return null;
  return { username: value.slice(0, at), password: value.slice(at + 1) };
}

async function resolveCredentials(
  deps: CliToolDeps,
  def: CliToolDefinition,
  ctx: ToolRunContext,
  toolName: string,
) {
  const env: Record<string, string> = {};
  const releases: (() => Promise<void>)[] = [];
  let registryAuth: RegistryAuth | undefined;
  try {
    for (const [name, credentialPath] of Object.entries(def.env_credentials)) {
      const resolved = await resolveOne(deps, credentialPath, ctx, toolName);
      releases.push(resolved.release);
      env[name] = resolved.value;
    }
    if (def.registry_credential_path !== undefined) {
      const resolved = await resolveOne(deps, def.registry_credential_path, ctx, toolName);
      releases.push(resolved.release);
      const login = parseRegistryLogin(resolved.value);
      if (!login) {
        throw new GatewayError(
          "CREDENTIAL_UNAVAILABLE",
          "the tool's registry credential is not user:password or {username, password}",
          { reason: "bad_registry_credential" },
        );
      }
      ctx.secrets.add([login.password]);
      registryAuth = { ...login, serverAddress: registryHost(def.docker_image) };
    }
  } catch (err) {
    await Promise.allSettled(releases.map((r) => r()));
    throw err;
  }
  return {
    env,
    registryAuth,
    release: async () => void (await Promise.allSettled(releases.map((r) => r()))),
  };
}

export function cliTools(deps: CliToolDeps): ToolSource {
  type Compiled = { def: CliToolDefinition; validateArgs: InputValidator | null };
  const defs = new Map<string, Compiled>();
  const definition = (row: CliToolRow): Compiled => {
    const hit = defs.get(row.hash);
    if (hit) return hit;
    const parsed = CliToolDefinition.safeParse(JSON.parse(row.document));
    if (!parsed.success)
      throw new GatewayError("INTERNAL", "a stored CLI tool no longer validates", {
        reason: "invalid_stored_cli_tool",
      });
    const compiled = { def: parsed.data, validateArgs: argsValidator(parsed.data) };
    if (defs.size > 1000) defs.clear();
    defs.set(row.hash, compiled);
    return compiled;
  };

  const toTool = (row: CliToolRow): RegisteredTool => {
    const { def, validateArgs } = definition(row);
    const info: ToolInfo = {
      kind: "cli",
      command: cliCommand(def),
      mounts: def.mounts.map((m) => m.host_path),
    };
    const settings = deps.cli?.settings;
    return {
      name: row.name,
      description: def.description,
      inputSchema: inputSchema(def),
      info,
      async infoFor(args) {
        const subcommand = args.subcommand;
        return typeof subcommand === "string" ? { ...info, subcommand } : info;
      },
      definitionHash: row.hash,
      ...(settings ? { timeoutMs: effectiveLimits(settings, def).timeoutMs + PIPELINE_GRACE_MS } : {}),
      run: (ctx) => runCli(deps, row, def, parseCall(ctx.arguments, validateArgs), ctx),
    };
  };

  return {
    async lookup(tenantId, name) {
      const row = await deps.store.getCliToolByName(tenantId, name);
      return row ? toTool(row) : null;
    },
    async list(tenantId) {
      return (await deps.store.listCliTools(tenantId)).map(toTool);
    },
  };
}

async function runCli(
  deps: CliToolDeps,
  row: CliToolRow,
  def: CliToolDefinition,
  call: CliCall,
  ctx: ToolRunContext,
) {
  const engine = deps.cli;
  if (!engine) {
    throw new GatewayError("EXECUTION_FAILED", "the container engine is unavailable", {
      reason: "engine_unavailable",
    });
  }
  const base = { cli_tool_id: row.id, definition_hash: row.hash };
  const emit = async (
    eventType:
      | "CliToolInvocationStarted"
      | "CliToolInvocationCompleted"
      | "CliToolInvocationFailed"
      | "CliToolSemanticRejected",
    payload: Record<string, unknown>,
    code: GatewayError["code"] | null = null,
  ) => {
    await deps.audit.record({
      eventType,
      tenantId: ctx.tenantId,
      executionId: ctx.executionId,
      callId: ctx.callId,
      agentId: ctx.sub,
      toolName: row.name,
      decision: eventType === "CliToolSemanticRejected" ? "reject" : null,
      stage: "execute",
      code,
      requestId: null,
      payload: { ...base, ...payload },
    });
  };
  const started = deps.clock.nowMs();
  await emit("CliToolInvocationStarted", {
    docker_image: def.docker_image,
    subcommand: call.subcommand,
    arg_count: call.args.length,
    stdin_bytes: call.stdin === undefined ? 0 : Buffer.byteLength(call.stdin, "utf8"),
  });
  try {
    // The engine checks the argv again; checked first here so a refused call reads no credential.
    checkArgv(def.allowed_subcommands, argvRules(def.argv_profile, def.deny_flags), call);
    const { env, registryAuth, release } = await resolveCredentials(deps, def, ctx, row.name);
    try {
      const out = await executeCli({
        runtime: engine.runtime,
        settings: engine.settings,
        tool: def,
        call,
        env,
        ids: {
          tenantId: ctx.tenantId,
          executionId: ctx.executionId,
          callId: ctx.callId,
          agent: ctx.sub,
          ...(ctx.binding ? { binding: ctx.binding } : {}),
        },
        sub: ctx.sub,
        signal: ctx.signal,
        ...(ctx.secrets ? { secrets: ctx.secrets } : {}),
        ...(engine.judge ? { judge: engine.judge } : {}),
        ...(registryAuth ? { registryAuth } : {}),
        log: deps.log,
      });
      await emit("CliToolInvocationCompleted", {
        exit_code: out.result.exit_code,
        duration_ms: deps.clock.nowMs() - started,
        truncated: out.result.truncated ?? [],
      });
      return { result: out.result as unknown as PlainJson, isError: out.isError };
    } finally {
      await release();
    }
  } catch (err) {
    const duration_ms = deps.clock.nowMs() - started;
    const e = isGatewayError(err) ? err : null;
    if (e?.code === "JUDGE_REJECTED") {
      await emit(
        "CliToolSemanticRejected",
        {
          subcommand: call.subcommand,
          reason: e.details.reason,
          judge_reason: e.details.judge_reason,
          duration_ms,
        },
        e.code,
      );
    } else {
      await emit(
        "CliToolInvocationFailed",
        { duration_ms, reason: e?.details.reason ?? "internal" },
        e?.code,
      );
    }
    throw err;
  }
}
