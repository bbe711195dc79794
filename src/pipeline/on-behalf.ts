import { satisfies } from "../auth/roles.js";
import type { AgentClaims, OperatorIdentity } from "../auth/tokens.js";
import { newId } from "../ids.js";
import type { JsonObject, JsonValue } from "../seal/json.js";
import type { AdmitState } from "./admit.js";
import { authFail } from "./agent-token.js";
import type { PipelineDeps } from "./call.js";

/**
 * Admission without an envelope (DESIGN §7, gRPC): a trusted orchestrator — an operator token
 * with role `orchestrator`, verified by the transport — has checked the agent's envelope
 * itself and asks the gateway to run a call for the session named by `executionId`. The call
 * is then judged exactly as the agent's own would be: the session must exist in the
 * orchestrator's tenant and be active, its security context (and session tool patterns)
 * decide, and every row names the agent (`agent_id`) and the orchestrator (`orchestrator`).
 */

export interface OnBehalfCall {
  orchestrator: OperatorIdentity;
  executionId: string;
  toolName: string;
  /** Literal-preserving, as the strict parser read them. */
  arguments: JsonObject;
  /** The end user's token, carried as `params._meta["seal/user_token"]` would be. */
  userToken?: string;
}

function object(entries: Record<string, JsonValue>): JsonObject {
  const out = Object.create(null) as JsonObject;
  for (const [k, v] of Object.entries(entries)) out[k] = v;
  return out;
}

/** The claims a refusal before the session was found is audited under: the orchestrator's. */
export function orchestratorClaims(who: OperatorIdentity, nowS: number): AgentClaims {
  return {
    sub: who.sub,
    scp: "",
    wid: "orchestrator",
    jti: newId("jti"),
    iat: nowS,
    exp: nowS,
    tenant_id: who.tenant,
  };
}

/** The admission stage of an orchestrator's call: role, session, then the call as if signed. */
export function bindOrchestratedSession(deps: PipelineDeps, req: OnBehalfCall) {
  return async function authenticateOrchestrator(s: AdmitState): Promise<void> {
    const nowMs = deps.clock.nowMs();
    const nowS = Math.floor(nowMs / 1000);
    const who = req.orchestrator;
    const asOrchestrator = orchestratorClaims(who, nowS);
    if (!satisfies(who.role, "orchestrator") || who.tenant === "*") {
      const err = authFail(
        "FORBIDDEN",
        "wrong_role",
        `role ${who.role} may not invoke for a session`,
        asOrchestrator,
      );
      throw err;
    }
    const session = req.executionId === "" ? null : await deps.store.getSession(req.executionId);
    // Another tenant's session is answered like a missing one: its existence is not told.
    if (!session || session.tenantId !== who.tenant)
      throw authFail("SESSION_NOT_FOUND", "no_session", "no session with this execution_id", asOrchestrator);
    const claims: AgentClaims = {
      sub: session.sub,
      scp: session.securityContext,
      wid: `orchestrator:${who.sub}`,
      jti: newId("jti"),
      iat: nowS,
      exp: Math.floor(session.expiresAt / 1000),
      exec_id: session.executionId,
      tenant_id: session.tenantId,
    };
    if (session.status === "Revoked")
      throw authFail("SESSION_INACTIVE", "session_revoked", "the session was revoked", claims);
    if (session.status === "Expired" || session.expiresAt <= nowMs)
      throw authFail("SESSION_INACTIVE", "session_expired", "the session has expired", claims);
    const requestId = newId("req");
    const meta = req.userToken !== undefined ? object({ "seal/user_token": req.userToken }) : null;
    const params = object({ name: req.toolName, arguments: req.arguments, ...(meta ? { _meta: meta } : {}) });
    s.requestId = requestId;
    s.env = {
      securityToken: "",
      signature: "",
      payload: object({ jsonrpc: "2.0", id: requestId, method: "tools/call", params }),
      timestampSeconds: nowS,
      requestId,
      toolName: req.toolName,
      arguments: req.arguments,
      meta,
    };
    s.auth = {
      claims,
      tenantId: session.tenantId,
      executionId: session.executionId,
      binding: "orchestrator",
      session,
      signedBytes: new Uint8Array(0),
    };
  };
}
