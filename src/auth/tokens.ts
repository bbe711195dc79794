import { hash, type KeyObject } from "node:crypto";
import { newId } from "../ids.js";
import type { Keyring } from "../keys/keyring.js";
import {
  algAllowed,
  checkClaims,
  type DecodedJwt,
  decodeJwt,
  type JwtAlg,
  type JwtClaims,
  type JwtFailure,
  signJwt,
  verifySignature,
} from "../seal/jwt.js";
import type { IssuerKeys } from "./issuer-keys.js";

/**
 * Agent tokens (SEAL security tokens) and operator tokens (control plane). The two planes use
 * distinct audiences and `typ`, and each plane refuses the other's tokens.
 */

export const OPERATOR_TYP = "operator+jwt";
export const MAX_LIFETIME_SECONDS = 86_400;
export const DEFAULT_TENANT = "default";

export interface AgentClaims {
  sub: string;
  scp: string;
  wid: string;
  jti: string;
  iat: number;
  exp: number;
  iss?: string;
  exec_id?: string;
  tenant_id?: string;
  cnf?: { jwk?: Record<string, unknown> };
}

export interface TokenSettings {
  issuer: string;
  agentAudience: string;
  operatorAudience: string;
  algorithms: readonly JwtAlg[];
  toleranceSeconds: number;
  roleClaim: string;
  tenantClaim: string;
  /** How long a verified token signature is remembered (default 300 s; 0: not at all). */
  verifiedCacheSeconds?: number;
  /** How many verified tokens are remembered at most (default 10,000). */
  verifiedCacheEntries?: number;
}

export type Verified<T> = { ok: true; claims: T; header: DecodedJwt["header"] } | JwtFailure;

const AGENT_REQUIRED = ["sub", "scp", "wid", "jti", "iat", "exp"] as const;
const VERIFIED_CACHE_MAX = 10_000;
const VERIFIED_CACHE_SECONDS = 300;

export type OperatorRole = "admin" | "approver" | "operator" | "viewer" | "orchestrator";
/**
 * Strongest first. `orchestrator` is last: it is not above or below the others but beside
 * them (it may only invoke over gRPC), so a token naming it with a control-plane role gets
 * the control-plane role.
 */
export const OPERATOR_ROLES: readonly OperatorRole[] = [
  "admin",
  "approver",
  "operator",
  "viewer",
  "orchestrator",
];

export interface OperatorIdentity {
  sub: string;
  role: OperatorRole;
  /** A tenant, or "*" (admin across tenants). */
  tenant: string;
}

export class TokenAuthority {
  constructor(
    private readonly keyring: Keyring,
    private readonly settings: TokenSettings,
    private readonly agentIssuers: readonly IssuerKeys[],
    private readonly operatorIssuers: readonly IssuerKeys[],
  ) {}

  /** Chooses the verification key for a token from its (unverified) iss and kid. */
  private async keyFor(jwt: DecodedJwt, issuers: readonly IssuerKeys[]) {
    const iss = jwt.claims.iss;
    const kid = typeof jwt.header.kid === "string" ? jwt.header.kid : undefined;
    if (iss === this.settings.issuer) {
      const key = kid ? await this.keyring.publicKey(kid) : null;
      return key ? { key, issuer: undefined as IssuerKeys | undefined } : null;
    }
    const issuer = issuers.find((i) => i.issuer === iss);
    if (!issuer) return null;
    const key = await issuer.key(kid);
    return key ? { key, issuer } : null;
  }

