/**
 * Operator tokens from external identity providers: a real JWKS endpoint on loopback (RS256 and
 * ES256 keys, rotation, outages) and a pinned PEM public key. Date.now (the JWKS cache's clock)
 * is skewed forward, never back; each test starts from `fresh()` and counts fetches as deltas,
 * so no test depends on another having run.
 */
import { createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearer, expectError, expectJson, nowSeconds } from "./support.js";

const IDP = "https://idp.example.test";
const IDP_AUDIENCE = "seal-gw-ops";
const STATIC = "https://static.example.test";
const COOLDOWN_MS = 30_000;

type Alg = "RS256" | "ES256" | "HS256";

function rsaKey() {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

function publicJwk(key: KeyObject, kid: string, alg: string): Record<string, unknown> {
  return { ...key.export({ format: "jwk" }), kid, alg, use: "sig" };
}

function signToken(
  alg: Alg,
  key: KeyObject | Buffer,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const h = Buffer.from(JSON.stringify({ alg, typ: "JWT", ...header })).toString("base64url");
  const p = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const input = Buffer.from(`${h}.${p}`);
  let sig: Buffer;
  if (alg === "HS256")
    sig = createHmac("sha256", key as Buffer)
      .update(input)
      .digest();
  else if (alg === "ES256") sig = sign("sha256", input, { key: key as KeyObject, dsaEncoding: "ieee-p1363" });
  else sig = sign("sha256", input, key as KeyObject);
  return `${h}.${p}.${sig.toString("base64url")}`;
}

describe.each(BACKENDS)("external operator issuers (%s)", (backend) => {
  const rs1 = rsaKey();
  const ec1 = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const stranger = rsaKey();
  const pinned = rsaKey();
  const hmacSecret = randomBytes(32);

  let server: Server;
  let t: TestGateway;
  let fetches = 0;
  let failing = false;
  let served: Array<Record<string, unknown>> = [];
  let skew = 0;
  const realNow = Date.now;
  const baseline = () => [
    publicJwk(rs1.publicKey, "rs-1", "RS256"),
    publicJwk(ec1.publicKey, "ec-1", "ES256"),
    // Neither may ever verify anything: a symmetric key and an encryption key.
    { kty: "oct", kid: "hmac-1", k: hmacSecret.toString("base64url"), alg: "HS256" },
    { ...publicJwk(stranger.publicKey, "enc-1", "RS256"), use: "enc" },
  ];
  /** Endpoint up with the baseline keys, and the refetch cooldown elapsed. */
  const fresh = () => {
    failing = false;
    served = baseline();
    skew += COOLDOWN_MS + 1000;
  };

  const claims = (t: TestGateway, extra: Record<string, unknown> = {}) => ({
    iss: IDP,
    aud: IDP_AUDIENCE,
    sub: "alice@idp",
    iat: nowSeconds(t),
    exp: nowSeconds(t) + 600,
    role: "admin",
    tenant_id: "*",
    ...extra,
  });
  const events = (token: string) => t.request("/v1/events?limit=1", { headers: bearer(token) });
  const rsToken = (kid: string, key: KeyObject, extra: Record<string, unknown> = {}) =>
    signToken("RS256", key, { kid }, claims(t, extra));

  beforeAll(async () => {
    served = baseline();
    server = createServer((req, res) => {
      if (req.url !== "/jwks") {
        res.writeHead(404).end();
        return;
      }
      fetches += 1;
      if (failing) {
        res.writeHead(503).end("down");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    t = await startTestGateway(
      backend,
      {},
      {
        config: {
          operator: {
            issuers: [
              { issuer: IDP, jwks_url: `http://127.0.0.1:${port}/jwks`, audience: IDP_AUDIENCE },
              {
                issuer: STATIC,
                public_key: pinned.publicKey.export({ format: "pem", type: "spki" }).toString(),
              },
            ],
          },
        },
      },
    );
    vi.spyOn(Date, "now").mockImplementation(() => realNow.call(Date) + skew);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("fetches the JWKS once, then serves RS256 and ES256 keys from the cache", async () => {
    fresh();
    const rsNew = rsaKey();
    served.push(publicJwk(rsNew.publicKey, "rs-new", "RS256"));
    const before = fetches;
    await expectJson(await events(rsToken("rs-new", rsNew.privateKey)), 200);
    expect(fetches - before).toBe(1);
    await expectJson(await events(signToken("ES256", ec1.privateKey, { kid: "ec-1" }, claims(t))), 200);
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
    await expectJson(await events(rsToken("rs-new", rsNew.privateKey)), 200);
    expect(fetches - before).toBe(1);
  });

  it("applies the role and tenant claims of external tokens", async () => {
    fresh();
    const viewer = rsToken("rs-1", rs1.privateKey, { role: "viewer", tenant_id: "acme" });
    await expectJson(await events(viewer), 200);
    const body = () => ({ sub: "x", public_key_b64: generateKeyPair().publicKeyB64 });
    await expectError(await t.request("/v1/agent-keys", jsonInit("POST", body(), viewer)), 403, "wrong_role");
    const op = rsToken("rs-1", rs1.privateKey, { role: "operator", tenant_id: "acme" });
    const key = await expectJson<{ tenant_id: string }>(
      await t.request("/v1/agent-keys", jsonInit("POST", body(), op)),
      201,
    );
    expect(key.tenant_id).toBe("acme");
  });

  it("refuses external tokens that are wrong in any way", async () => {
    fresh();
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
    const bad: Array<[string, string]> = [
      [
        "the gateway's own operator audience",
        rsToken("rs-1", rs1.privateKey, { aud: "seal-gateway/operator" }),
      ],
      ["signed by a key that is not in the JWKS", rsToken("rs-1", stranger.privateKey)],
      ["an RSA signature under the EC key's kid", rsToken("ec-1", rs1.privateKey)],
      ["an ES256 signature labelled RS256", signToken("RS256", ec1.privateKey, { kid: "ec-1" }, claims(t))],
      ["an encryption key", rsToken("enc-1", stranger.privateKey)],
      ["no kid", signToken("RS256", rs1.privateKey, {}, claims(t))],
      [
        "the static issuer's name with a JWKS key",
        rsToken("rs-1", rs1.privateKey, { iss: STATIC, aud: "seal-gateway/operator" }),
      ],
      ["expired", rsToken("rs-1", rs1.privateKey, { iat: nowSeconds(t) - 7200, exp: nowSeconds(t) - 3600 })],
      ["no role", rsToken("rs-1", rs1.privateKey, { role: undefined })],
    ];
    for (const [name, token] of bad) {
      const res = await events(token);
      expect(res.status, name).toBe(401);
      await expectError(res, 401);
    }
  });

  it("refuses HS256 tokens: the RSA public key as HMAC secret, and a symmetric JWKS key", async () => {
    fresh();
    const pem = pinned.publicKey.export({ format: "pem", type: "spki" }).toString();
    const staticClaims = { ...claims(t), iss: STATIC, aud: "seal-gateway/operator" };
    // The same claims RS256-signed are accepted, so only the algorithm makes the difference.
    await expectJson(await events(signToken("RS256", pinned.privateKey, {}, staticClaims)), 200);
    for (const secret of [Buffer.from(pem), Buffer.from(pem.trim())]) {
      await expectError(await events(signToken("HS256", secret, {}, staticClaims)), 401, "alg_not_allowed");
      await expectError(
        await events(signToken("HS256", secret, { kid: "any" }, staticClaims)),
        401,
        "alg_not_allowed",
      );
    }
    const der = pinned.publicKey.export({ format: "der", type: "spki" });
    await expectError(await events(signToken("HS256", der, {}, staticClaims)), 401, "alg_not_allowed");
    await expectError(
      await events(signToken("HS256", hmacSecret, { kid: "hmac-1" }, claims(t))),
      401,
      "alg_not_allowed",
    );
  });

  it("accepts RS256 tokens from the pinned PEM issuer, with the operator audience", async () => {
    const c = { ...claims(t), iss: STATIC, aud: "seal-gateway/operator" };
    await expectJson(await events(signToken("RS256", pinned.privateKey, {}, c)), 200);
    await expectJson(await events(signToken("RS256", pinned.privateKey, { kid: "ignored" }, c)), 200);
    await expectError(await events(signToken("RS256", stranger.privateKey, {}, c)), 401);
    await expectError(
      await events(signToken("RS256", pinned.privateKey, {}, { ...c, aud: IDP_AUDIENCE })),
      401,
    );
  });

  it("picks up a rotated key once the refetch cooldown allows, and drops the retired one", async () => {
    fresh();
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
    const rotated = rsaKey();
    served = served.filter((k) => k.kid !== "rs-1");
    served.push(publicJwk(rotated.publicKey, "rs-rotated", "RS256"));
    skew += COOLDOWN_MS + 1000;
    const before = fetches;
    await expectJson(await events(rsToken("rs-rotated", rotated.privateKey)), 200);
    expect(fetches - before).toBe(1);
    await expectError(await events(rsToken("rs-1", rs1.privateKey)), 401);
    await expectJson(await events(rsToken("rs-rotated", rotated.privateKey)), 200);
    expect(fetches - before).toBe(1);
  });

  it("rate-limits refetches: a flood of unknown kids costs at most one fetch", async () => {
    fresh();
    const before = fetches;
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) => events(rsToken(`forged-${i}`, stranger.privateKey))),
    );
    expect(flood.map((r) => r.status)).toEqual(Array(40).fill(401));
    for (let i = 0; i < 20; i++) {
      await expectError(await events(rsToken(`forged-seq-${i}`, stranger.privateKey)), 401);
    }
    expect(fetches - before).toBeLessThanOrEqual(1);
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
  });

  it("keeps serving cached keys while the JWKS endpoint fails, without hammering it", async () => {
    fresh();
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
    failing = true;
    skew += COOLDOWN_MS + 1000;
    const before = fetches;
    for (let i = 0; i < 20; i++) {
      await expectError(await events(rsToken(`down-${i}`, stranger.privateKey)), 401);
    }
    expect(fetches - before, "unknown kids during an outage").toBeLessThanOrEqual(1);
    await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);

    // Past the cache lifetime, every request wants a refresh; still only one per cooldown.
    skew += 11 * 60_000;
    const stale = fetches;
    for (let i = 0; i < 20; i++) await expectJson(await events(rsToken("rs-1", rs1.privateKey)), 200);
    expect(fetches - stale, "known kid past the cache lifetime during an outage").toBeLessThanOrEqual(1);

    // Back up: the next unknown kid after the cooldown is fetched and verifies.
    failing = false;
    const late = rsaKey();
    served.push(publicJwk(late.publicKey, "rs-late", "RS256"));
    skew += COOLDOWN_MS + 1000;
    await expectJson(await events(rsToken("rs-late", late.privateKey)), 200);
  });
});
