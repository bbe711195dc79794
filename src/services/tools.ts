import { visibleTools } from "../policy/evaluate.js";
import { requireAgent, type VerbCall } from "./context.js";

/**
 * GET /v1/tools (and MCP tools/list) for an agent: the tools its context's `visible_tools`
 * shows (showing is not allowing). The transport admitted the agent's security token first
 * (`admitAgentBearer`: token, session or key status, audited refusals); reading needs no
 * signature.
 */
export async function listToolsForAgent({ ctx }: VerbCall) {
  const agent = requireAgent(ctx);
  const { deps } = ctx;
  const context = await deps.contexts.load(agent.tenant, agent.securityContext);
  if (!context) return { tools: [] };
  const all = await deps.tools.list(agent.tenant);
  const shown = new Set(
    visibleTools(
      context,
      all.map((t) => t.name),
      agent.sessionToolPatterns ? { sessionToolPatterns: agent.sessionToolPatterns } : {},
    ),
  );
  return {
    tools: all
      .filter((t) => shown.has(t.name))
      .map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  };
}
