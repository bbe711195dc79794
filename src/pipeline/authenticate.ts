import { createHash } from "node:crypto";
import { type AgentClaims, DEFAULT_TENANT, type TokenAuthority } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { canonicalBytes } from "../seal/canonical.js";
import { decodePublicKey, decodeSignature, type Ed25519PublicKey, verifyEd25519 } from "../seal/ed25519.js";
import type { Envelope } from "../seal/envelope.js";
import type { SessionRow, Store } from "../store/types.js";

/**
 * Steps 3–7 of DESIGN §2, in that order: freshness, token, key binding, envelope signature,
 * replay. Claims of the token are used for nothing but choosing a key until the token's own
 * signature verified, and nothing unverified is ever written to the replay store.
 */

export type Binding = "session" | "cnf" | "agent_key";

export interface Authenticated {
  claims: AgentClaims;
  tenantId: string;
  /** The agent's execution: the session's id, else exec_id, else jti. */
  executionId: string;
  binding: Binding;
  session: SessionRow | null;
  signedBytes: Uint8Array;
}

export interface AuthenticateSettings {
  freshnessSeconds: number;
  toleranceSeconds: number;
  replayScope: "envelope" | "token";
}

/** Which step stopped a call: the token verified (tenant known) or not. */
export class AuthError extends GatewayError {
  tokenVerified = false;
  claims: AgentClaims | null = null;
}

function authFail(
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

interface BoundKeys {
  keys: Ed25519PublicKey[];
  binding: Binding;
  session: SessionRow | null;
}

async function bindKey(
  store: Store,
  claims: AgentClaims,
  tenantId: string,
  nowMs: number,
): Promise<BoundKeys> {
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

export async function authenticate(
  env: Envelope,
  deps: { store: Store; tokens: TokenAuthority; settings: AuthenticateSettings; nowMs: number },
): Promise<Authenticated> {
  const { store, tokens, settings, nowMs } = deps;
  const nowS = Math.floor(nowMs / 1000);

  // 3. freshness
  const skew = env.timestampSeconds - nowS;
  if (skew < -settings.freshnessSeconds)
    throw authFail("TOKEN_EXPIRED", "stale_timestamp", "the envelope timestamp is too old");
  if (skew > settings.freshnessSeconds)
    throw authFail("TOKEN_EXPIRED", "future_timestamp", "the envelope timestamp is in the future");

  // 4. token (4b: expiry answers 1003)
  const verified = await tokens.verifyAgentToken(env.securityToken, nowS);
  if (!verified.ok) {
    if (verified.expired) throw authFail("TOKEN_EXPIRED", "token_expired", verified.message);
    throw authFail("INVALID_TOKEN", verified.reason, verified.message);
  }
  const claims = verified.claims;
  const tenantId = tenantOf(claims);

  // 5. key binding (first match wins: session, cnf, registered agent key)
  const bound = await bindKey(store, claims, tenantId, nowMs);

  // 6. signature encoding, then the signature over the canonical bytes
  const sig = decodeSignature(env.signature);
  if (!sig.ok) throw authFail("INVALID_KEY", "bad_signature_encoding", sig.message, claims);
  const signed = canonicalBytes(env.payload, env.securityToken, env.timestampSeconds);
  if (!bound.keys.some((k) => verifyEd25519(k, signed, sig.bytes))) {
    throw authFail(
      "SIGNATURE_MISMATCH",
      "signature_mismatch",
      "the envelope signature does not verify",
      claims,
    );
  }

  // 7. replay: the record outlives the window in which the envelope could still be fresh
  const replayKey =
    settings.replayScope === "token"
      ? `t:${claims.jti}`
      : `e:${claims.jti}:${createHash("sha256").update(signed).digest("base64url")}`;
  const until =
    settings.replayScope === "token"
      ? (claims.exp + settings.toleranceSeconds) * 1000
      : (env.timestampSeconds + settings.freshnessSeconds + settings.toleranceSeconds + 1) * 1000;
  if (!(await store.recordReplay(replayKey, until))) {
    throw authFail("TOKEN_EXPIRED", "replay", "this envelope was already received", claims);
  }

  return {
    claims,
    tenantId,
    executionId: bound.session?.executionId ?? claims.exec_id ?? claims.jti,
    binding: bound.binding,
    session: bound.session,
    signedBytes: signed,
  };
}
