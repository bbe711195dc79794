import { randomFillSync } from "node:crypto";

/**
 * Prefixed random ids (`evt_…`, `call_…`, `akey_…`): 128 bits from the CSPRNG, base64url.
 * The random bytes are drawn 4 KiB at a time and each id takes 16 fresh ones, never reused:
 * one getrandom call serves 256 ids instead of one each (a call writes several rows).
 */
const POOL = Buffer.alloc(4096);
let offset = POOL.length;

export function newId(prefix: string): string {
  if (offset + 16 > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const id = POOL.toString("base64url", offset, offset + 16);
  offset += 16;
  return `${prefix}_${id}`;
}
