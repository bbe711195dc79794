/**
 * Pieces both adapters share for the built-in secret store and master-key rotation. Sealed
 * values are bound as parameters only: a failure surfaces as a StoreError, which never carries
 * them (see adapter-common.ts).
 */
import { StoreUsageError } from "./adapter-common.js";
import type { SealedValueRef, SecretRow } from "./types.js";

export type SecretWrite = Pick<SecretRow, "tenantId" | "key" | "valueSealed" | "fingerprint">;

/**
 * The columns a put may set, copied one by one: a caller handing in a whole row must not choose
 * the version, the creation time or the rotation time (the store alone decides those).
 */
export function secretWrite(row: SecretWrite): SecretWrite {
  return { tenantId: row.tenantId, key: row.key, valueSealed: row.valueSealed, fingerprint: row.fingerprint };
}

const SEPARATOR = "\u0000";

export function secretRefId(tenantId: string, key: string): string {
  return `${tenantId}${SEPARATOR}${key}`;
}

export type SealedUpdate =
  | { kind: "secret"; tenantId: string; key: string; sealed: string; previous: string }
  | { kind: "signing_key"; kid: string; sealed: string; previous: string };

/**
 * Checks every update before the transaction starts, so a caller bug (unknown kind, a secret id
 * without its separator) throws without touching a row. A tenant id never holds NUL (PostgreSQL
 * text cannot), so the first NUL is the separator and the key may hold anything after it.
 */
export function sealedUpdates(updates: ReadonlyArray<SealedValueRef & { previous: string }>): SealedUpdate[] {
  return updates.map((u): SealedUpdate => {
    if (typeof u.sealed !== "string" || typeof u.previous !== "string")
      throw new StoreUsageError("a sealed value and its previous value must be strings");
    if (u.kind === "signing_key")
      return { kind: "signing_key", kid: u.id, sealed: u.sealed, previous: u.previous };
    if (u.kind !== "secret") throw new StoreUsageError("a sealed value's kind must be secret or signing_key");
    const at = u.id.indexOf(SEPARATOR);
    if (at < 0) throw new StoreUsageError("a secret's id must be tenant id, NUL, key");
    return {
      kind: "secret",
      tenantId: u.id.slice(0, at),
      key: u.id.slice(at + 1),
      sealed: u.sealed,
      previous: u.previous,
    };
  });
}

/** Thrown inside the re-sealing transaction to roll it back; never escapes an adapter. */
export class ResealAborted extends Error {}
