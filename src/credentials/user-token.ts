/**
 * The end user's token (DESIGN §4, `params._meta["seal/user_token"]`). It rides inside the
 * signed envelope, but the agent could sign any string, so the gateway proves it itself: the
 * issuer must be on the configured list, the signature must verify against that issuer's key
 * (static or JWKS, src/auth/issuer-keys.ts), and aud / exp / nbf must hold. The user is the
 * verified `sub`, never a claim the agent makes. Built on the same node:crypto JWT checks as
 * the gateway's own tokens (src/seal/jwt.ts; docs/decisions.md). The token itself is never
 * stored, logged or echoed: every refusal is 4010 with a `reason` and a fixed message.
 */
import type { IssuerKeys } from "../auth/issuer-keys.js";
import { fail } from "../errors.js";
import { checkClaims, decodeJwt, type JwtAlg, verifySignature } from "../seal/jwt.js";

export interface VerifiedUser {
  /** The verified `sub`. */
  subject: string;
  issuer: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface UserTokenVerifier {
  verify(token: unknown, nowSeconds: number): Promise<VerifiedUser>;
}

export interface UserTokenOptions {
  /** Clock skew allowed on exp / nbf / iat (seconds). */
  toleranceSeconds: number;
  /** The longest lifetime accepted (seconds); an identity provider's access tokens are short. */
  maxLifetimeSeconds: number;
}

const MAX_TOKEN_CHARS = 16_384;
/** Asymmetric algorithms only: an HMAC user token could be forged by anyone holding its key. */
const DEFAULT_ALGORITHMS: readonly JwtAlg[] = ["RS256", "ES256", "EdDSA"];

function refuse(reason: string, message: string): never {
  fail("CREDENTIAL_UNAVAILABLE", reason, message);
}

export function createUserTokenVerifier(
  issuers: readonly IssuerKeys[],
  opts: UserTokenOptions,
): UserTokenVerifier {
  for (const i of issuers)
    if (!i.audience)
      throw new Error(`user-token issuer ${i.issuer}: an audience (the exchanging client) is required`);
  return {
    async verify(token, nowSeconds) {
      if (typeof token !== "string" || token.length === 0)
        refuse("user_token_missing", "the end user's token is missing or not a string");
      if (token.length > MAX_TOKEN_CHARS)
        refuse("user_token_too_large", `the end user's token is longer than ${MAX_TOKEN_CHARS} characters`);
      const decoded = decodeJwt(token);
      if (!decoded.ok) refuse("user_token_malformed", "the end user's token is not a JWT");
      const { jwt } = decoded;
      const trusted = issuers.find((i) => i.issuer === jwt.claims.iss);
      if (!trusted)
        refuse("user_token_issuer", "the end user's token comes from an issuer that is not trusted");
      let key: Awaited<ReturnType<IssuerKeys["key"]>>;
      try {
        key = await trusted.key(typeof jwt.header.kid === "string" ? jwt.header.kid : undefined);
      } catch {
        refuse("user_token_keys_unavailable", "the issuer's signing keys cannot be fetched");
      }
      if (!key)
        refuse("user_token_signature", "the end user's token is signed by a key the issuer does not publish");
      if (verifySignature(jwt, key, trusted.algorithms ?? DEFAULT_ALGORITHMS))
        refuse("user_token_signature", "the end user's token signature cannot be verified");
      const claimFail = checkClaims(jwt.claims, {
        nowSeconds,
        toleranceSeconds: opts.toleranceSeconds,
        maxLifetimeSeconds: opts.maxLifetimeSeconds,
        required: ["sub", "exp"],
        issuer: trusted.issuer,
        audience: trusted.audience as string,
      });
      if (claimFail?.expired) refuse("user_token_expired", "the end user's token has expired");
      // The check's own message names the claim, never its value.
      if (claimFail)
        refuse("user_token_claims", `the end user's token fails a claim check: ${claimFail.message}`);
      return {
        subject: jwt.claims.sub as string,
        issuer: trusted.issuer,
        expiresAt: jwt.claims.exp as number,
      };
    },
  };
}
