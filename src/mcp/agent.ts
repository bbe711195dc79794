import type { AgentClaims } from "../auth/tokens.js";
import { type AgentIdentity, agentActor } from "../pipeline/agent-token.js";
import type { Actor } from "../services/context.js";

/** The agent a POST /mcp request was admitted as (`admitAgentBearer`), and its token as sent. */
export interface BearerAgent {
  /** The Bearer token: a tools/call envelope must carry this very token. */
  token: string;
  claims: AgentClaims;
  tenantId: string;
  actor: Extract<Actor, { kind: "agent" }>;
}

export function bearerAgent(token: string, identity: AgentIdentity): BearerAgent {
  return { token, claims: identity.claims, tenantId: identity.tenantId, actor: agentActor(identity) };
}
