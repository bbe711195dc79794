import { createPublicKey, generateKeyPairSync, verify as opensslVerify, sign } from "node:crypto";
import { Point, verifyAsync } from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import {
  decodePublicKey,
  decodeSignature,
  defaultKeyCache,
  Ed25519PublicKey,
  isStrictPublicKey,
  verifyEd25519,
  verifyEd25519Async,
} from "../../src/seal/ed25519.js";
import { decodeBase64Exact } from "../../src/seal/ed25519-codec.js";
import { DEFAULT_KEY_CACHE_LIMIT, Ed25519KeyCache } from "../../src/seal/ed25519-key-cache.js";
import { isCanonicalScalar, isStrictREncoding } from "../../src/seal/ed25519-point.js";

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Encoding with y = `y` (must be < 2^255) and the sign bit of x set as given. */
function encodeY(y: bigint, sign: 0 | 1): Uint8Array {
  const b = le32(y);
  b[31] = (b[31] ?? 0) | (sign << 7);
  return b;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

function freshKeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const x = publicKey.export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new Error("node did not export x");
  return { raw: Uint8Array.from(Buffer.from(x, "base64url")), x, privateKey };
}

function mustDecode(input: unknown, cache = new Ed25519KeyCache(8)): Ed25519PublicKey {
  const r = decodePublicKey(input, cache);
  if (!r.ok) throw new Error(`expected key to decode: ${r.message}`);
  return r.key;
}

function expectBadKey(input: unknown): void {
  const r = decodePublicKey(input, new Ed25519KeyCache(8));
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.reason).toBe("bad_key");
}

// The y values of the 8 small-order points; with both sign bits and the two non-canonical
// spellings (y = p, p + 1 are the only y + p below 2^255) this is every encoding of them.
const SMALL_ORDER_YS = [0n, 1n, P - 1n, 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n];
SMALL_ORDER_YS.push(P - (SMALL_ORDER_YS[3] ?? 0n));
const SMALL_ORDER_ENCODINGS = [...SMALL_ORDER_YS, P, P + 1n].flatMap((y) => [encodeY(y, 0), encodeY(y, 1)]);

