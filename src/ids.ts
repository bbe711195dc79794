import { randomFillSync } from "node:crypto";

/**
 * Prefixed random ids (`evt_…`, `call_…`, `akey_…`): 128 bits from the CSPRNG, base64url.
 * The random bytes are drawn 4 KiB at a time and each id takes 16 fresh ones, never reused:
 * one getrandom call serves 256 ids instead of one each (a call writes several rows).
 */
const POOL = Buffer.alloc(4096);
let offset = POOL.length;

/** `n` fresh bytes of the pool, as the offset where they start. */
function take(n: number): number {
  if (offset + n > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const at = offset;
  offset += n;
  return at;
}

export function newId(prefix: string): string {
  const at = take(16);
  return `${prefix}_${POOL.toString("base64url", at, at + 16)}`;
}

/** base64url's 64 characters in ASCII order, so that a string of them sorts as its value does. */
const SORTED = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const MAX_MS = 2 ** 48;
const RANDOM_CHARS = 14;

/**
 * An id that sorts by the millisecond it was made in, for rows written at a high rate into a
 * table with a unique index on the id (audit events). A random id lands each new index entry on
 * a random page of the index, so every commit rewrites one page per row; an id that grows with
 * time appends at the index's right edge, where a commit's rows share the pages.
 * Same shape as `newId` (the prefix, then 22 characters of base64url's alphabet): 48 bits of
 * the Unix time in ms (until the year 10889), then 84 random bits from the CSPRNG. Ids made in
 * the same millisecond are in random order among themselves.
 */
export function newTimeOrderedId(prefix: string, nowMs: number): string {
  // The time only orders; uniqueness is the random part's. A clock outside 48 bits (or not a
  // number) still gives an id, clamped, rather than failing the write it is for.
  const ms = Number.isFinite(nowMs) ? Math.min(Math.max(Math.floor(nowMs), 0), MAX_MS - 1) : 0;
  let out = `${prefix}_`;
  // 48 bits as eight 6-bit digits, most significant first. Division, not shifts: the time is
  // wider than 32 bits.
  for (let shift = 7; shift >= 0; shift--) out += SORTED[Math.floor(ms / 2 ** (6 * shift)) % 64];
  const at = take(RANDOM_CHARS);
  for (let i = 0; i < RANDOM_CHARS; i++) out += SORTED[(POOL[at + i] as number) & 63];
  return out;
}
