import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import { SealClientError } from "./errors.js";
import type { KeyPair } from "./types.js";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** noble's synchronous API needs a SHA-512; only installed if the application set none. */
function ensureSha512(): void {
  if (ed.hashes.sha512 === undefined) {
    ed.hashes.sha512 = (message) => new Uint8Array(createHash("sha512").update(message).digest());
  }
}

export function generateKeyPair(): KeyPair {
  ensureSha512();
  const { secretKey, publicKey } = ed.keygen();
  return { publicKeyB64: toBase64(publicKey), privateKeyB64: toBase64(secretKey) };
}

export function publicKeyFromPrivateKey(privateKeyB64: string): string {
  ensureSha512();
  return toBase64(ed.getPublicKey(decodeKey(privateKeyB64, "private key")));
}

/** Ed25519 signature (RFC 8032) of `message`, standard base64. */
export function signMessage(message: Uint8Array, privateKeyB64: string): string {
  ensureSha512();
  return toBase64(ed.sign(message, decodeKey(privateKeyB64, "private key")));
}

/**
 * Decodes a raw 32-byte key from standard base64 or base64url. Strict, because
 * `Buffer.from(…, "base64")` skips junk and a truncated key would sign with the wrong seed.
 */
export function decodeKey(encoded: string, what: string): Uint8Array {
  if (typeof encoded !== "string" || !(BASE64.test(encoded) || BASE64URL.test(encoded))) {
    throw new SealClientError("invalid_input", `${what} is not base64`);
  }
  const bytes = Buffer.from(encoded, encoded.includes("-") || encoded.includes("_") ? "base64url" : "base64");
  if (bytes.length !== 32) throw new SealClientError("invalid_input", `${what} must be 32 bytes`);
  return new Uint8Array(bytes);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
