import { createPublicKey, type KeyObject } from "node:crypto";
import type { JwtAlg } from "../seal/jwt.js";

/**
 * Keys of trusted external token issuers: a static public key (PEM or JWK JSON) or a JWKS
 * URL. JWKS documents are cached and refetched on an unknown kid, at most once per cooldown,
 * so forged kids cannot make the gateway hammer the identity provider.
 */

export interface IssuerConfig {
  issuer: string;
  audience?: string | undefined;
  jwks_url?: string | undefined;
  public_key?: string | undefined;
  algorithms?: JwtAlg[] | undefined;
}

export interface IssuerKeys {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly algorithms: readonly JwtAlg[] | undefined;
  key(kid: string | undefined): Promise<KeyObject | null>;
}

function importStatic(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith("{"))
    return createPublicKey({ key: JSON.parse(trimmed) as import("node:crypto").JsonWebKey, format: "jwk" });
  return createPublicKey(trimmed);
}

export interface JwksOptions {
  cacheMs?: number;
  cooldownMs?: number;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export function issuerKeys(cfg: IssuerConfig, opts: JwksOptions = {}): IssuerKeys {
  const base = { issuer: cfg.issuer, audience: cfg.audience, algorithms: cfg.algorithms };
  if (cfg.public_key) {
    const key = importStatic(cfg.public_key);
    return { ...base, key: async () => key };
  }
  const url = cfg.jwks_url;
  if (!url) throw new Error(`issuer ${cfg.issuer}: needs public_key or jwks_url`);
  const cacheMs = opts.cacheMs ?? 600_000;
  const cooldownMs = opts.cooldownMs ?? 30_000;
  const doFetch = opts.fetchImpl ?? fetch;
  let keys = new Map<string, KeyObject>();
  let fetchedAt = 0;
  // Failed attempts count too: during an outage every unknown kid (or every call once the cache
  // is stale) would otherwise trigger its own fetch.
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | null = null;

  const refresh = async () => {
    const res = await doFetch(url, {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      redirect: "error",
    });
    if (!res.ok) throw new Error(`JWKS fetch answered ${res.status}`);
    const doc = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(doc.keys)) throw new Error("JWKS document has no keys array");
    const next = new Map<string, KeyObject>();
    for (const jwk of doc.keys as Array<Record<string, unknown>>) {
      if (typeof jwk.kid !== "string" || (jwk.use !== undefined && jwk.use !== "sig")) continue;
      try {
        next.set(jwk.kid, createPublicKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" }));
      } catch {
        // A key type this runtime cannot import is skipped, not fatal for the others.
      }
    }
    keys = next;
    fetchedAt = Date.now();
  };
  const refreshOnce = async () => {
    if (!inflight) {
      attemptedAt = Date.now();
      inflight = refresh().finally(() => {
        inflight = null;
      });
    }
    await inflight;
  };

  return {
    ...base,
    async key(kid) {
      if (!kid) return null;
      const now = Date.now();
      const wanted = fetchedAt === 0 || now - fetchedAt > cacheMs || !keys.has(kid);
      // A fetch already under way is joined; a new one starts at most once per cooldown.
      if (wanted && (inflight !== null || now - attemptedAt > cooldownMs)) {
        try {
          await refreshOnce();
        } catch {
          // Keep serving cached keys when the provider is briefly down; an unknown kid fails.
        }
      }
      return keys.get(kid) ?? null;
    },
  };
}
