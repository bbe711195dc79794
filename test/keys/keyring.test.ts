/**
 * The gateway's signing keys: created once (atomically, even when instances race), shared by
 * every instance on one database, refused under a wrong master key, and never taken from a
 * row whose private half was not sealed under this gateway's master key.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TokenAuthority } from "../../src/auth/tokens.js";
import { masterKeyFromBytes, seal } from "../../src/crypto/sealed-box.js";
import { type Keyring, loadKeyring } from "../../src/keys/keyring.js";
import { MasterKeyError } from "../../src/keys/master-key.js";
import { silentLogger } from "../../src/log/logger.js";
import { signJwt } from "../../src/seal/jwt.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { openRawDb } from "../audit/raw-db.js";
import { BACKENDS, type Backend } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshUrl(backend: Backend): Promise<string> {
  if (backend === "postgres") {
    const db = await freshPgDatabase();
    cleanups.push(db.drop);
    return db.url;
  }
  const dir = mkdtempSync(join(tmpdir(), "seal-keyring-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return `sqlite://${join(dir, "gateway.db")}`;
}

async function store(url: string): Promise<Store> {
  const s = await openStore({ url, durability: "normal" });
  cleanups.push(() => s.close());
  await s.migrate();
  return s;
}

function authority(keyring: Keyring): TokenAuthority {
  return new TokenAuthority(
    keyring,
    {
      issuer: "seal-gateway",
      agentAudience: "seal-gateway/agent",
      operatorAudience: "seal-gateway/operator",
      algorithms: ["EdDSA"],
      toleranceSeconds: 5,
      roleClaim: "role",
      tenantClaim: "tenant_id",
    },
    [],
    [],
  );
}

const NOW = Math.floor(Date.now() / 1000);

describe.each(BACKENDS)("keyring on %s", (backend) => {
  it("instances racing on a fresh database end with ONE signing key, shared by all", async () => {
    const url = await freshUrl(backend);
    const master = masterKeyFromBytes(randomBytes(32));
    const stores = await Promise.all(Array.from({ length: 4 }, () => store(url)));
    const rings = await Promise.all(stores.map((s) => loadKeyring(s, master, silentLogger)));
    expect(new Set(rings.map((r) => r.active.kid)).size).toBe(1);
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    expect(await raw.rows("select kid, status from signing_keys")).toEqual([
      { kid: rings[0]?.active.kid, status: "active" },
    ]);
    // The private half is stored sealed, never in the clear.
    const [row] = await raw.rows("select private_sealed from signing_keys");
    expect(String(row?.private_sealed)).toMatch(/^sb1\./);
  });

  it("a token minted by one instance verifies on another", async () => {
    const url = await freshUrl(backend);
    const master = masterKeyFromBytes(randomBytes(32));
    const [a, b] = await Promise.all([store(url), store(url)]);
    const [ringA, ringB] = await Promise.all([
      loadKeyring(a, master, silentLogger),
      loadKeyring(b, master, silentLogger),
    ]);
    const operator = authority(ringA).mintOperatorToken({
      sub: "ops",
      role: "admin",
      tenant: "*",
      ttlSeconds: 600,
      nowSeconds: NOW,
    });
    expect(await authority(ringB).verifyOperatorToken(operator, NOW)).toEqual({
      ok: true,
      identity: { sub: "ops", role: "admin", tenant: "*" },
    });
    const agent = authority(ringB).mintAgentToken({
      sub: "agent-1",
      scp: "default",
      wid: "w",
      tenantId: "default",
      ttlSeconds: 600,
      nowSeconds: NOW,
    });
    const verified = await authority(ringA).verifyAgentToken(agent.token, NOW);
    expect(verified.ok).toBe(true);
  });

  it("refuses a wrong master key with a clear error that holds no key material", async () => {
    const url = await freshUrl(backend);
    const right = randomBytes(32);
    const wrong = randomBytes(32);
    const s = await store(url);
    await loadKeyring(s, masterKeyFromBytes(right), silentLogger);
    const err: unknown = await loadKeyring(s, masterKeyFromBytes(wrong), silentLogger).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MasterKeyError);
    const message = String((err as Error).message);
    expect(message).toMatch(/master key/);
    expect(message).toContain("SEAL_GATEWAY_MASTER_KEY");
    for (const k of [right, wrong]) {
      expect(message).not.toContain(k.toString("base64"));
      expect(message).not.toContain(k.toString("hex"));
    }
  });

  it("ignores a key pair planted in signing_keys by someone with database access", async () => {
    const url = await freshUrl(backend);
    const master = masterKeyFromBytes(randomBytes(32));
    const s = await store(url);
    const genuine = await loadKeyring(s, master, silentLogger);
    const rogue = generateKeyPairSync("ed25519");
    const x = String(rogue.publicKey.export({ format: "jwk" }).x);
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    const insert =
      "insert into signing_keys (kid, generation, alg, public_jwk, private_sealed, status, created_at) values ($1, $2, $3, $4, $5, $6, $7)";
    const jwk = (kid: string) => JSON.stringify({ kty: "OKP", crv: "Ed25519", x, kid });
    // Retired, with junk, or with a private half sealed under some other master key.
    await raw.run(insert, ["gk_rogue1", 2, "EdDSA", jwk("gk_rogue1"), "sb1.x.y.z", "retired", 1]);
    const der = rogue.privateKey.export({ format: "der", type: "pkcs8" });
    const otherMaster = masterKeyFromBytes(randomBytes(32));
    await raw.run(insert, [
      "gk_rogue2",
      3,
      "EdDSA",
      jwk("gk_rogue2"),
      seal(otherMaster, der, "signing-key:gk_rogue2"),
      "retired",
      1,
    ]);
    const ring = await loadKeyring(s, master, silentLogger);
    expect([...ring.publicKeys().keys()]).toEqual([genuine.active.kid]);
    expect(await ring.publicKey("gk_rogue1")).toBeNull();

    // A token the rogue key signed is refused even though its kid is in the table.
    const forged = signJwt(
      { alg: "EdDSA", typ: "operator+jwt", kid: "gk_rogue2" },
      {
        iss: "seal-gateway",
        aud: "seal-gateway/operator",
        sub: "evil",
        jti: "j",
        iat: NOW,
        exp: NOW + 600,
        role: "admin",
        tenant_id: "*",
      },
      rogue.privateKey,
    );
    expect((await authority(ring).verifyOperatorToken(forged, NOW)).ok).toBe(false);
  });

  it("ignores a genuine key row whose public half was swapped for the attacker's", async () => {
    const url = await freshUrl(backend);
    const master = masterKeyFromBytes(randomBytes(32));
    const s = await store(url);
    const genuine = await loadKeyring(s, master, silentLogger);
    const rogue = generateKeyPairSync("ed25519");
    const x = String(rogue.publicKey.export({ format: "jwk" }).x);
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    await raw.run("update signing_keys set public_jwk = $1", [
      JSON.stringify({ kty: "OKP", crv: "Ed25519", x, kid: genuine.active.kid }),
    ]);
    // The active key fails closed: a gateway that cannot prove its own key signs nothing.
    await expect(loadKeyring(s, master, silentLogger)).rejects.toBeInstanceOf(MasterKeyError);
  });

  it("fails closed when a planted row claims to be the newest active key", async () => {
    const url = await freshUrl(backend);
    const master = masterKeyFromBytes(randomBytes(32));
    const s = await store(url);
    await loadKeyring(s, master, silentLogger);
    const rogue = generateKeyPairSync("ed25519");
    const x = String(rogue.publicKey.export({ format: "jwk" }).x);
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    await raw.run(
      "insert into signing_keys (kid, generation, alg, public_jwk, private_sealed, status, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
      [
        "gk_rogue",
        2,
        "EdDSA",
        JSON.stringify({ kty: "OKP", crv: "Ed25519", x }),
        "sb1.x.y.z",
        "active",
        Date.now() + 1e9,
      ],
    );
    await expect(loadKeyring(s, master, silentLogger)).rejects.toBeInstanceOf(MasterKeyError);
  });
});
