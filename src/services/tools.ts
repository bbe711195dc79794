import { type AgentClaims, DEFAULT_TENANT } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { visibleTools } from "../policy/evaluate.js";
import type { RegisteredTool } from "../tools/registry.js";
import type { ServiceDeps } from "./context.js";

/** An agent authenticated by its security token alone (read-only agent-plane routes). */
export interface BearerAgent {
  /** The token as sent: MCP compares it with the envelope's security_token. */
  token: string;
  claims: AgentClaims;
  tenantId: string;
  /** The session's allowed_tool_patterns, when the token is session-bound. */
  sessionPatterns: string[] | undefined;
}

/**
 * Verifies an agent's security token sent as a Bearer token (GET /v1/tools, MCP, approval
 * status): it reads, so no signature; a session-bound token still needs its session active,
 * and a key-bound one an active registered key. Throws the envelope codes (1003–1006).
 */
export async function authenticateBearerAgent(deps: ServiceDeps, bearer: string): Promise<BearerAgent> {
  const nowMs = deps.clock.nowMs();
  const r = await deps.tokens.verifyAgentToken(bearer, Math.floor(nowMs / 1000));
  if (!r.ok)
    throw new GatewayError(r.expired ? "TOKEN_EXPIRED" : "INVALID_TOKEN", r.message, { reason: r.reason });
  const claims = r.claims;
  const tenantId = claims.tenant_id ?? DEFAULT_TENANT;
  let sessionPatterns: string[] | undefined;
  if (claims.exec_id !== undefined) {
    const session = await deps.store.getSession(claims.exec_id);
    if (
      !session ||
      session.tenantId !== tenantId ||
      session.sub !== claims.sub ||
      session.securityContext !== claims.scp
    ) {
      throw new GatewayError("SESSION_NOT_FOUND", "no session for this token", { reason: "no_session" });
    }
    if (session.status === "Revoked")
      throw new GatewayError("SESSION_INACTIVE", "the session was revoked", { reason: "session_revoked" });
    if (session.status === "Expired" || session.expiresAt <= nowMs)
      throw new GatewayError("SESSION_INACTIVE", "the session has expired", { reason: "session_expired" });
    sessionPatterns = session.allowedToolPatterns;
  } else if (claims.cnf === undefined) {
    // Bound to registered keys: listing stops when the agent's keys are all revoked.
    const keys = await deps.store.agentKeysFor(tenantId, claims.sub);
    if (keys.length === 0)
      throw new GatewayError("SESSION_NOT_FOUND", "no session or registered key for this token", {
        reason: "no_key",
      });
    if (!keys.some((k) => k.status === "active"))
      throw new GatewayError("SESSION_INACTIVE", "the agent's registered key was revoked", {
        reason: "key_revoked",
      });
  }
  return { token: bearer, claims, tenantId, sessionPatterns };
}

/** The tools the agent's context shows (`visible_tools`): showing is not allowing. */
export async function visibleToolsFor(deps: ServiceDeps, agent: BearerAgent): Promise<RegisteredTool[]> {
  const ctx = await deps.contexts.load(agent.tenantId, agent.claims.scp);
  if (!ctx) return [];
  const all = await deps.tools.list(agent.tenantId);
  const shown = new Set(
    visibleTools(
      ctx,
      all.map((t) => t.name),
      agent.sessionPatterns ? { sessionToolPatterns: agent.sessionPatterns } : {},
    ),
  );
  return all.filter((t) => shown.has(t.name));
}

/** GET /v1/tools for an agent. */
export async function listToolsForAgent(deps: ServiceDeps, bearer: string) {
  const agent = await authenticateBearerAgent(deps, bearer);
  const tools = await visibleToolsFor(deps, agent);
  return {
    tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  };
}
