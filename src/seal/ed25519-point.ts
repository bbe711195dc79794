/**
 * Byte-level strictness checks for Ed25519 encodings (RFC 8032 §5.1.3, §5.1.7).
 *
 * node:crypto (OpenSSL) is used for the signature equation itself, but it decodes public keys
 * leniently (y ≥ p is reduced, small-order keys are accepted). A small-order key verifies
 * signatures that nobody had to forge, and a non-canonical encoding lets one key (or one
 * signature) have several spellings. So every key and every signature passes these checks first.
 */

import { Point } from "@noble/ed25519";

export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

// Little-endian bytes of L = 2^252 + 27742317777372353535851937790883648493 (the group order).
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

function hex32(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, "hex"));
}

// The y coordinates (sign bit cleared, reduced mod p) of the eight points of order 1, 2, 4 and 8.
// Any encoding whose y is one of these decodes to a small-order point whatever its sign bit, and
// the only non-canonical encodings of them (y + p < 2^255) are y = p and y = p + 1, which the
// y < p check below refuses first.
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  hex32("0000000000000000000000000000000000000000000000000000000000000000"), // order 4 (x = ±√-1)
  hex32("0100000000000000000000000000000000000000000000000000000000000000"), // identity
  hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // order 2 (y = -1)
  hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
  hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8 (-y)
];

/** True iff the little-endian scalar at bytes[offset .. offset+32) is < L (RFC 8032 §5.1.7). */
export function isCanonicalScalar(bytes: Uint8Array, offset: number): boolean {
  // Honest S values are < 2^252, so the top byte decides almost always.
  const top = bytes[offset + 31] ?? 0xff;
  if (top < 0x10) return true;
  for (let i = 31; i >= 0; i--) {
    const b = bytes[offset + i] ?? 0xff;
    const l = L_BYTES[i] ?? 0;
    if (b !== l) return b < l;
  }
  return false; // S == L
}

/** True iff the 255-bit y at bytes[offset .. offset+32) (sign bit ignored) is ≥ p = 2^255 − 19. */
function isYOutOfRange(bytes: Uint8Array, offset: number): boolean {
  if (((bytes[offset + 31] ?? 0) & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) {
    if (bytes[offset + i] !== 0xff) return false;
  }
  return (bytes[offset] ?? 0) >= 0xed;
}

/** True iff y (sign bit ignored, assumed < p) is the y of one of the eight small-order points. */
function hasSmallOrderY(bytes: Uint8Array, offset: number): boolean {
  outer: for (const y of SMALL_ORDER_Y) {
    for (let i = 0; i < 31; i++) {
      if (bytes[offset + i] !== y[i]) continue outer;
    }
    if (((bytes[offset + 31] ?? 0) & 0x7f) === y[31]) return true;
  }
  return false;
}

/**
 * The cheap part of the point checks, done on every signature's R: canonical y (< p) and not one
 * of the small-order points (which also covers "x = 0 with the sign bit set", as x = 0 only for
 * y = ±1). An honest R = [r]B is small-order with probability 2^-252, so refusing those costs
 * nothing and matches libsodium.
 */
export function isStrictREncoding(bytes: Uint8Array, offset: number): boolean {
  return !isYOutOfRange(bytes, offset) && !hasSmallOrderY(bytes, offset);
}

/**
 * The full public-key check, done once per distinct key (results are cached by the caller).
 * Returns why the key is refused, or `undefined` if it is acceptable: 32 bytes, canonical y,
 * x recoverable (on the curve), not small-order, and in the prime-order subgroup. Honest key
 * generation ([a]B) always yields a prime-order point; a key with a torsion component can only be
 * crafted, and verifiers disagree about such keys (cofactored vs cofactorless equations).
 */
export function publicKeyProblem(bytes: Uint8Array): string | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_LENGTH) {
    return "public key must be exactly 32 bytes";
  }
  if (isYOutOfRange(bytes, 0)) return "public key is not a canonical point encoding";
  if (hasSmallOrderY(bytes, 0)) return "public key is a small-order point";
  let point: Point;
  try {
    // zip215 = false: RFC 8032 decoding (y < p, no x = 0 with sign bit set, x must exist).
    point = Point.fromBytes(bytes, false);
  } catch {
    return "public key is not a point on Ed25519";
  }
  if (!point.isTorsionFree()) return "public key is not in the prime-order subgroup";
  return undefined;
}

/** True iff `bytes` is a public key the gateway accepts (see `publicKeyProblem`). */
export function isStrictPublicKey(bytes: Uint8Array): boolean {
  return publicKeyProblem(bytes) === undefined;
}
