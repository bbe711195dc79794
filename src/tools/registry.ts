import type { SecretSink } from "../credentials/redaction.js";
import type { CallInfo } from "../credentials/types.js";
import type { ToolInfo } from "../policy/constraints.js";
import type { PlainJson } from "../seal/json.js";

/**
 * The tool registry port: what the pipeline needs to find and run a tool, whatever its
 * engine (REST workflow, CLI container, explorer). Engines register their tools through
 * `ToolSource`s; the pipeline sees one registry.
 */

export interface ToolRunContext {
  tenantId: string;
  executionId: string;
  callId: string;
  sub: string;
  /** How the caller's key was bound (`session`, `cnf`, `agent_key`): revocation finds its calls by it. */
  binding?: string;
  /** The security context name the call was authorized under (the token's `scp`). */
  securityContext: string;
  /** Arguments as plain JSON (numbers that would change value were refused before). */
  arguments: { [key: string]: PlainJson };
  signal: AbortSignal;
  /**
   * Every credential value resolved during this call ends up here; the pipeline scrubs the
   * final answer, error text and audit payloads with it. Engines scrub their own outputs too.
   */
  secrets: SecretSink;
  /** The end user's token (`params._meta["seal/user_token"]`), for delegated credentials. */
  userToken?: string;
  /**
   * The call's row before the run (ToolCallAuthorized), possibly still committing. The
   * pipeline has awaited it before `run` unless the tool sets `joinsRowsBefore`; such a tool
   * writes its own first row `after` it and awaits both before its first effect.
   */
  rowsBefore?: RowsBefore;
}

/** A row written but not yet awaited: its id (for rows `after` it) and its commit. */
export interface RowsBefore {
  id: string;
  written: Promise<unknown>;
}

/** The credential port's view of one tool call (its audit ids and secret sink). */
export function callInfo(ctx: ToolRunContext, toolName: string): CallInfo {
  return {
    tenantId: ctx.tenantId,
    executionId: ctx.executionId,
    callId: ctx.callId,
    agentId: ctx.sub,
    toolName,
    securityContext: ctx.securityContext,
    sink: ctx.secrets,
    ...(ctx.userToken !== undefined ? { userToken: ctx.userToken } : {}),
  };
}

export interface ToolResult {
  /** The tool result (DESIGN §2: workflow, CLI or explorer shape). */
  result: PlainJson;
  /** True for a CLI tool's non-zero exit (a result, not an error). */
  isError: boolean;
  /**
   * The engine's outcome rows still committing (e.g. a workflow's last step and completion):
   * the pipeline awaits them together with its own completion row, so they share one commit,
   * and answers only once all committed. A rejection fails the call (5030).
   */
  recorded?: Promise<void>;
}

/** What the gateway knows about a tool's effects (MCP tool annotations; hints, not policy). */
export interface ToolHints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
}

export interface RegisteredTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments, as shown by tools/list. */
  inputSchema: PlainJson;
  /** JSON Schema of the result, when the tool declares one (MCP `outputSchema`). */
  outputSchema?: PlainJson;
  /** Effect hints for listings; computed on demand (a workflow reads its spec for them). */
  hints?(): Promise<ToolHints>;
  /** What authorization needs to know about the tool (hosts, mounts, command). */
  info: ToolInfo;
  /**
   * Per-call facts, when they depend on the arguments (the explorer's spec hosts, a CLI
   * call's subcommand). Authorization after lookup uses this when present.
   */
  infoFor?(args: { [key: string]: PlainJson }, tenantId: string): Promise<ToolInfo>;
  /** A hash naming the exact definition that runs (recorded in invocation events). */
  definitionHash: string;
  /**
   * How long one call may run before its signal aborts and the call answers 4041; unset: the
   * gateway's `tools.default_timeout_seconds`.
   */
  timeoutMs?: number;
  /**
   * True when `run` awaits `ctx.rowsBefore` itself, together with its own first row and before
   * any effect, so both rows share one commit; otherwise the pipeline awaits it before `run`.
   */
  joinsRowsBefore?: boolean;
  run(ctx: ToolRunContext): Promise<ToolResult>;
}

export interface ToolSource {
  lookup(tenantId: string, name: string): Promise<RegisteredTool | null>;
  list(tenantId: string): Promise<RegisteredTool[]>;
}

export class ToolRegistry {
  constructor(private readonly sources: readonly ToolSource[]) {}

  async lookup(tenantId: string, name: string): Promise<RegisteredTool | null> {
    for (const source of this.sources) {
      const tool = await source.lookup(tenantId, name);
      if (tool) return tool;
    }
    return null;
  }

  async list(tenantId: string): Promise<RegisteredTool[]> {
    const seen = new Set<string>();
    const out: RegisteredTool[] = [];
    for (const source of this.sources) {
      for (const tool of await source.list(tenantId)) {
        if (seen.has(tool.name)) continue;
        seen.add(tool.name);
        out.push(tool);
      }
    }
    return out;
  }
}

/** A fixed set of tools for every tenant (built-ins, and tests that need a tool to run). */
export function staticTools(tools: readonly RegisteredTool[]): ToolSource {
  const byName = new Map(tools.map((t) => [t.name, t]));
  return {
    lookup: async (_tenant, name) => byName.get(name) ?? null,
    list: async () => [...tools],
  };
}
