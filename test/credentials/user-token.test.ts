/**
 * End-user token verification (DESIGN §4): a trusted issuer, its published key, its audience,
 * a live lifetime and a subject — or a 4010 whose message never holds the token. Tokens are
 * signed here with node:crypto (RS256, ES256, EdDSA), the same primitives an identity provider uses.
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { issuerKeys } from "../../src/auth/issuer-keys.js";
import { createUserTokenVerifier } from "../../src/credentials/user-token.js";
import { GatewayError } from "../../src/errors.js";

const ISS = "http://127.0.0.1:1/realms/seal";
const AUD = "seal-gateway";
const NOW = 1_800_000_000;

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

function jwt(claims: Record<string, unknown>, opts: { alg?: string; key?: KeyObject; kid?: string } = {}) {
  const alg = opts.alg ?? "RS256";
  const input = `${enc({ alg, kid: opts.kid ?? "k1", typ: "JWT" })}.${enc(claims)}`;
  const key = opts.key ?? rsa.privateKey;
  const sig =
    alg === "EdDSA"
      ? sign(null, Buffer.from(input), key)
      : sign("sha256", Buffer.from(input), alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key);
  return `${input}.${sig.toString("base64url")}`;
}

const good = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  aud: [AUD, "account"],
  sub: "user-1",
  iat: NOW - 10,
  exp: NOW + 300,
  ...extra,
});

const jwks = {
  keys: [
    { ...(rsa.publicKey.export({ format: "jwk" }) as object), kid: "k1", use: "sig" },
    { ...(ec.publicKey.export({ format: "jwk" }) as object), kid: "k-ec" },
    { ...(ed.publicKey.export({ format: "jwk" }) as object), kid: "k-ed" },
  ],
};
let fetches = 0;
const keys = issuerKeys(
  { issuer: ISS, audience: AUD, jwks_url: `${ISS}/protocol/openid-connect/certs` },
  {
    fetchImpl: (async () => {
      fetches++;
      return new Response(JSON.stringify(jwks), { headers: { "content-type": "application/json" } });
    }) as typeof fetch,
  },
);
const verifier = createUserTokenVerifier([keys], { toleranceSeconds: 30, maxLifetimeSeconds: 86_400 });

async function reason(token: unknown): Promise<string> {
  const err = await verifier.verify(token, NOW).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  const g = err as GatewayError;
  expect(g.sealCode).toBe(4010);
  if (typeof token === "string" && token.length > 0) {
    expect(g.message).not.toContain(token);
    expect(JSON.stringify(g.details)).not.toContain(token);
  }
  return String(g.details.reason);
}

describe("end-user token verification", () => {
  it("accepts a token of a trusted issuer (RS256, ES256, EdDSA) and gives the verified sub", async () => {
    expect(await verifier.verify(jwt(good()), NOW)).toEqual({
      subject: "user-1",
      issuer: ISS,
      expiresAt: NOW + 300,
    });
    expect(
      (await verifier.verify(jwt(good(), { alg: "ES256", key: ec.privateKey, kid: "k-ec" }), NOW)).subject,
    ).toBe("user-1");
    expect(
      (await verifier.verify(jwt(good(), { alg: "EdDSA", key: ed.privateKey, kid: "k-ed" }), NOW)).subject,
    ).toBe("user-1");
    expect(fetches).toBe(1);
  });

  it.each([
    ["expired", good({ exp: NOW - 60 }), "user_token_expired"],
    ["not yet valid", good({ nbf: NOW + 600 }), "user_token_claims"],
    ["for another audience", good({ aud: "someone-else" }), "user_token_claims"],
    ["without a subject", good({ sub: undefined }), "user_token_claims"],
    ["without an expiry", good({ exp: undefined }), "user_token_claims"],
    ["living too long", good({ exp: NOW + 90_000 }), "user_token_claims"],
    [
      "from another issuer, signed with the trusted key",
      good({ iss: "http://127.0.0.1:1/realms/other" }),
      "user_token_issuer",
    ],
  ])("refuses a token %s", async (_name, claims, expected) => {
    expect(await reason(jwt(claims))).toBe(expected);
  });

  it("refuses a token signed by a key the issuer does not publish, or under an unknown kid", async () => {
    expect(await reason(jwt(good(), { key: stranger.privateKey }))).toBe("user_token_signature");
    expect(await reason(jwt(good(), { kid: "k-unknown" }))).toBe("user_token_signature");
  });

  it("refuses an unsigned (alg none) token and one whose alg does not match the key (RS256 header, EC key)", async () => {
    expect(await reason(`${enc({ alg: "none", kid: "k1" })}.${enc(good())}.`)).toBe("user_token_signature");
    const confused = jwt(good(), { alg: "ES256", key: ec.privateKey, kid: "k1" });
    expect(await reason(confused)).toBe("user_token_signature");
  });

  it.each([
    ["missing", undefined, "user_token_missing"],
    ["empty", "", "user_token_missing"],
    ["not a string", 42, "user_token_missing"],
    ["garbage", "not.a.jwt", "user_token_malformed"],
    ["two segments", "abc.def", "user_token_malformed"],
    ["oversized", "a".repeat(20_000), "user_token_too_large"],
  ])("refuses a %s token", async (_name, value, expected) => {
    expect(await reason(value)).toBe(expected);
  });

  it("refuses when the issuer's keys cannot be fetched, without the endpoint's answer", async () => {
    const down = createUserTokenVerifier(
      [
        issuerKeys(
          { issuer: ISS, audience: AUD, jwks_url: `${ISS}/certs` },
          {
            fetchImpl: (async () =>
              new Response("internal: db password hunter2", { status: 500 })) as typeof fetch,
          },
        ),
      ],
      { toleranceSeconds: 30, maxLifetimeSeconds: 86_400 },
    );
    const err = await down.verify(jwt(good()), NOW).catch((e: GatewayError) => e);
    // issuerKeys keeps serving cached keys through an outage; with none cached the kid is unknown.
    expect((err as GatewayError).details.reason).toBe("user_token_signature");
    expect(JSON.stringify(err) + (err as GatewayError).message).not.toContain("hunter2");
    const throwing = createUserTokenVerifier(
      [
        {
          issuer: ISS,
          audience: AUD,
          algorithms: undefined,
          key: async () => {
            throw new Error("jwks: connection refused (token hunter2)");
          },
        },
      ],
      { toleranceSeconds: 30, maxLifetimeSeconds: 86_400 },
    );
    const err2 = await throwing.verify(jwt(good()), NOW).catch((e: GatewayError) => e);
    expect((err2 as GatewayError).details.reason).toBe("user_token_keys_unavailable");
    expect(JSON.stringify(err2) + (err2 as GatewayError).message).not.toContain("hunter2");
  });

  it("refuses to be built for an issuer without an audience", () => {
    expect(() =>
      createUserTokenVerifier([issuerKeys({ issuer: ISS, public_key: JSON.stringify(jwks.keys[0]) })], {
        toleranceSeconds: 30,
        maxLifetimeSeconds: 86_400,
      }),
    ).toThrow(/audience/);
  });
});
