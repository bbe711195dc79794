import { createPublicKey, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateKeyPair,
  publicKeyFromPrivateKey,
  SealClientError,
  signMessage,
} from "../../src/sdk/index.js";
import { independentKeyPair, privateKeyFromSeed, publicKeyFromRaw } from "../support/independent-signer.js";

describe("SDK keys", () => {
  it("generates raw 32-byte keys in standard base64, fresh each time", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    for (const k of [a.publicKeyB64, a.privateKeyB64]) {
      expect(k).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(k, "base64")).toHaveLength(32);
    }
    expect(a.privateKeyB64).not.toBe(b.privateKeyB64);
    expect(publicKeyFromPrivateKey(a.privateKeyB64)).toBe(a.publicKeyB64);
  });

  it("SDK signatures verify with node:crypto, and node:crypto signatures with the SDK's public key", () => {
    const keys = generateKeyPair();
    const message = Buffer.from("seal interop ✓");
    const sdkSignature = Buffer.from(signMessage(message, keys.privateKeyB64), "base64");
    expect(sdkSignature).toHaveLength(64);
    expect(verify(null, message, publicKeyFromRaw(keys.publicKeyB64), sdkSignature)).toBe(true);
    expect(verify(null, Buffer.from("other"), publicKeyFromRaw(keys.publicKeyB64), sdkSignature)).toBe(false);

    const nodeSignature = sign(null, message, privateKeyFromSeed(keys.privateKeyB64));
    // Ed25519 is deterministic: the same seed gives the same signature on both sides.
    expect(nodeSignature.equals(sdkSignature)).toBe(true);
  });

  it("derives the same public key as node:crypto from a node-generated seed", () => {
    const keys = independentKeyPair();
    expect(publicKeyFromPrivateKey(keys.privateKeyB64)).toBe(keys.publicKeyB64);
    const jwk = createPublicKey(privateKeyFromSeed(keys.privateKeyB64)).export({
      format: "jwk",
    });
    expect(Buffer.from(String(jwk.x), "base64url").toString("base64")).toBe(keys.publicKeyB64);
  });

  it("accepts a base64url private key", () => {
    const keys = generateKeyPair();
    const url = Buffer.from(keys.privateKeyB64, "base64").toString("base64url");
    expect(publicKeyFromPrivateKey(url)).toBe(keys.publicKeyB64);
  });

  const badKeys: Record<string, string> = {
    empty: "",
    "31 bytes": Buffer.alloc(31, 1).toString("base64"),
    "33 bytes": Buffer.alloc(33, 1).toString("base64"),
    "64-byte expanded key": Buffer.alloc(64, 1).toString("base64"),
    "junk characters": `${Buffer.alloc(32, 1).toString("base64").slice(0, 40)}!!!=`,
    "embedded whitespace": ` ${Buffer.alloc(32, 1).toString("base64")}`,
    "mixed alphabets": `+_${Buffer.alloc(32, 1).toString("base64").slice(2)}`,
  };
  for (const [name, key] of Object.entries(badKeys)) {
    it(`rejects a private key: ${name}`, () => {
      expect(() => signMessage(new Uint8Array(1), key)).toThrow(SealClientError);
      expect(() => publicKeyFromPrivateKey(key)).toThrow(/private key/);
    });
  }
});
