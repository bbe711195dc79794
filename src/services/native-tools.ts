import { GatewayError } from "../errors.js";
import { evaluate } from "../policy/evaluate.js";
import type { PlainJson } from "../seal/json.js";
import type { RegisteredTool, ToolRunContext } from "../tools/registry.js";
import type { ServiceDeps } from "./context.js";

/**
 * Native tools (DESIGN §5): run in-process, need no upstream, and take the whole call path
 * like any other tool — a context must allow them. `system.*` is reserved for them.
 */

export const NATIVE_PREFIX = "system.";

const NO_ARGUMENTS = { type: "object", properties: {}, additionalProperties: false } as const;

/** The shape of system.whoami's result, shown to MCP clients as its outputSchema. */
const WHOAMI_OUTPUT: PlainJson = {
  type: "object",
  properties: {
    agent_id: { type: "string" },
    execution_id: { type: "string" },
    call_id: { type: "string" },
    tenant_id: { type: "string" },
    security_context: { type: "string" },
    session: {
      anyOf: [
        {
          type: "object",
          properties: { status: { type: "string" }, expires_at: { type: "string" } },
          required: ["status", "expires_at"],
        },
        { type: "null" },
      ],
    },
    callable_tools: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, approval_required: { type: "boolean" } },
        required: ["name", "approval_required"],
      },
    },
  },
  required: [
    "agent_id",
    "execution_id",
    "call_id",
    "tenant_id",
    "security_context",
    "session",
    "callable_tools",
  ],
};

type NativeDeps = Pick<ServiceDeps, "contexts" | "store" | "tools">;

/** The caller as the gateway sees it: helps anyone debugging a denial. */
async function whoami(deps: NativeDeps, ctx: ToolRunContext): Promise<PlainJson> {
  if (Object.keys(ctx.arguments).length > 0)
    throw new GatewayError("INVALID_ARGUMENTS", "system.whoami takes no arguments", {
      reason: "unexpected_arguments",
    });
  const session = await deps.store.getSession(ctx.executionId);
  const sessionPatterns =
    session && session.tenantId === ctx.tenantId && session.sub === ctx.sub
      ? session.allowedToolPatterns
      : undefined;
  const context = await deps.contexts.load(ctx.tenantId, ctx.securityContext);
  const tools: PlainJson[] = [];
  if (context) {
    for (const tool of await deps.tools.list(ctx.tenantId)) {
      // Before lookup, as a call would be decided: constraints on arguments may still refuse.
      const d = evaluate(
        context,
        { toolName: tool.name, arguments: {} },
        { phase: "pre-lookup", ...(sessionPatterns ? { sessionToolPatterns: sessionPatterns } : {}) },
      );
      if (d.decision !== "reject")
        tools.push({ name: tool.name, approval_required: d.decision === "escalate" });
    }
  }
  return {
    agent_id: ctx.sub,
    execution_id: ctx.executionId,
    call_id: ctx.callId,
    tenant_id: ctx.tenantId,
    security_context: ctx.securityContext,
    session: session
      ? { status: session.status, expires_at: new Date(session.expiresAt).toISOString() }
      : null,
    callable_tools: tools,
  };
}

export function nativeTools(deps: NativeDeps): RegisteredTool[] {
  return [
    {
      name: "system.whoami",
      description:
        "Who the gateway thinks you are: agent id, execution id, tenant, security context and the tools it lets you call.",
      inputSchema: NO_ARGUMENTS,
      outputSchema: WHOAMI_OUTPUT,
      hints: async () => ({ readOnlyHint: true }),
      info: { kind: "native" },
      definitionHash: "builtin:system.whoami:v1",
      run: async (ctx) => ({ result: await whoami(deps, ctx), isError: false }),
    },
    {
      name: "system.echo",
      description: "Returns its arguments unchanged (a round trip through the whole call path).",
      inputSchema: { type: "object" },
      hints: async () => ({ readOnlyHint: true }),
      info: { kind: "native" },
      definitionHash: "builtin:system.echo:v1",
      run: async (ctx) => ({ result: ctx.arguments, isError: false }),
    },
  ];
}
