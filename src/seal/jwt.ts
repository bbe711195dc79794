import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";

/**
 * Compact JWS/JWT verification on node:crypto. Written out rather than delegated because the
 * checks are the security boundary and sit on the hot path: the algorithm comes from an
 * allow-list and must match the key's type (no alg confusion, no `none`, no HMAC ever), and
 * claims are checked only after the signature verified.
 */

export type JwtAlg = "EdDSA" | "Ed25519" | "RS256" | "ES256";

export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
  [k: string]: unknown;
}

export type JwtClaims = Record<string, unknown> & {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
};

export type JwtFailure = {
  ok: false;
  /** DESIGN §2 details.reason. */
  reason: string;
  message: string;
  expired?: boolean;
};

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: Buffer;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(seg: string): Buffer | null {
  if (!B64URL.test(seg) || seg.length % 4 === 1) return null;
  return Buffer.from(seg, "base64url");
}

function parseObject(buf: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(buf.toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const bad = (reason: string, message: string): JwtFailure => ({ ok: false, reason, message });

/** Splits and decodes without verifying; used only to choose the key. */
export function decodeJwt(token: string): { ok: true; jwt: DecodedJwt } | JwtFailure {
  if (token.length > 16384) return bad("bad_token", "token too large");
  const parts = token.split(".");
  if (parts.length !== 3) return bad("bad_token", "token is not a compact JWS");
  const [h, p, s] = parts as [string, string, string];
  const hb = decodeSegment(h);
  const pb = decodeSegment(p);
  const sb = decodeSegment(s);
  if (!hb || !pb || !sb) return bad("bad_token", "token segments are not base64url");
  const header = parseObject(hb);
  const claims = parseObject(pb);
  if (!header || !claims) return bad("bad_token", "token header or claims are not JSON objects");
  if (typeof header.alg !== "string") return bad("bad_token", "token header has no alg");
  if (header.crit !== undefined) return bad("bad_token", "critical header parameters are not supported");
  return {
    ok: true,
    jwt: {
      header: header as JwtHeader,
      claims: claims as JwtClaims,
      signingInput: Buffer.from(`${h}.${p}`, "ascii"),
      signature: sb,
    },
  };
}

/** The key type each algorithm requires; a key of any other type never verifies it. */
function keyMatchesAlg(key: KeyObject, alg: JwtAlg): boolean {
  const t = key.asymmetricKeyType;
  if (alg === "EdDSA" || alg === "Ed25519") return t === "ed25519";
  if (alg === "RS256") return t === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  return t === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
}

/**
 * True when `alg` is on the allow-list. "EdDSA" and "Ed25519" (RFC 9864) name the same
 * algorithm for an Ed25519 key, so allowing either spelling allows both; otherwise a list
 * naming only "Ed25519" would refuse the gateway's own EdDSA tokens.
 */
export function algAllowed(alg: unknown, allowed: readonly JwtAlg[]): alg is JwtAlg {
  if (alg === "EdDSA" || alg === "Ed25519") return allowed.includes("EdDSA") || allowed.includes("Ed25519");
  return typeof alg === "string" && allowed.includes(alg as JwtAlg);
}

export function verifySignature(
  jwt: DecodedJwt,
  key: KeyObject,
  allowed: readonly JwtAlg[],
): JwtFailure | null {
  const alg = jwt.header.alg;
  // The alg is unverified caller text: echoed only in short form (answers and audit rows).
  if (!algAllowed(alg, allowed))
    return bad(
      "alg_not_allowed",
      `token algorithm ${JSON.stringify(String(alg).slice(0, 32))} is not allowed`,
    );
  if (key.type !== "public" || !keyMatchesAlg(key, alg))
    return bad("bad_token", "token algorithm does not match the issuer's key");
  let ok = false;
  try {
    if (alg === "EdDSA" || alg === "Ed25519") ok = cryptoVerify(null, jwt.signingInput, key, jwt.signature);
    else if (alg === "RS256") ok = cryptoVerify("sha256", jwt.signingInput, key, jwt.signature);
    else
      ok =
        jwt.signature.length === 64 &&
        cryptoVerify("sha256", jwt.signingInput, { key, dsaEncoding: "ieee-p1363" }, jwt.signature);
  } catch {
    ok = false;
  }
  return ok ? null : bad("bad_token", "token signature does not verify");
}

export interface ClaimRules {
  nowSeconds: number;
  toleranceSeconds: number;
  maxLifetimeSeconds: number;
  required: readonly string[];
  audience?: string;
  issuer?: string;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Claim checks, in the order DESIGN §2 reports them. Expiry is reported separately (1003). */
export function checkClaims(c: JwtClaims, rules: ClaimRules): JwtFailure | null {
  // Issuer and audience first: a token minted for another plane or service is simply not a
  // token for this one (bad_token), whatever claims it happens to lack.
  if (rules.issuer !== undefined && c.iss !== rules.issuer)
    return bad("bad_token", "token issuer is not accepted here");
  if (rules.audience !== undefined) {
    const aud = c.aud;
    const list = Array.isArray(aud) ? aud : [aud];
    if (!list.includes(rules.audience)) return bad("bad_token", "token audience is not accepted here");
  }
  for (const name of rules.required) {
    const v = c[name];
    if (v === undefined || v === null || v === "")
      return bad(`missing_claim:${name}`, `token has no ${name} claim`);
  }
  for (const name of ["exp", "iat", "nbf"] as const) {
    if (c[name] !== undefined && !isNum(c[name]))
      return bad("bad_token", `token claim ${name} is not a number`);
  }
  for (const name of ["sub", "jti", "iss"] as const) {
    if (c[name] !== undefined && typeof c[name] !== "string")
      return bad("bad_token", `token claim ${name} is not a string`);
  }
  const { nowSeconds: now, toleranceSeconds: tol } = rules;
  // Capped from iat and from now: a token without iat cannot escape the 24 h limit.
  if (
    isNum(c.exp) &&
    ((isNum(c.iat) && c.exp - c.iat > rules.maxLifetimeSeconds) ||
      c.exp - now > rules.maxLifetimeSeconds + tol)
  ) {
    return bad("lifetime_too_long", "token lifetime exceeds the allowed maximum");
  }
  if (isNum(c.nbf) && c.nbf > now + tol) return bad("not_yet_valid", "token is not valid yet");
  if (isNum(c.iat) && c.iat > now + tol) return bad("not_yet_valid", "token was issued in the future");
  if (isNum(c.exp) && c.exp <= now - tol)
    return { ok: false, reason: "token_expired", message: "token has expired", expired: true };
  return null;
}

/** Signs a compact JWS with the gateway's Ed25519 key. */
export function signJwt(header: JwtHeader, claims: JwtClaims, key: KeyObject): string {
  if (key.asymmetricKeyType !== "ed25519" || header.alg !== "EdDSA")
    throw new Error("the gateway signs with EdDSA only");
  const h = Buffer.from(JSON.stringify(header)).toString("base64url");
  const p = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const sig = cryptoSign(null, Buffer.from(`${h}.${p}`, "ascii"), key).toString("base64url");
  return `${h}.${p}.${sig}`;
}