describe("small-order public keys", () => {
  it("the encoding list covers exactly the 8 small-order points (checked with noble, leniently)", () => {
    const points = SMALL_ORDER_ENCODINGS.map((e) => Point.fromBytes(e, true));
    for (const p of points) expect(p.isSmallOrder()).toBe(true);
    const distinct = new Set(points.map((p) => hex(p.toBytes())));
    expect(distinct.size).toBe(8);
    expect(SMALL_ORDER_ENCODINGS).toHaveLength(14);
  });

  it.each(SMALL_ORDER_ENCODINGS.map((e) => [hex(e)]))("refuses %s in every input form", (h) => {
    const raw = Uint8Array.from(Buffer.from(h, "hex"));
    expect(isStrictPublicKey(raw)).toBe(false);
    expectBadKey(h);
    expectBadKey(b64(raw));
    expectBadKey(Buffer.from(raw).toString("base64url"));
    expectBadKey(raw);
    expectBadKey({ kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") });
  });

  it("refusal matters: a lenient verifier accepts a forgery for any message under the identity key", async () => {
    const s = 424242n;
    const sig = Buffer.concat([Point.BASE.multiply(s).toBytes(), le32(s)]);
    const message = Buffer.from("anything at all");
    for (const y of [1n, P + 1n]) {
      const raw = encodeY(y, 0);
      // A ZIP-215 verifier (noble's lenient mode) accepts it on every runtime; a strict one does not.
      await expect(verifyAsync(sig, message, raw, { zip215: true })).resolves.toBe(true);
      await expect(verifyAsync(sig, message, raw, { zip215: false })).resolves.toBe(false);
      // So does bare OpenSSL 3.0 (Node 20) and 3.5.2 (Node 22.20); 3.5.7 (Node 24.19) refuses
      // it itself. The gateway's own checks do not depend on which.
      if (process.versions.openssl.startsWith("3.0.")) {
        const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
        const keyObject = createPublicKey({ key: spki, format: "der", type: "spki" });
        expect(opensslVerify(null, message, keyObject, sig)).toBe(true);
      }
      expectBadKey(hex(raw));
    }
  });
});

describe("other public key checks", () => {
  it("refuses every non-canonical y (p ≤ y < 2^255) with either sign bit", () => {
    for (let y = P; y < 2n ** 255n; y++) {
      for (const s of [0, 1] as const) {
        expect(isStrictPublicKey(encodeY(y, s))).toBe(false);
        const r = decodePublicKey(hex(encodeY(y, s)), new Ed25519KeyCache(8));
        expect(r).toMatchObject({
          ok: false,
          reason: "bad_key",
          message: expect.stringMatching(/canonical/),
        });
      }
    }
  });

  it("refuses a y with no x on the curve, and a key with a torsion component", () => {
    expect(() => Point.fromBytes(encodeY(2n, 0), false)).toThrow();
    expectBadKey(hex(encodeY(2n, 0)));
    const honest = freshKeyPair().raw;
    const order8 = Point.fromBytes(encodeY(SMALL_ORDER_YS[3] ?? 0n, 0), false);
    const mixed = Point.fromBytes(honest, false).add(order8).toBytes();
    const r = decodePublicKey(mixed, new Ed25519KeyCache(8));
    expect(r).toMatchObject({ ok: false, reason: "bad_key" });
    if (!r.ok) expect(r.message).toMatch(/prime-order subgroup/);
    expect(isStrictPublicKey(honest)).toBe(true);
  });

  it("accepts hex (both cases), base64, base64url, raw bytes and JWK as the same key", () => {
    const { raw, x } = freshKeyPair();
    const canonical = b64(raw);
    const forms: unknown[] = [
      hex(raw),
      hex(raw).toUpperCase(),
      canonical,
      canonical.replace(/=$/, ""),
      x,
      `${x}=`,
      raw,
      { kty: "OKP", crv: "Ed25519", x },
      { kty: "OKP", crv: "Ed25519", x, alg: "EdDSA", use: "sig", kid: "k1" },
    ];
    for (const form of forms) expect(mustDecode(form).base64).toBe(canonical);
    expect(mustDecode(hex(raw)).base64url).toBe(x);
  });

  it("refuses wrong lengths and malformed strings", () => {
    const raw = freshKeyPair().raw;
    const h = hex(raw);
    const b = b64(raw);
    const bad: unknown[] = [
      "",
      h.slice(0, 62),
      `${h}00`,
      `${h.slice(0, 63)}g`,
      b64(raw.subarray(0, 31)),
      b64(Uint8Array.from([...raw, 0])),
      ` ${b.slice(1)}`,
      `${b.slice(0, 43)}\n`,
      `${b.slice(0, 20)}!${b.slice(21)}`,
      `${b.slice(0, 20)}é${b.slice(21)}`,
      `${b.slice(0, 42)}==`,
      raw.subarray(0, 31),
      Uint8Array.from([...raw, 0]),
      42,
      null,
      undefined,
      [raw],
      new Date(),
    ];
    for (const input of bad) expectBadKey(input);
  });

  it("refuses a key whose unused trailing base64 bits are set (a second spelling)", () => {
    const raw = freshKeyPair().raw;
    const b = b64(raw);
    const last = b.charAt(42);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const twin = `${b.slice(0, 42)}${alphabet.charAt(alphabet.indexOf(last) | 1)}=`;
    expect(Buffer.from(twin, "base64").equals(Buffer.from(raw))).toBe(true);
    expectBadKey(twin);
  });

  it("refuses JWKs that are private, of another type or curve, or badly encoded", () => {
    const { x } = freshKeyPair();
    const secret = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const withD = decodePublicKey({ kty: "OKP", crv: "Ed25519", x, d: secret }, new Ed25519KeyCache(8));
    expect(withD).toMatchObject({ ok: false, reason: "bad_key" });
    if (!withD.ok) expect(withD.message).not.toContain(secret);
    const std = Buffer.from(x, "base64url").toString("base64").replace(/=$/, "");
    const bad: unknown[] = [
      { kty: "OKP", crv: "Ed25519", x, d: null },
      { kty: "OKP", crv: "X25519", x },
      { kty: "OKP", crv: "ed25519", x },
      { kty: "OKP", crv: "Ed448", x },
      { kty: "EC", crv: "Ed25519", x },
      { crv: "Ed25519", x },
      { kty: "OKP", crv: "Ed25519" },
      { kty: "OKP", crv: "Ed25519", x: 7 },
      { kty: "OKP", crv: "Ed25519", x: `${x}=` },
      { kty: "OKP", crv: "Ed25519", x: hex(Buffer.from(x, "base64url")) },
      { kty: "OKP", crv: "Ed25519", x, alg: "RS256" },
      { kty: "OKP", crv: "Ed25519", x, use: "enc" },
    ];
    if (/[+/]/.test(std)) bad.push({ kty: "OKP", crv: "Ed25519", x: std });
    for (const jwk of bad) expectBadKey(jwk);
  });

  it("hands out copies of the key bytes and cannot be constructed directly", () => {
    const key = mustDecode(freshKeyPair().x);
    const before = key.base64;
    const bytes = key.bytes;
    bytes.fill(0);
    expect(b64(key.bytes)).toBe(before);
    expect(() => Reflect.construct(Ed25519PublicKey, [Symbol("fake"), bytes, "", key.keyObject])).toThrow(
      TypeError,
    );
  });
});

describe("key cache", () => {
  it("returns the same instance for every spelling of a cached key", () => {
    const cache = new Ed25519KeyCache(4);
    const { raw, x } = freshKeyPair();
    const first = mustDecode(hex(raw), cache);
    expect(mustDecode(b64(raw), cache)).toBe(first);
    expect(mustDecode(x, cache)).toBe(first);
    expect(mustDecode({ kty: "OKP", crv: "Ed25519", x }, cache)).toBe(first);
    expect(cache.size).toBe(1);
  });

  it("stays within its bound and evicts the least recently used key", () => {
    const cache = new Ed25519KeyCache(3);
    const keys = Array.from({ length: 6 }, () => b64(freshKeyPair().raw));
    const k0 = mustDecode(keys[0], cache);
    mustDecode(keys[1], cache);
    mustDecode(keys[2], cache);
    expect(mustDecode(keys[0], cache)).toBe(k0); // touch: keys[1] is now the oldest
    mustDecode(keys[3], cache);
    expect(cache.size).toBe(3);
    expect(cache.get(keys[1] ?? "")).toBeUndefined();
    expect(cache.get(keys[0] ?? "")).toBe(k0);
    for (const k of keys) mustDecode(k, cache);
    expect(cache.size).toBe(3);
  });

  it("never caches refused keys, and the default cache is bounded at 10k", () => {
    const cache = new Ed25519KeyCache(4);
    decodePublicKey(hex(encodeY(1n, 0)), cache);
    expect(cache.size).toBe(0);
    expect(DEFAULT_KEY_CACHE_LIMIT).toBe(10_000);
    expect(defaultKeyCache.limit).toBe(DEFAULT_KEY_CACHE_LIMIT);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Ed25519KeyCache(bad)).toThrow(RangeError);
  });
});

describe("decodeSignature", () => {
  const sig = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
  const std = b64(sig);

  it("accepts standard base64 with or without padding and base64url", () => {
    for (const form of [std, std.replace(/==$/, ""), Buffer.from(sig).toString("base64url")]) {
      const r = decodeSignature(form);
      expect(r.ok).toBe(true);
      if (r.ok) expect(hex(r.bytes)).toBe(hex(sig));
    }
    expect(/[+/]/.test(std)).toBe(true); // so the base64url form above really differs
  });

  it("refuses 63- and 65-byte signatures and malformed encodings", () => {
    const bad: unknown[] = [
      "",
      b64(sig.subarray(0, 63)),
      b64(Uint8Array.from([...sig, 0])),
      `${std.slice(0, 86)}=`,
      `${std}=`,
      ` ${std}`,
      `${std.slice(0, 40)}\n${std.slice(40)}`,
      `${std.slice(0, 10)}*${std.slice(11)}`,
      `${std.slice(0, 10)}ü${std.slice(11)}`,
      `${std.slice(0, 10)}=${std.slice(11)}`,
      std.replace("+", "-"), // mixed alphabets
      std.repeat(1000),
      123,
      null,
      sig,
    ];
    for (const input of bad)
      expect(decodeSignature(input)).toMatchObject({ ok: false, reason: "bad_signature_encoding" });
  });

  it("refuses non-zero trailing bits (another spelling of the same bytes)", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const twin = `${std.slice(0, 85)}${alphabet.charAt(alphabet.indexOf(std.charAt(85)) | 0b0101)}==`;
    expect(Buffer.from(twin, "base64").equals(Buffer.from(sig))).toBe(true);
    expect(decodeSignature(twin).ok).toBe(false);
    expect(decodeBase64Exact(twin, 64)).toBeUndefined();
  });
});

