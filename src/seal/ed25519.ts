/**
 * Strict Ed25519 (RFC 8032) for envelope signatures: key decoding from every key source
 * (registered agent keys, sessions, `cnf.jwk`), signature decoding and verification.
 *
 * The signature equation runs in node:crypto (OpenSSL, ~10x faster than pure JS; see
 * bench/ed25519.ts), but OpenSSL alone is too lenient about keys, so a key can only be used after
 * `decodePublicKey` ran the checks in ed25519-point.ts, and each signature gets the S < L and
 * R-encoding checks here first. `Ed25519PublicKey` cannot be constructed outside this module, so
 * the type system guarantees no unchecked key reaches `verifyEd25519`.
 */

import { createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { decodeBase64Exact, decodeHexExact } from "./ed25519-codec.js";
import { Ed25519KeyCache } from "./ed25519-key-cache.js";
import {
  isCanonicalScalar,
  isStrictREncoding,
  PUBLIC_KEY_LENGTH,
  publicKeyProblem,
  SIGNATURE_LENGTH,
} from "./ed25519-point.js";

export { isStrictPublicKey } from "./ed25519-point.js";

// DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410): SEQUENCE { AlgorithmIdentifier
// { 1.3.101.112 }, BIT STRING (33 bytes) } followed by the 32 raw key bytes.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

const CONSTRUCT: unique symbol = Symbol("Ed25519PublicKey");

/** A public key that passed every strictness check. Only `decodePublicKey` creates these. */
export class Ed25519PublicKey {
  readonly #raw: Uint8Array;
  /** Canonical RFC 4648 §4 base64 with padding: one spelling per key (cache and storage key). */
  readonly base64: string;
  /** Built once per key; rebuilding a KeyObject costs more than the verification itself. */
  readonly keyObject: KeyObject;

  constructor(token: typeof CONSTRUCT, raw: Uint8Array, base64: string, keyObject: KeyObject) {
    if (token !== CONSTRUCT) throw new TypeError("use decodePublicKey to obtain an Ed25519PublicKey");
    this.#raw = raw;
    this.base64 = base64;
    this.keyObject = keyObject;
  }

  /** A copy of the 32 raw bytes (a copy, so nobody can alter a cached key). */
  get bytes(): Uint8Array {
    return this.#raw.slice();
  }

  /** Base64url without padding, as in a JWK `x` member. */
  get base64url(): string {
    return Buffer.from(this.#raw).toString("base64url");
  }
}

export type DecodePublicKeyResult =
  | { ok: true; key: Ed25519PublicKey }
  | { ok: false; reason: "bad_key"; message: string };

export type DecodeSignatureResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: "bad_signature_encoding"; message: string };

/** Process-wide cache used when the caller passes none. */
export const defaultKeyCache = new Ed25519KeyCache();

const HEX_KEY_CHARS = PUBLIC_KEY_LENGTH * 2;
const CANONICAL_B64_CHARS = 44;

function badKey(message: string): DecodePublicKeyResult {
  return { ok: false, reason: "bad_key", message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fromRawBytes(raw: Uint8Array, cache: Ed25519KeyCache): DecodePublicKeyResult {
  const base64 = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
  const cached = cache.get(base64);
  if (cached !== undefined) return { ok: true, key: cached };

  const problem = publicKeyProblem(raw);
  if (problem !== undefined) return badKey(problem);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    return badKey("public key is not usable");
  }
  const key = new Ed25519PublicKey(CONSTRUCT, raw, base64, keyObject);
  cache.set(key);
  return { ok: true, key };
}

function fromJwk(jwk: Record<string, unknown>, cache: Ed25519KeyCache): DecodePublicKeyResult {
  // A private part in a "public" key means the secret was mishandled; refusing it keeps it from
  // being stored next to public keys. The value of "d" is never echoed.
  if (Object.hasOwn(jwk, "d")) return badKey('a public JWK must not contain a private key ("d")');
  if (jwk.kty !== "OKP") return badKey('JWK "kty" must be "OKP"');
  if (jwk.crv !== "Ed25519") return badKey('JWK "crv" must be "Ed25519"');
  if (jwk.alg !== undefined && jwk.alg !== "EdDSA" && jwk.alg !== "Ed25519") {
    return badKey('JWK "alg" must be "EdDSA" or "Ed25519" when present');
  }
  if (jwk.use !== undefined && jwk.use !== "sig") return badKey('JWK "use" must be "sig" when present');
  if (typeof jwk.x !== "string") return badKey('JWK "x" must be a base64url string');
  const raw = decodeBase64Exact(jwk.x, PUBLIC_KEY_LENGTH, "url-unpadded");
  if (raw === undefined) return badKey('JWK "x" must be 32 bytes in unpadded base64url');
  return fromRawBytes(raw, cache);
}

/**
 * Decodes and validates a public key from any source: a string holding 32 raw bytes as standard
 * base64 or base64url (padding optional) or 64 hex digits, 32 raw bytes, or an OKP/Ed25519 JWK.
 * Failures are values with `reason: "bad_key"` and a message safe to show to the caller.
 */
export function decodePublicKey(
  input: unknown,
  cache: Ed25519KeyCache = defaultKeyCache,
): DecodePublicKeyResult {
  if (typeof input === "string") {
    // Only checked keys are cached, under their canonical base64, so a hit on the input itself
    // is a key that already passed every check.
    const hit = input.length === CANONICAL_B64_CHARS ? cache.get(input) : undefined;
    if (hit !== undefined) return { ok: true, key: hit };
    const raw =
      input.length === HEX_KEY_CHARS
        ? decodeHexExact(input, PUBLIC_KEY_LENGTH)
        : decodeBase64Exact(input, PUBLIC_KEY_LENGTH);
    if (raw === undefined) return badKey("public key must be 32 bytes in base64, base64url or hex");
    return fromRawBytes(raw, cache);
  }
  if (input instanceof Uint8Array) {
    if (input.length !== PUBLIC_KEY_LENGTH) return badKey("public key must be exactly 32 bytes");
    return fromRawBytes(Uint8Array.from(input), cache);
  }
  if (isPlainObject(input)) return fromJwk(input, cache);
  return badKey("public key must be a string or an OKP JWK object");
}

/**
 * Decodes an envelope `signature`: exactly 64 bytes in canonical standard base64 or base64url,
 * padding optional. Non-zero trailing bits, mixed alphabets, whitespace and partial padding are
 * refused so that each signature has exactly one accepted spelling per alphabet.
 */
export function decodeSignature(input: unknown): DecodeSignatureResult {
  const bytes = typeof input === "string" ? decodeBase64Exact(input, SIGNATURE_LENGTH) : undefined;
  if (bytes === undefined) {
    return {
      ok: false,
      reason: "bad_signature_encoding",
      message: "signature must be 64 bytes in base64 or base64url",
    };
  }
  return { ok: true, bytes };
}

/**
 * Strict RFC 8032 verification: 64-byte signature, S < L, canonical non-small-order R, then the
 * equation in OpenSSL (which compares the recomputed R byte-for-byte). Never throws.
 */
export function verifyEd25519(key: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (!passesStrictChecks(message, signature)) return false;
  try {
    return cryptoVerify(null, message, key.keyObject, signature);
  } catch {
    return false;
  }
}

/**
 * `verifyEd25519` with the equation run in libuv's thread pool (node:crypto's callback form), so
 * the event loop goes on serving other calls meanwhile and a second core can verify. The same
 * strict checks run first, on the calling thread; the answer is the same for every input (the
 * Wycheproof suite runs through both). Never rejects.
 */
export function verifyEd25519Async(
  key: Ed25519PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!passesStrictChecks(message, signature)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, message, key.keyObject, signature, (err, ok) =>
        resolve(err === null && ok === true),
      );
    } catch {
      resolve(false);
    }
  });
}

/** 64-byte signature, a byte message, S < L and a canonical, non-small-order R. */
function passesStrictChecks(message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  if (!(message instanceof Uint8Array)) return false;
  return isCanonicalScalar(signature, 32) && isStrictREncoding(signature, 0);
}
