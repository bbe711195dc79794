import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import type { Logger } from "../log/logger.js";
import { type MasterKey, fingerprint, open, seal } from "../crypto/sealed-box.js";
import type { SigningKeyRow, Store } from "../store/types.js";

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

function newKeyRow(master: MasterKey, now: number): SigningKeyRow {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const kid = `gk_${fingerprint(String(jwk.x), "kid")}`;
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

function publicFromRow(row: SigningKeyRow): KeyObject {
  const jwk = JSON.parse(row.publicJwk) as { kty: string; crv: string; x: string };
  return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
}

export async function loadKeyring(store: Store, master: MasterKey, log: Logger, now = Date.now()): Promise<Keyring> {
  let rows = await store.listSigningKeys();
  if (rows.length === 0) {
    const inserted = await store.insertFirstSigningKey(newKeyRow(master, now));
    if (inserted) log.info("generated the gateway signing key");
    rows = await store.listSigningKeys();
  }
  const activeRow = rows.filter((r) => r.status === "active").sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!activeRow) throw new Error("no active gateway signing key in the database");
  const der = open(master, activeRow.privateSealed, aadFor(activeRow.kid));
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  const publics = new Map<string, KeyObject>();
  for (const row of rows) publics.set(row.kid, publicFromRow(row));
  const activePublic = publics.get(activeRow.kid);
  if (!activePublic) throw new Error("active key missing from its own key list");
  let lastReload = 0;

  return {
    active: { kid: activeRow.kid, privateKey, publicKey: activePublic },
    async publicKey(kid) {
      const hit = publics.get(kid);
      if (hit) return hit;
      // Another instance may have rotated; reload at most once a second so unknown kids in
      // forged tokens cannot turn into a database flood.
      const t = Date.now();
      if (t - lastReload < 1000) return null;
      lastReload = t;
      for (const row of await store.listSigningKeys()) if (!publics.has(row.kid)) publics.set(row.kid, publicFromRow(row));
      return publics.get(kid) ?? null;
    },
    publicKeys: () => new Map(publics),
  };
}
