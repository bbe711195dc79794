import { type AgentClaims, DEFAULT_TENANT, type TokenAuthority } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { decodePublicKey, type Ed25519PublicKey } from "../seal/ed25519.js";
import type { Actor } from "../services/context.js";
import type { SessionRow, Store } from "../store/types.js";
import type { CallSource, PipelineDeps } from "./call.js";
import { type RejectionFacts, recordRejection } from "./reject.js";

/**
 * The one admission of an agent's security token (DESIGN §2 steps 4–5b): the token's own
 * signature and claims, then the key binding it names — session (active, unexpired, same
 * sub/context/tenant), `cnf` key, or the agent's registered keys (one still active). The
 * envelope pipeline goes on to check the envelope's signature with the bound keys; the
 * read-only surfaces (`GET /v1/tools`, MCP `tools/list`) stop here, since reading needs no
 * signature. Claims are used for nothing but choosing a key until the token verified.
 */

/** How the call's signer was bound; `orchestrator`: no envelope, an orchestrator acted for the session. */
export type Binding = "session" | "cnf" | "agent_key" | "orchestrator";

/** Which step stopped a call: the token verified (tenant known) or not. */
export class AuthError extends GatewayError {
  tokenVerified = false;
  claims: AgentClaims | null = null;
}

export function authFail(
  code: GatewayError["code"],
  reason: string,
  message: string,
  claims: AgentClaims | null = null,
): AuthError {
  const err = new AuthError(code, message, { reason });
  if (claims) {
    err.tokenVerified = true;
    err.claims = claims;
  }
  return err;
}

export function tenantOf(claims: AgentClaims): string {
  return claims.tenant_id ?? DEFAULT_TENANT;
}

export interface AgentIdentity {
  claims: AgentClaims;
  tenantId: string;
  binding: Binding;
  session: SessionRow | null;
  /** The keys an envelope under this token may be signed with. */
  keys: Ed25519PublicKey[];
}

async function bindKey(
  store: Store,
  claims: AgentClaims,
  tenantId: string,
  nowMs: number,
): Promise<Omit<AgentIdentity, "claims" | "tenantId">> {
  const fail = (code: GatewayError["code"], reason: string, message: string) =>
    authFail(code, reason, message, claims);
  if (claims.exec_id !== undefined) {
    const session = await store.getSession(claims.exec_id);
    if (!session) throw fail("SESSION_NOT_FOUND", "no_session", "no session for this token's exec_id");
    if (
      session.sub !== claims.sub ||
      session.securityContext !== claims.scp ||
      session.tenantId !== tenantId
    ) {
      throw fail("SESSION_NOT_FOUND", "binding_mismatch", "the session does not match this token");
    }
    if (session.status === "Revoked")
      throw fail("SESSION_INACTIVE", "session_revoked", "the session was revoked");
    if (session.status === "Expired" || session.expiresAt <= nowMs)
      throw fail("SESSION_INACTIVE", "session_expired", "the session has expired");
    const decoded = decodePublicKey(session.publicKeyB64);
    if (!decoded.ok) throw fail("INVALID_KEY", "bad_key", "the session's public key is unusable");
    return { keys: [decoded.key], binding: "session", session };
  }
  if (claims.cnf !== undefined) {
    const decoded = decodePublicKey(claims.cnf.jwk);
    if (!decoded.ok)
      throw fail("INVALID_KEY", "bad_key", `the token's cnf key is unusable: ${decoded.message}`);
    return { keys: [decoded.key], binding: "cnf", session: null };
  }
  const rows = await store.agentKeysFor(tenantId, claims.sub);
  if (rows.length === 0)
    throw fail("SESSION_NOT_FOUND", "no_key", "no session or registered key for this token");
  const active = rows.filter((r) => r.status === "active");
  if (active.length === 0)
    throw fail("SESSION_INACTIVE", "key_revoked", "the agent's registered key was revoked");
  const keys: Ed25519PublicKey[] = [];
  for (const row of active) {
    const decoded = decodePublicKey(row.publicKeyB64);
    if (decoded.ok) keys.push(decoded.key);
  }
  if (keys.length === 0) throw fail("INVALID_KEY", "bad_key", "the agent's registered key is unusable");
  return { keys, binding: "agent_key", session: null };
}

/** Steps 4, 4b, 5, 5b; throws an AuthError (carrying the claims once they verified). */
export async function verifyAgentToken(
  token: string,
  deps: { store: Store; tokens: TokenAuthority; nowMs: number },
): Promise<AgentIdentity> {
  const verified = await deps.tokens.verifyAgentToken(token, Math.floor(deps.nowMs / 1000));
  if (!verified.ok) {
    if (verified.expired) throw authFail("TOKEN_EXPIRED", "token_expired", verified.message);
    throw authFail("INVALID_TOKEN", verified.reason, verified.message);
  }
  const claims = verified.claims;
  const tenantId = tenantOf(claims);
  return { claims, tenantId, ...(await bindKey(deps.store, claims, tenantId, deps.nowMs)) };
}

export type AgentAdmission = { ok: true; agent: AgentIdentity } | { ok: false; error: GatewayError };

/** The scheme name is case-insensitive (RFC 9110 §11.1); the token68 alphabet is fixed. */
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * Admits a read-only agent-plane request by its `Authorization: Bearer <security token>`
 * header. A refusal is audited like an envelope's (in the token's tenant once it verified,
 * else in `system` through the per-source budget) and returned as a value.
 */
export async function admitAgentBearer(
  deps: Pick<PipelineDeps, "store" | "tokens" | "audit" | "clock" | "log">,
  authorization: string | undefined,
  source: CallSource & { surface: string },
): Promise<AgentAdmission> {
  const src = { address: source.address, transport: source.transport ?? "http" };
  const facts: RejectionFacts = {
    source: src,
    callId: null,
    requestId: null,
    stage: "authenticate",
    surface: source.surface,
  };
  try {
    const m = BEARER.exec(authorization ?? "");
    if (!m?.[1])
      throw authFail(
        "INVALID_TOKEN",
        "missing_token",
        "the agent's security token is required as a Bearer token",
      );
    return { ok: true, agent: await verifyAgentToken(m[1], { ...deps, nowMs: deps.clock.nowMs() }) };
  } catch (caught) {
    if (!(caught instanceof GatewayError)) throw caught;
    const out = await recordRejection(deps, caught, facts);
    return { ok: false, error: out.error };
  }
}

/** The service-layer actor of an admitted agent token (read-only agent-plane verbs). */
export function agentActor(agent: AgentIdentity): Extract<Actor, { kind: "agent" }> {
  return {
    kind: "agent",
    sub: agent.claims.sub,
    tenant: agent.tenantId,
    securityContext: agent.claims.scp,
    executionId: agent.session?.executionId ?? agent.claims.exec_id ?? agent.claims.jti,
    ...(agent.session ? { sessionToolPatterns: agent.session.allowedToolPatterns } : {}),
  };
}