  private async verify(
    token: string,
    nowSeconds: number,
    issuers: readonly IssuerKeys[],
    audience: string,
    required: readonly string[],
  ): Promise<{ ok: true; jwt: DecodedJwt } | JwtFailure> {
    const decoded = decodeJwt(token);
    if (!decoded.ok) return decoded;
    const { jwt } = decoded;
    if (!algAllowed(jwt.header.alg, this.settings.algorithms)) {
      return { ok: false, reason: "alg_not_allowed", message: "token algorithm is not allowed" };
    }
    const found = await this.keyFor(jwt, issuers);
    if (!found) return { ok: false, reason: "bad_token", message: "token issuer or key id is not trusted" };
    const allowed = found.issuer?.algorithms ?? this.settings.algorithms;
    const sigFail = verifySignature(jwt, found.key, allowed);
    if (sigFail) return sigFail;
    const claimFail = checkClaims(jwt.claims, {
      nowSeconds,
      toleranceSeconds: this.settings.toleranceSeconds,
      maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
      required,
      audience: found.issuer?.audience ?? audience,
    });
    return claimFail ?? { ok: true, jwt };
  }

  /**
   * Agent tokens are reused for many calls, so a token whose signature verified is
   * remembered (by its SHA-256, bounded) and later uses skip the signature — never the
   * time checks, which are re-run on every call (RFC §6.3.3's fast path).
   */
  private readonly verified = new Map<
    string,
    { claims: JwtClaims; header: DecodedJwt["header"]; audience: string; at: number }
  >();

  async verifyAgentToken(token: string, nowSeconds: number): Promise<Verified<AgentClaims>> {
    const digest = hash("sha256", token, "base64url");
    const hit = this.verified.get(digest);
    // An issuer may drop a key from its JWKS: a remembered verification lasts 5 minutes at most.
    const cacheSeconds = this.settings.verifiedCacheSeconds ?? VERIFIED_CACHE_SECONDS;
    if (hit && nowSeconds - hit.at > cacheSeconds) this.verified.delete(digest);
    else if (hit) {
      const timeFail = checkClaims(hit.claims, {
        nowSeconds,
        toleranceSeconds: this.settings.toleranceSeconds,
        maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
        required: AGENT_REQUIRED,
        audience: hit.audience,
      });
      if (timeFail) return timeFail;
      return { ok: true, claims: hit.claims as unknown as AgentClaims, header: hit.header };
    }
    const result = await this.verifyAgentTokenUncached(token, nowSeconds);
    if (result.ok && cacheSeconds > 0) {
      if (this.verified.size >= (this.settings.verifiedCacheEntries ?? VERIFIED_CACHE_MAX)) {
        const oldest = this.verified.keys().next();
        if (!oldest.done) this.verified.delete(oldest.value);
      }
      const aud = result.claims as unknown as JwtClaims;
      this.verified.set(digest, {
        claims: aud,
        header: result.header,
        audience: this.audienceFor(aud),
        at: nowSeconds,
      });
    }
    return result;
  }

  private audienceFor(claims: JwtClaims): string {
    if (claims.iss === this.settings.issuer) return this.settings.agentAudience;
    return this.agentIssuers.find((i) => i.issuer === claims.iss)?.audience ?? this.settings.agentAudience;
  }

  private async verifyAgentTokenUncached(token: string, nowSeconds: number): Promise<Verified<AgentClaims>> {
    const r = await this.verify(
      token,
      nowSeconds,
      this.agentIssuers,
      this.settings.agentAudience,
      AGENT_REQUIRED,
    );
    if (!r.ok) return r;
    const c = r.jwt.claims;
    if (r.jwt.header.typ === OPERATOR_TYP)
      return {
        ok: false,
        reason: "bad_token",
        message: "operator tokens are not accepted on the agent plane",
      };
    for (const name of ["scp", "wid", "exec_id", "tenant_id"] as const) {
      if (c[name] !== undefined && typeof c[name] !== "string")
        return { ok: false, reason: "bad_token", message: `token claim ${name} is not a string` };
    }
    if (c.exec_id === "" || c.tenant_id === "")
      return { ok: false, reason: "bad_token", message: "token has an empty exec_id or tenant_id" };
    if (c.cnf !== undefined && (typeof c.cnf !== "object" || c.cnf === null || Array.isArray(c.cnf))) {
      return { ok: false, reason: "bad_token", message: "token claim cnf is not an object" };
    }
    return { ok: true, claims: c as unknown as AgentClaims, header: r.jwt.header };
  }

