import { hash } from "node:crypto";
import type { AgentClaims, TokenAuthority } from "../auth/tokens.js";
import { canonicalBytes } from "../seal/canonical.js";
import { decodeSignature, type Ed25519PublicKey, verifyEd25519Async } from "../seal/ed25519.js";
import type { Envelope } from "../seal/envelope.js";
import type { SessionRow, Store } from "../store/types.js";
import { authFail, type Binding, verifyAgentToken } from "./agent-token.js";

/**
 * Steps 3–7 of DESIGN §2, in that order: freshness, token, key binding, envelope signature,
 * replay. Claims of the token are used for nothing but choosing a key until the token's own
 * signature verified, and nothing unverified is ever written to the replay store.
 */

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

export async function authenticate(
  env: Envelope,
  deps: {
    store: Store;
    tokens: TokenAuthority;
    settings: AuthenticateSettings;
    nowMs: number;
    /**
     * Told the verified signer right before the replay claim, so reads the call will need can
     * start and overlap the claim's commit; nothing may be decided from them before it.
     */
    onSigned?: (signer: { tenantId: string; claims: AgentClaims }) => void;
  },
): Promise<Authenticated> {
  const { store, tokens, settings, nowMs } = deps;
  const nowS = Math.floor(nowMs / 1000);

  // 3. freshness
  const skew = env.timestampSeconds - nowS;
  if (skew < -settings.freshnessSeconds)
    throw authFail("TOKEN_EXPIRED", "stale_timestamp", "the envelope timestamp is too old");
  if (skew > settings.freshnessSeconds)
    throw authFail("TOKEN_EXPIRED", "future_timestamp", "the envelope timestamp is in the future");

  // 4. token (4b: expiry answers 1003); 5. key binding (first match wins: session, cnf,
  // registered agent key) with the session's or key's status
  const bound = await verifyAgentToken(env.securityToken, { store, tokens, nowMs });
  const { claims, tenantId } = bound;

  // 6. signature encoding, then the signature over the canonical bytes
  const sig = decodeSignature(env.signature);
  if (!sig.ok) throw authFail("INVALID_KEY", "bad_signature_encoding", sig.message, claims);
  const signed = canonicalBytes(env.payload, env.securityToken, env.timestampSeconds);
  if (!(await anyKeyVerifies(bound.keys, signed, sig.bytes))) {
    throw authFail(
      "SIGNATURE_MISMATCH",
      "signature_mismatch",
      "the envelope signature does not verify",
      claims,
    );
  }

  deps.onSigned?.({ tenantId, claims });

  // 7. replay: the record outlives the window in which the envelope could still be fresh
  const replayKey =
    settings.replayScope === "token"
      ? `t:${claims.jti}`
      : `e:${claims.jti}:${hash("sha256", signed, "base64url")}`;
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

/** The keys in order, the first that verifies wins; each check runs in the thread pool. */
async function anyKeyVerifies(
  keys: readonly Ed25519PublicKey[],
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  for (const key of keys) if (await verifyEd25519Async(key, message, signature)) return true;
  return false;
}
