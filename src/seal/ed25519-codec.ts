/**
 * Strict, fixed-length decoders for the byte strings that feed Ed25519 (keys and signatures).
 *
 * Node's `Buffer.from(s, "base64")` skips unknown characters, accepts mixed alphabets and ignores
 * non-zero trailing bits, so many different strings decode to the same bytes. For signatures that
 * is encoding malleability (one signature, many accepted spellings); for keys it lets two records
 * look different while naming the same key. These decoders accept exactly one spelling per byte
 * string and alphabet: RFC 4648 §4 or §5 characters (never both in one string), padding either
 * absent or complete, and every unused trailing bit zero.
 */

const INVALID = -1;
const SHARED = 0;
const STD_ONLY = 1;
const URL_ONLY = 2;

// Indexed by char code (< 128): the 6-bit value, and which alphabet the character belongs to.
const VALUE = new Int8Array(128).fill(INVALID);
const ALPHABET = new Uint8Array(128);

function initTables(): void {
  const shared = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (let i = 0; i < shared.length; i++) {
    VALUE[shared.charCodeAt(i)] = i;
    ALPHABET[shared.charCodeAt(i)] = SHARED;
  }
  const specials: ReadonlyArray<readonly [string, number, number]> = [
    ["+", 62, STD_ONLY],
    ["/", 63, STD_ONLY],
    ["-", 62, URL_ONLY],
    ["_", 63, URL_ONLY],
  ];
  for (const [ch, value, alphabet] of specials) {
    VALUE[ch.charCodeAt(0)] = value;
    ALPHABET[ch.charCodeAt(0)] = alphabet;
  }
}
initTables();

const PAD = 0x3d; // "="

export type Base64Mode =
  /** Standard or URL alphabet, padding optional (the envelope `signature`, `public_key_b64`). */
  | "any"
  /** URL alphabet without padding only (JWK members, RFC 7517 §2 / RFC 8037). */
  | "url-unpadded";

/**
 * Decodes `input` iff it is the canonical base64 spelling of exactly `length` bytes.
 * Returns `undefined` for anything else; callers turn that into their own reason code.
 */
export function decodeBase64Exact(
  input: string,
  length: number,
  mode: Base64Mode = "any",
): Uint8Array | undefined {
  const dataChars = Math.ceil((length * 4) / 3);
  const paddedChars = Math.ceil(length / 3) * 4;
  const n = input.length;
  if (n !== dataChars) {
    if (mode !== "any" || n !== paddedChars || paddedChars === dataChars) return undefined;
    for (let i = dataChars; i < n; i++) {
      if (input.charCodeAt(i) !== PAD) return undefined;
    }
  }

  const out = new Uint8Array(length);
  let seen = 0;
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < dataChars; i++) {
    const c = input.charCodeAt(i);
    const v = c < 128 ? (VALUE[c] ?? INVALID) : INVALID;
    if (v === INVALID) return undefined;
    seen |= ALPHABET[c] ?? 0;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  // Mixed alphabets and non-zero leftover bits are alternative spellings of the same bytes.
  if (seen === (STD_ONLY | URL_ONLY) || acc !== 0 || o !== length) return undefined;
  if (mode === "url-unpadded" && seen === STD_ONLY) return undefined;
  return out;
}

function hexNibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return INVALID;
}

/** Decodes exactly `length` bytes from `2 * length` hex digits (either case); else `undefined`. */
export function decodeHexExact(input: string, length: number): Uint8Array | undefined {
  if (input.length !== length * 2) return undefined;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const hi = hexNibble(input.charCodeAt(2 * i));
    const lo = hexNibble(input.charCodeAt(2 * i + 1));
    if (hi === INVALID || lo === INVALID) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}
