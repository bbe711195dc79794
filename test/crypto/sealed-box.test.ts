import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  fingerprint,
  masterKeyFromBytes,
  open,
  rewrap,
  SealedBoxError,
  seal,
  withPreviousKeys,
} from "../../src/crypto/sealed-box.js";

const master = masterKeyFromBytes(randomBytes(32));
const other = masterKeyFromBytes(randomBytes(32));
const AAD = "secret:shared/token";

/** Flips one bit of one base64url segment (2 = wrapped data key, 3 = body) of a sealed value. */
function flip(sealed: string, segment: 2 | 3, byteIndex: number): string {
  const parts = sealed.split(".");
  const buf = Buffer.from(parts[segment] ?? "", "base64url");
  const i = byteIndex < 0 ? buf.length + byteIndex : byteIndex;
  buf[i] = (buf[i] ?? 0) ^ 0x01;
  parts[segment] = buf.toString("base64url");
  return parts.join(".");
}

describe("sealed box (AES-256-GCM envelope encryption)", () => {
  it.each([
    ["empty", Buffer.alloc(0)],
    ["short text", Buffer.from("hunter2", "utf8")],
    ["binary with NULs", Buffer.from([0, 255, 0, 1, 2])],
    ["1 MiB", randomBytes(1 << 20)],
  ])("round-trips %s", (_name, plain) => {
    const sealed = seal(master, plain, AAD);
    expect(open(master, sealed, AAD).equals(plain)).toBe(true);
  });

  it("never contains the plaintext and differs on every seal (fresh data key and IV)", () => {
    const plain = Buffer.from("super-secret-value-0123456789", "utf8");
    const a = seal(master, plain, AAD);
    const b = seal(master, plain, AAD);
    expect(a).not.toBe(b);
    for (const s of [a, b]) {
      expect(s).not.toContain("super-secret");
      expect(s).not.toContain(plain.toString("base64"));
      expect(s).not.toContain(plain.toString("base64url"));
    }
    expect(a.split(".")[0]).toBe("sb1");
    expect(a.split(".")[1]).toBe(master.id);
  });

  it("refuses to open under a different master key, with a message naming no key material", () => {
    const sealed = seal(master, Buffer.from("v"), AAD);
    const err = (() => {
      try {
        open(other, sealed, AAD);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SealedBoxError);
    expect(String((err as Error).message)).toMatch(/different master key/);
    expect(String((err as Error).message)).not.toContain(master.bytes.toString("base64"));
  });

  it("refuses a different master key even when the attacker rewrites the key id in the value", () => {
    const sealed = seal(master, Buffer.from("v"), AAD);
    const relabelled = sealed.replace(`.${master.id}.`, `.${other.id}.`);
    expect(() => open(other, relabelled, AAD)).toThrow(SealedBoxError);
  });

  it.each([
    ["the wrapped data key (IV)", 2, 0],
    ["the wrapped data key (encrypted key)", 2, 20],
    ["the wrapped data key (tag)", 2, -1],
    ["the body (IV)", 3, 0],
    ["the body (ciphertext)", 3, 13],
    ["the body (tag)", 3, -1],
  ] as const)("fails authentication when %s is altered", (_name, segment, index) => {
    const sealed = seal(master, Buffer.from("some secret value"), AAD);
    expect(() => open(master, flip(sealed, segment, index), AAD)).toThrow(/failed authentication/);
  });

  it.each([
    ["not a sealed value", "hello"],
    ["wrong format tag", "sb2.x.y.z"],
    ["too few parts", "sb1.x.y"],
    ["too many parts", "sb1.a.b.c.d"],
    ["empty", ""],
  ])("rejects malformed input: %s", (_name, text) => {
    expect(() => open(master, text, AAD)).toThrow(SealedBoxError);
  });

  it("rejects truncated segments", () => {
    const sealed = seal(master, Buffer.from("v"), AAD);
    const parts = sealed.split(".");
    const cut = [parts[0], parts[1], parts[2], (parts[3] ?? "").slice(0, 8)].join(".");
    expect(() => open(master, cut, AAD)).toThrow(/too short|failed authentication/);
    const cutKey = [parts[0], parts[1], (parts[2] ?? "").slice(0, 20), parts[3]].join(".");
    expect(() => open(master, cutKey, AAD)).toThrow(SealedBoxError);
  });

  it("does not open under another row's AAD (a value copied to another row is useless)", () => {
    const sealed = seal(master, Buffer.from("v"), "secret:a");
    expect(() => open(master, sealed, "secret:b")).toThrow(/failed authentication/);
    expect(() => open(master, sealed, "")).toThrow(/failed authentication/);
    expect(() => open(master, sealed, "secret:a ")).toThrow(/failed authentication/);
  });

  it("does not open when the body of one value is spliced onto another value's data key", () => {
    const a = seal(master, Buffer.from("a"), AAD).split(".");
    const b = seal(master, Buffer.from("b"), AAD).split(".");
    expect(() => open(master, [a[0], a[1], a[2], b[3]].join("."), AAD)).toThrow(/failed authentication/);
  });

  describe("rewrap", () => {
    it("moves a value to a new master key without touching the encrypted body", () => {
      const plain = randomBytes(100);
      const sealed = seal(master, plain, AAD);
      const moved = rewrap(master, other, sealed, AAD);
      expect(moved.split(".")[1]).toBe(other.id);
      expect(moved.split(".")[3]).toBe(sealed.split(".")[3]);
      expect(open(other, moved, AAD).equals(plain)).toBe(true);
      expect(() => open(master, moved, AAD)).toThrow(SealedBoxError);
    });

    it("refuses when `from` is not the key the value was sealed under", () => {
      const sealed = seal(master, Buffer.from("v"), AAD);
      expect(() => rewrap(other, master, sealed, AAD)).toThrow(/different master key/);
    });

    it("refuses with a wrong AAD, and an altered wrapped key", () => {
      const sealed = seal(master, Buffer.from("v"), AAD);
      expect(() => rewrap(master, other, sealed, "secret:other")).toThrow(/failed authentication/);
      expect(() => rewrap(master, other, flip(sealed, 2, 5), AAD)).toThrow(/failed authentication/);
    });

    it("keeps the AAD binding after the move", () => {
      const moved = rewrap(master, other, seal(master, Buffer.from("v"), AAD), AAD);
      expect(() => open(other, moved, "secret:other")).toThrow(/failed authentication/);
    });
  });

  describe("previous master keys (a rotation in progress)", () => {
    const third = masterKeyFromBytes(randomBytes(32));
    const ring = withPreviousKeys(other, [master]);

    it("opens values sealed under the current key or a previous one, and seals under the current only", () => {
      const old = seal(master, Buffer.from("old"), AAD);
      expect(open(ring, old, AAD).toString()).toBe("old");
      const fresh = seal(ring, Buffer.from("new"), AAD);
      expect(fresh.split(".")[1]).toBe(other.id);
      expect(open(other, fresh, AAD).toString()).toBe("new");
      // A key only the previous list would open is still refused by a key without that list.
      expect(() => open(other, old, AAD)).toThrow(/different master key/);
    });

    it("refuses a value under a key in neither place, and keeps AAD and tamper checks for previous keys", () => {
      expect(() => open(ring, seal(third, Buffer.from("x"), AAD), AAD)).toThrow(/different master key/);
      const old = seal(master, Buffer.from("old"), AAD);
      expect(() => open(ring, old, "secret:other")).toThrow(/failed authentication/);
      expect(() => open(ring, flip(old, 2, 3), AAD)).toThrow(/failed authentication/);
    });

    it("rewraps from a previous key to the current one", () => {
      const old = seal(master, Buffer.from("v"), AAD);
      const moved = rewrap(ring, other, old, AAD);
      expect(moved.split(".")[1]).toBe(other.id);
      expect(open(other, moved, AAD).toString()).toBe("v");
    });

    it("drops the current key and repeats from the previous list", () => {
      expect(withPreviousKeys(other, [])).toBe(other);
      expect(withPreviousKeys(other, [other])).toBe(other);
      expect(withPreviousKeys(other, [master, master, other, third]).previous?.map((k) => k.id)).toEqual([
        master.id,
        third.id,
      ]);
    });
  });

  it("builds master keys of exactly 32 bytes only", () => {
    expect(() => masterKeyFromBytes(randomBytes(31))).toThrow(/32 bytes/);
    expect(() => masterKeyFromBytes(randomBytes(33))).toThrow(/32 bytes/);
    expect(() => masterKeyFromBytes(Buffer.alloc(0))).toThrow(/32 bytes/);
  });

  it("fingerprints are domain-separated, short and one-way", () => {
    const key = randomBytes(32);
    expect(fingerprint(key, "a")).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(key, "a")).not.toBe(fingerprint(key, "b"));
    expect(masterKeyFromBytes(key).id).toBe(fingerprint(key, "master"));
  });
});