  async verifyOperatorToken(
    token: string,
    nowSeconds: number,
  ): Promise<{ ok: true; identity: OperatorIdentity } | JwtFailure> {
    const r = await this.verify(token, nowSeconds, this.operatorIssuers, this.settings.operatorAudience, [
      "sub",
      "exp",
    ]);
    if (!r.ok) return r;
    const { header, claims } = r.jwt;
    // Gateway-minted operator tokens carry typ operator+jwt; an agent token (same key, other
    // audience) has already failed the audience check above.
    if (claims.iss === this.settings.issuer && header.typ !== OPERATOR_TYP) {
      return { ok: false, reason: "bad_token", message: "not an operator token" };
    }
    const role = readRole(claims[this.settings.roleClaim]);
    if (!role)
      return { ok: false, reason: "missing_claim:role", message: "token carries no known operator role" };
    const tenantRaw = claims[this.settings.tenantClaim];
    // An unreadable tenant claim is refused, never read as the default tenant.
    if (tenantRaw !== undefined && (typeof tenantRaw !== "string" || tenantRaw === "")) {
      return { ok: false, reason: "bad_token", message: "token tenant claim is not a tenant name" };
    }
    const tenant = tenantRaw ?? DEFAULT_TENANT;
    if (tenant === "*" && role !== "admin")
      return { ok: false, reason: "bad_token", message: "only admin tokens may span tenants" };
    return { ok: true, identity: { sub: String(claims.sub), role, tenant } };
  }

  mintAgentToken(input: {
    sub: string;
    scp: string;
    wid: string;
    tenantId: string;
    ttlSeconds: number;
    nowSeconds: number;
    execId?: string;
    cnfJwk?: Record<string, unknown>;
  }): { token: string; claims: AgentClaims } {
    const claims: AgentClaims & JwtClaims = {
      iss: this.settings.issuer,
      aud: this.settings.agentAudience,
      sub: input.sub,
      scp: input.scp,
      wid: input.wid,
      jti: newId("jti"),
      iat: input.nowSeconds,
      exp: input.nowSeconds + Math.min(input.ttlSeconds, MAX_LIFETIME_SECONDS),
      tenant_id: input.tenantId,
      ...(input.execId ? { exec_id: input.execId } : {}),
      ...(input.cnfJwk ? { cnf: { jwk: input.cnfJwk } } : {}),
    };
    return { token: this.sign("JWT", claims), claims };
  }

  mintOperatorToken(input: {
    sub: string;
    role: OperatorRole;
    tenant: string;
    ttlSeconds: number;
    nowSeconds: number;
  }): string {
    return this.sign(OPERATOR_TYP, {
      iss: this.settings.issuer,
      aud: this.settings.operatorAudience,
      sub: input.sub,
      jti: newId("jti"),
      iat: input.nowSeconds,
      exp: input.nowSeconds + Math.min(input.ttlSeconds, MAX_LIFETIME_SECONDS),
      [this.settings.roleClaim]: input.role,
      [this.settings.tenantClaim]: input.tenant,
    });
  }

  private sign(typ: string, claims: JwtClaims): string {
    return signJwt(
      { alg: "EdDSA", typ, kid: this.keyring.active.kid },
      claims,
      this.keyring.active.privateKey,
    );
  }

  get signingKey(): { kid: string; privateKey: KeyObject } {
    return this.keyring.active;
  }
}

function readRole(v: unknown): OperatorRole | null {
  const candidates = Array.isArray(v) ? v : [v];
  // A token listing several roles gets the strongest one it names.
  for (const role of OPERATOR_ROLES) if (candidates.includes(role)) return role;
  return null;
}
