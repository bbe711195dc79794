import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { fingerprint, type MasterKey, open, SealedBoxError, seal } from "../crypto/sealed-box.js";
import type { Logger } from "../log/logger.js";
import type { SigningKeyRow, SigningKeyStore } from "../store/types.js";
import { MasterKeyError } from "./master-key.js";

/**
 * The gateway's own signing keys (agent tokens, operator tokens, audit checkpoints). They live
 * in the database, private halves sealed under the master key, so every instance on one
 * PostgreSQL signs and verifies with the same keys. The first key is created once, atomically.
 */
export interface Keyring {
  /** kid and private key of the active key. */
  readonly active: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
  /** Public key for a kid (active or retired); reloads from the store once on a miss. */
  publicKey(kid: string): Promise<KeyObject | null>;
  /** Every known public key, for offline verification (audit evidence). */
  publicKeys(): Map<string, KeyObject>;
}

const aadFor = (kid: string) => `signing-key:${kid}`;
const kidFor = (x: string) => `gk_${fingerprint(x, "kid")}`;

function newKeyRow(master: MasterKey, now: number): SigningKeyRow {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const kid = kidFor(String(jwk.x));
  const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
  try {
    return {
      kid,
      alg: "EdDSA",
      publicJwk: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: jwk.x, kid }),
      privateSealed: seal(master, pkcs8, aadFor(kid)),
      status: "active",
      createdAt: now,
      retiredAt: null,
    };
  } finally {
    pkcs8.fill(0);
  }
}

function publicX(row: SigningKeyRow): string | undefined {
  try {
    const jwk = JSON.parse(row.publicJwk) as { x?: unknown };
    return typeof jwk.x === "string" ? jwk.x : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens a key row. A row is trusted only when its private half opens under the master key
 * (its kid is the AAD) and the kid and public_jwk name that very key; the public key is derived
 * from the private one. Whoever can write to the database could otherwise plant a key pair of
 * their own and sign operator tokens or audit checkpoints that every instance would accept.
 */
function openRow(
  master: MasterKey,
  row: SigningKeyRow,
): { privateKey: KeyObject; publicKey: KeyObject } | null {
  let der: Buffer;
  try {
    der = open(master, row.privateSealed, aadFor(row.kid));
  } catch (err) {
    if (err instanceof SealedBoxError) return null;
    throw err;
  }
  try {
    const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    const publicKey = createPublicKey(privateKey);
    const x = String(publicKey.export({ format: "jwk" }).x);
    if (privateKey.asymmetricKeyType !== "ed25519" || kidFor(x) !== row.kid || publicX(row) !== x)
      return null;
    return { privateKey, publicKey };
  } catch {
    return null;
  } finally {
    der.fill(0);
  }
}

export async function loadKeyring(
  store: SigningKeyStore,
  master: MasterKey,
  log: Logger,
  now = Date.now(),
): Promise<Keyring> {
  let rows = await store.listSigningKeys();
  if (rows.length === 0) {
    const inserted = await store.insertFirstSigningKey(newKeyRow(master, now));
    if (inserted) log.info("generated the gateway signing key");
    rows = await store.listSigningKeys();
  }
  const activeRow = rows.filter((r) => r.status === "active").sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!activeRow) throw new Error("no active gateway signing key in the database");
  const active = openRow(master, activeRow);
  if (!active) {
    // Fail closed: a gateway that cannot prove its own key must not sign anything.
    throw new MasterKeyError(
      "the active gateway signing key does not open under this master key (set the SEAL_GATEWAY_MASTER_KEY this database was created with)",
    );
  }
  const publics = new Map<string, KeyObject>();
  const admit = (row: SigningKeyRow) => {
    const opened = row.kid === activeRow.kid ? active : openRow(master, row);
    if (opened) publics.set(row.kid, opened.publicKey);
    else log.warn("ignoring a gateway signing key that does not open under the master key", { kid: row.kid });
  };
  for (const row of rows) admit(row);
  let lastReload = 0;

  return {
    active: { kid: activeRow.kid, privateKey: active.privateKey, publicKey: active.publicKey },
    async publicKey(kid) {
      const hit = publics.get(kid);
      if (hit) return hit;
      // Another instance may have rotated; reload at most once a second so unknown kids in
      // forged tokens cannot turn into a database flood.
      const t = Date.now();
      if (t - lastReload < 1000) return null;
      lastReload = t;
      for (const row of await store.listSigningKeys()) if (!publics.has(row.kid)) admit(row);
      return publics.get(kid) ?? null;
    },
    publicKeys: () => new Map(publics),
  };
}

/**
 * Signing-key rotation: a new key becomes the active one and every active key is retired (kept,
 * so what it signed keeps verifying). Only with a master key that opens the current active key:
 * a wrong key must not plant a key pair that the rest of the fleet would then ignore. Running
 * instances keep signing with the key they loaded until they restart; every instance verifies
 * both (an unknown kid makes the keyring reload).
 */
export async function rotateSigningKey(
  store: SigningKeyStore,
  master: MasterKey,
  log: Logger,
  now = Date.now(),
): Promise<{ kid: string; retired: string[] }> {
  await loadKeyring(store, master, log, now);
  const row = newKeyRow(master, now);
  const retired = await store.rotateSigningKey(row, now);
  return { kid: row.kid, retired };
}
