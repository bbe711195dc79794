import type { Store } from "../store/types.js";

/**
 * The authorization stage's contract (DESIGN §3). Decided on the tool name and arguments
 * before any tool lookup. This is the trust-layer version: a context that does not exist
 * denies everything (2006), and since contexts cannot be evaluated yet, so does one that
 * exists — the policy engine replaces `evaluate` without changing this interface.
 */
export type Decision =
  | { decision: "allow"; rule: string; reason: string }
  | { decision: "escalate"; rule: string; reason: string }
  | { decision: "reject"; rule: string; reason: string; code: "CONTEXT_DENIED" | "TOOL_DENIED" | "PATH_DENIED" | "DOMAIN_DENIED" | "COMMAND_DENIED" | "RATE_LIMITED" | "POLICY_VIOLATION" };

export interface AuthorizeInput {
  tenantId: string;
  contextName: string;
  toolName: string;
  sub: string;
}

export async function authorize(store: Store, input: AuthorizeInput): Promise<Decision> {
  const ctx = await store.getSecurityContext(input.tenantId, input.contextName);
  if (!ctx) {
    return { decision: "reject", rule: "default", reason: `security context ${JSON.stringify(input.contextName)} does not exist`, code: "CONTEXT_DENIED" };
  }
  return { decision: "reject", rule: "default", reason: "no capability allows this tool", code: "CONTEXT_DENIED" };
}
