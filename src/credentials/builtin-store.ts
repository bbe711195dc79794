import { createHmac, hkdfSync } from "node:crypto";
import { type MasterKey, open, SealedBoxError, seal } from "../crypto/sealed-box.js";
import type { AuditedWrites, NameKey, NewEvent, Page, SecretRow, SecretStore } from "../store/types.js";

/**
 * The built-in encrypted secret store (DESIGN §4): each value sealed under its own data key,
 * wrapped by the master key (src/crypto/sealed-box.ts), bound to its tenant and key name by
 * the AAD so a sealed value copied to another row does not open there. Values go in through
 * `put` and come out only through `open`, which only the credential resolver calls.
 */

/** 64 KiB of UTF-8: larger than any token or key file an API expects. */
export const MAX_SECRET_BYTES = 64 * 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a value cannot be stored, or null. Values are text (UTF-8); NUL is refused because a
 * credential must be able to travel as a header or an environment variable, where NUL cuts it
 * short. The value itself never appears in the answer.
 */
export function secretValueProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value.length === 0) return "must not be empty";
  if (LONE_SURROGATE.test(value)) return "must be valid Unicode text (it holds a lone surrogate)";
  if (value.includes("\u0000")) return "must not contain NUL characters";
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_BYTES) return `must be at most ${MAX_SECRET_BYTES} bytes of UTF-8 (got ${bytes})`;
  return null;
}

/** AAD of a secret: `:` cannot occur in a key, so tenant and key cannot be shifted across it. */
export function secretAad(tenantId: string, key: string): string {
  return `secret:${tenantId}:${key}`;
}

/** A stored value that does not open: wrong master key, altered row, or a row moved elsewhere. */
export class SecretUnreadableError extends Error {
  constructor() {
    super("the secret does not open under this gateway's master key");
    this.name = "SecretUnreadableError";
  }
}

export interface BuiltinSecrets {
  /**
   * Seals and writes a new version, and `event` (SecretWritten) in the same transaction; the
   * caller checked the key and the value.
   */
  put(tenantId: string, key: string, value: string, at: number, event: NewEvent): Promise<SecretRow>;
  get(tenantId: string, key: string): Promise<SecretRow | null>;
  /** Ordered by (tenant, key); a page reads the rows after its position (keyset). */
  list(tenantId: string, page?: Page<NameKey>): Promise<SecretRow[]>;
  /** Deletes every version, and writes `event` (SecretDeleted) in the same transaction. */
  delete(tenantId: string, key: string, event: NewEvent): Promise<boolean>;
  /** The clear value of a row; throws SecretUnreadableError. Only the resolver calls this. */
  open(row: SecretRow): string;
  /** Keyed fingerprint of a value (16 hex), the same one stored with it. */
  fingerprint(value: string): string;
}

/**
 * The fingerprint is an HMAC under a key derived from the master key (HKDF, its own label), so
 * it identifies a value without being a dictionary oracle: a plain hash of a short or
 * guessable token could be reversed by anyone who can read events.
 */
function fingerprintKey(master: MasterKey): Buffer {
  return Buffer.from(hkdfSync("sha256", master.bytes, "seal-gateway", "secret-fingerprint/v1", 32));
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export function builtinSecrets(
  store: Pick<SecretStore, "getSecret" | "listSecrets"> & AuditedWrites,
  master: MasterKey,
): BuiltinSecrets {
  const fpKey = fingerprintKey(master);
  const fingerprint = (value: string) =>
    createHmac("sha256", fpKey).update(value, "utf8").digest("hex").slice(0, 16);
  return {
    async put(tenantId, key, value, at, event) {
      const plain = Buffer.from(value, "utf8");
      try {
        const valueSealed = seal(master, plain, secretAad(tenantId, key));
        const write = { tenantId, key, valueSealed, fingerprint: fingerprint(value) };
        return await store.audited(event, "putSecret", write, at);
      } finally {
        plain.fill(0);
      }
    },
    get: (tenantId, key) => store.getSecret(tenantId, key),
    list: (tenantId, page) => store.listSecrets(tenantId, page),
    delete: (tenantId, key, event) => store.audited(event, "deleteSecret", tenantId, key),
    open(row) {
      let plain: Buffer;
      try {
        plain = open(master, row.valueSealed, secretAad(row.tenantId, row.key));
      } catch (err) {
        if (err instanceof SealedBoxError) throw new SecretUnreadableError();
        throw err;
      }
      try {
        return STRICT_UTF8.decode(plain);
      } catch {
        throw new SecretUnreadableError();
      } finally {
        plain.fill(0);
      }
    },
    fingerprint,
  };
}
