/**
 * Callers for the suite: session agents (through the API), registered-key agents, cnf-bound
 * agents, and hand-made JWTs (custom claims, foreign keys, hostile headers) so every token
 * check can be reached on purpose.
 */
import { createHmac, sign as cryptoSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { expect } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { signJwt } from "../../src/seal/jwt.js";
import { type Agent, createSessionAgent, jsonInit, type TestGateway } from "../support/gateway.js";
import { nowSeconds, uid } from "./helpers.js";

export type { Agent };

export interface Caller {
  token: string;
  privateKeyB64: string;
  publicKeyB64: string;
  sub: string;
  tenant: string;
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A session agent with a fresh sub, so no two tests share sessions or replay records. */
export async function sessionAgent(
  t: TestGateway,
  opts: { context?: string; tenant?: string } = {},
): Promise<Agent & Caller> {
  const sub = uid("agent");
  const tenant = opts.tenant ?? "default";
  const agent = await createSessionAgent(t, { sub, context: opts.context ?? "default", tenant });
  return { ...agent, sub, tenant };
}

/** The claims a gateway-minted agent token carries, with overrides (undefined removes one). */
export function agentClaims(t: TestGateway, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds(t);
  const base: Record<string, unknown> = {
    iss: t.config.seal.issuer,
    aud: t.config.seal.agent_audience,
    sub: uid("agent"),
    scp: "default",
    wid: uid("wid"),
    jti: uid("jti"),
    iat: now,
    exp: now + 600,
    tenant_id: "default",
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

/** Signs claims with the gateway's own key (a token the gateway truly issued). */
export function gatewayToken(
  t: TestGateway,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const { kid, privateKey } = t.gw.services.tokens.signingKey;
  return signJwt({ alg: "EdDSA", typ: "JWT", kid, ...header }, claims, privateKey);
}

/** Signs with an arbitrary Ed25519 or RSA key under any header (forgeries). */
export function foreignToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const digest = key.asymmetricKeyType === "ed25519" ? null : "sha256";
  return `${input}.${cryptoSign(digest, Buffer.from(input), key).toString("base64url")}`;
}

export function hmacToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  secret: Buffer,
): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

export function unsignedToken(claims: Record<string, unknown>): string {
  return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
}

let rsa: KeyObject | undefined;
/** One RSA key per worker: generating one costs ~100 ms and any untrusted key serves. */
export const rsaKey = (): KeyObject => {
  rsa ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  return rsa;
};
export const ed25519Key = (): KeyObject => generateKeyPairSync("ed25519").privateKey;

/** Registers `publicKeyB64` (or a JWK) for `sub` through POST /v1/agent-keys; returns the key id. */
export async function registerKey(
  t: TestGateway,
  sub: string,
  key: { public_key_b64: string } | { jwk: Record<string, unknown> },
  tenant = "default",
): Promise<string> {
  const res = await t.request(
    "/v1/agent-keys",
    jsonInit("POST", { sub, tenant_id: tenant, ...key }, t.adminToken()),
  );
  const body = (await res.json()) as { id: string };
  expect(res.status).toBe(201);
  return body.id;
}

/** A CI-style caller: a registered key and a gateway token with neither exec_id nor cnf. */
export async function keyAgent(
  t: TestGateway,
  opts: { jwk?: boolean } = {},
): Promise<Caller & { keyId: string; jti: string }> {
  const pair = generateKeyPair();
  const sub = uid("ci");
  const x = Buffer.from(pair.publicKeyB64, "base64").toString("base64url");
  const keyId = await registerKey(
    t,
    sub,
    opts.jwk ? { jwk: { kty: "OKP", crv: "Ed25519", x } } : { public_key_b64: pair.publicKeyB64 },
  );
  const { token, claims } = t.gw.services.tokens.mintAgentToken({
    sub,
    scp: "default",
    wid: uid("wid"),
    tenantId: "default",
    ttlSeconds: 600,
    nowSeconds: nowSeconds(t),
  });
  return { ...pair, token, sub, tenant: "default", keyId, jti: claims.jti };
}

/** An attestation-style caller: the key travels in the token's cnf.jwk. */
export function cnfAgent(t: TestGateway, x?: string): Caller & { jti: string } {
  const pair = generateKeyPair();
  const sub = uid("att");
  const jwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: x ?? Buffer.from(pair.publicKeyB64, "base64").toString("base64url"),
  };
  const { token, claims } = t.gw.services.tokens.mintAgentToken({
    sub,
    scp: "default",
    wid: uid("wid"),
    tenantId: "default",
    ttlSeconds: 600,
    nowSeconds: nowSeconds(t),
    cnfJwk: jwk,
  });
  return { ...pair, token, sub, tenant: "default", jti: claims.jti };
}
