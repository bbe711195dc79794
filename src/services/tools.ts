import { DEFAULT_TENANT } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { visibleTools } from "../policy/evaluate.js";
import type { SessionStore } from "../store/types.js";
import type { WithStore } from "./context.js";

/**
 * GET /v1/tools for an agent: the tools its context's `visible_tools` shows (showing is not
 * allowing). Authenticated by the agent's security token alone — it reads, so no signature;
 * a session-bound token still needs its session active.
 */
export async function listToolsForAgent(
  deps: WithStore<Pick<SessionStore, "getSession" | "agentKeysFor">>,
  bearer: string,
) {
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
  const ctx = await deps.contexts.load(tenantId, claims.scp);
  if (!ctx) return { tools: [] };
  const all = await deps.tools.list(tenantId);
  const shown = new Set(
    visibleTools(
      ctx,
      all.map((t) => t.name),
      sessionPatterns ? { sessionToolPatterns: sessionPatterns } : {},
    ),
  );
  return {
    tools: all
      .filter((t) => shown.has(t.name))
      .map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  };
}
