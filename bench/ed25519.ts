/**
 * Ed25519 verification throughput: node:crypto (OpenSSL) with a cached KeyObject versus
 * @noble/ed25519 v3 (RFC 8032 mode, zip215:false), plus the cost of the gateway's own pre-checks
 * and of key decoding. Run: `npx tsx bench/ed25519.ts [seconds-per-case]`.
 *
 * Both backends pass the whole Wycheproof file (test/seal/wycheproof.test.ts); the gateway uses
 * the faster one, node:crypto, behind its own strict key and signature checks.
 */

import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import * as noble from "@noble/ed25519";
import { decodePublicKey, verifyEd25519 } from "../src/seal/ed25519.js";
import { Ed25519KeyCache } from "../src/seal/ed25519-key-cache.js";

const seconds = Number(process.argv[2] ?? "1");
if (!(seconds > 0)) throw new Error("usage: tsx bench/ed25519.ts [seconds-per-case]");

if (noble.hashes.sha512 === undefined) {
  noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash("sha512").update(m).digest());
}

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const x = publicKey.export({ format: "jwk" }).x;
if (typeof x !== "string") throw new Error("no raw key");
const raw = Uint8Array.from(Buffer.from(x, "base64url"));
const rawB64 = Buffer.from(raw).toString("base64");
// Roughly the size of a signed envelope's canonical bytes.
const message = new TextEncoder().encode(
  JSON.stringify({
    payload: {
      id: "req-1",
      jsonrpc: "2.0",
      method: "tools/call",
      params: { arguments: { q: "x".repeat(120) } },
    },
    security_token: "e".repeat(400),
    timestamp: 1_771_338_721,
  }),
);
const signature = Uint8Array.from(sign(null, message, privateKey));
const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
const decoded = decodePublicKey(rawB64);
if (!decoded.ok) throw new Error(decoded.message);
const gatewayKey = decoded.key;

function measure(name: string, op: () => boolean): number {
  for (let i = 0; i < 200; i++) if (!op()) throw new Error(`${name}: did not verify`);
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) if (!op()) throw new Error(`${name}: did not verify`);
    n += 50;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  console.log(`${name.padEnd(58)} ${Math.round(perSecond).toLocaleString("en-US").padStart(10)} /s`);
  return perSecond;
}

console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}, ${message.length}-byte message\n`);
const openssl = measure("node:crypto verify, cached KeyObject", () =>
  verify(null, message, gatewayKey.keyObject, signature),
);
const gateway = measure("verifyEd25519 (pre-checks + node:crypto)", () =>
  verifyEd25519(gatewayKey, message, signature),
);
measure("node:crypto verify, KeyObject rebuilt per call", () =>
  verify(null, message, createPublicKey({ key: spki, format: "der", type: "spki" }), signature),
);
const nobleRate = measure("@noble/ed25519 v3 verify {zip215:false}", () =>
  noble.verify(signature, message, raw, { zip215: false }),
);
measure("decodePublicKey, cache hit (canonical base64)", () => decodePublicKey(rawB64).ok);
const cold = new Ed25519KeyCache(1);
const other = Buffer.from(
  generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x ?? "",
  "base64url",
);
let flip = false;
measure("decodePublicKey, cache miss (full checks + KeyObject)", () => {
  flip = !flip;
  return decodePublicKey(flip ? raw : other, cold).ok;
});

console.log(`\nnode:crypto / noble: ${(openssl / nobleRate).toFixed(1)}x`);
console.log(`pre-check overhead: ${((1 - gateway / openssl) * 100).toFixed(1)}%`);
