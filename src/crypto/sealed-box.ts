import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Envelope encryption: every value gets its own random 256-bit data key; the value is
 * encrypted with AES-256-GCM under the data key, and the data key is wrapped (AES-256-GCM)
 * under the master key. Rotating the master key re-wraps data keys without touching values.
 *
 * `aad` binds a ciphertext to the row it belongs to (e.g. "signing-key:<kid>"), so a sealed
 * value copied into another row does not open there.
 */

const FORMAT = "sb1";

export interface MasterKey {
  /** Short public fingerprint (hex) naming which master key wrapped a data key. */
  readonly id: string;
  readonly bytes: Buffer;
  /**
   * Earlier master keys during a rotation (secrets.previous_master_keys): values sealed under
   * one of them still open; nothing is ever sealed under them.
   */
  readonly previous?: readonly MasterKey[];
}

export function masterKeyFromBytes(bytes: Buffer): MasterKey {
  if (bytes.length !== 32) throw new Error("master key must be 32 bytes");
  return { id: fingerprint(bytes, "master"), bytes };
}

/** The master key that seals, with earlier ones that only open (a rotation in progress). */
export function withPreviousKeys(current: MasterKey, previous: readonly MasterKey[]): MasterKey {
  const others = previous.filter(
    (k, i) => k.id !== current.id && previous.findIndex((o) => o.id === k.id) === i,
  );
  return others.length === 0 ? current : { id: current.id, bytes: current.bytes, previous: others };
}

/** The key among `master` and its previous ones that a sealed value names, if any. */
function keyFor(master: MasterKey, masterId: string): MasterKey | undefined {
  if (masterId === master.id) return master;
  return master.previous?.find((k) => k.id === masterId);
}

/** A short, one-way, domain-separated fingerprint; safe to log and show. */
export function fingerprint(value: Buffer | string, domain: string): string {
  return createHash("sha256").update(`seal-gateway:${domain}:`).update(value).digest("hex").slice(0, 16);
}

function gcmSeal(key: Buffer, plain: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 28) throw new SealedBoxError("sealed value too short");
  const iv = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const body = sealed.subarray(12, sealed.length - 16);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new SealedBoxError("sealed value failed authentication (wrong master key or altered data)");
  }
}

export class SealedBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedBoxError";
  }
}

export function seal(master: MasterKey, plain: Buffer, aad: string): string {
  const dataKey = randomBytes(32);
  try {
    const wrapped = gcmSeal(master.bytes, dataKey, `wrap:${aad}`);
    const body = gcmSeal(dataKey, plain, aad);
    return [FORMAT, master.id, wrapped.toString("base64url"), body.toString("base64url")].join(".");
  } finally {
    dataKey.fill(0);
  }
}

function split(sealed: string): { masterId: string; wrapped: Buffer; body: Buffer } {
  const parts = sealed.split(".");
  if (parts.length !== 4 || parts[0] !== FORMAT) throw new SealedBoxError("not a sealed value");
  const [, masterId, wrapped, body] = parts as [string, string, string, string];
  return { masterId, wrapped: Buffer.from(wrapped, "base64url"), body: Buffer.from(body, "base64url") };
}

export function open(master: MasterKey, sealed: string, aad: string): Buffer {
  const parts = split(sealed);
  // The id is a public fingerprint, so a plain comparison leaks nothing.
  const key = keyFor(master, parts.masterId);
  if (!key) throw new SealedBoxError("sealed under a different master key");
  const dataKey = gcmOpen(key.bytes, parts.wrapped, `wrap:${aad}`);
  try {
    return gcmOpen(dataKey, parts.body, aad);
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-wraps the data key under a new master key; the encrypted value itself is unchanged. The
 * value may be under `from` or one of its previous keys.
 */
export function rewrap(from: MasterKey, to: MasterKey, sealed: string, aad: string): string {
  const parts = split(sealed);
  const key = keyFor(from, parts.masterId);
  if (!key) throw new SealedBoxError("sealed under a different master key");
  const dataKey = gcmOpen(key.bytes, parts.wrapped, `wrap:${aad}`);
  try {
    const wrapped = gcmSeal(to.bytes, dataKey, `wrap:${aad}`);
    return [FORMAT, to.id, wrapped.toString("base64url"), parts.body.toString("base64url")].join(".");
  } finally {
    dataKey.fill(0);
  }
}