describe("verifyEd25519", () => {
  const { x, privateKey } = freshKeyPair();
  const key = mustDecode(x);
  const message = new TextEncoder().encode('{"payload":{},"security_token":"t","timestamp":1}');
  const good = Uint8Array.from(sign(null, message, privateKey));

  it("accepts an honest signature and refuses any change to message or signature", () => {
    expect(verifyEd25519(key, message, good)).toBe(true);
    expect(verifyEd25519(key, message.subarray(1), good)).toBe(false);
    const flipped = good.slice();
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(verifyEd25519(key, message, flipped)).toBe(false);
    expect(verifyEd25519(mustDecode(freshKeyPair().x), message, good)).toBe(false);
  });

  it("refuses 63-, 65- and 0-byte signatures", () => {
    expect(verifyEd25519(key, message, good.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(key, message, Uint8Array.from([...good, 0]))).toBe(false);
    expect(verifyEd25519(key, message, new Uint8Array(0))).toBe(false);
  });

  it("refuses S = L, S = L + 1 and the malleated S + L of a valid signature", () => {
    const r = good.subarray(0, 32);
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(good[32 + i] ?? 0);
    for (const bad of [L, L + 1n, s + L]) {
      const forged = Uint8Array.from([...r, ...le32(bad)]);
      expect(isCanonicalScalar(forged, 32)).toBe(false);
      expect(verifyEd25519(key, message, forged)).toBe(false);
    }
  });

  it("the thread-pool form answers as the synchronous one, for honest, changed and malformed signatures", async () => {
    const flipped = good.slice();
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    const r = good.subarray(0, 32);
    const cases: Array<[Uint8Array, Uint8Array]> = [
      [message, good],
      [message.subarray(1), good],
      [message, flipped],
      [message, good.subarray(0, 63)],
      [message, new Uint8Array(0)],
      [message, Uint8Array.from([...r, ...le32(L)])],
      [message, Uint8Array.from([...(SMALL_ORDER_ENCODINGS[0] ?? []), ...good.subarray(32)])],
    ];
    const answers = await Promise.all(cases.map(([m, sig]) => verifyEd25519Async(key, m, sig)));
    expect(answers).toEqual(cases.map(([m, sig]) => verifyEd25519(key, m, sig)));
    expect(answers).toEqual([true, false, false, false, false, false, false]);
    // Not a byte array at all: refused, not thrown.
    await expect(verifyEd25519Async(key, "text" as unknown as Uint8Array, good)).resolves.toBe(false);
  });

  it("isCanonicalScalar is exact at the boundary", () => {
    const at = (n: bigint) => isCanonicalScalar(Uint8Array.from([...new Uint8Array(32), ...le32(n)]), 32);
    expect([0n, 1n, 2n ** 252n - 1n, 2n ** 252n, L - 1n].map(at)).toEqual([true, true, true, true, true]);
    expect([L, L + 1n, 2n ** 253n, 2n ** 256n - 1n].map(at)).toEqual([false, false, false, false]);
  });

  it("refuses non-canonical and small-order R encodings", () => {
    const s = good.subarray(32);
    for (const rEnc of [...SMALL_ORDER_ENCODINGS, encodeY(P + 3n, 0), encodeY(2n ** 255n - 1n, 1)]) {
      const forged = Uint8Array.from([...rEnc, ...s]);
      expect(isStrictREncoding(forged, 0)).toBe(false);
      expect(verifyEd25519(key, message, forged)).toBe(false);
    }
    expect(isStrictREncoding(good, 0)).toBe(true);
  });
});
