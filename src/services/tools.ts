import { visibleTools } from "../policy/evaluate.js";
import type { RegisteredTool } from "../tools/registry.js";
import { requireAgent, requireRole, type ServiceContext, type VerbCall } from "./context.js";

/**
 * The tools an agent's context shows (`visible_tools`; showing is not allowing), for
 * GET /v1/tools and MCP tools/list. The transport admitted the agent's security token first
 * (`admitAgentBearer`: token, session or key status, audited refusals); reading needs no
 * signature.
 */
export async function visibleToolsFor(ctx: ServiceContext): Promise<RegisteredTool[]> {
  const agent = requireAgent(ctx);
  const { deps } = ctx;
  const context = await deps.contexts.load(agent.tenant, agent.securityContext);
  if (!context) return [];
  const all = await deps.tools.list(agent.tenant);
  const shown = new Set(
    visibleTools(
      context,
      all.map((t) => t.name),
      agent.sessionToolPatterns ? { sessionToolPatterns: agent.sessionToolPatterns } : {},
    ),
  );
  return all.filter((t) => shown.has(t.name));
}

/** GET /v1/tools for an agent. */
export async function listToolsForAgent({ ctx }: VerbCall) {
  const tools = await visibleToolsFor(ctx);
  return {
    tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  };
}

/** gRPC ListTools for an orchestrator: every tool of its tenant (it acts for any of its sessions). */
export async function listToolsForOrchestrator({ ctx }: VerbCall): Promise<RegisteredTool[]> {
  const actor = requireRole(ctx, "orchestrator");
  return await ctx.deps.tools.list(actor.tenant);
}
