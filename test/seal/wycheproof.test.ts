import { readFileSync } from "node:fs";
import * as noble from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import {
  decodePublicKey,
  decodeSignature,
  verifyEd25519,
  verifyEd25519Async,
} from "../../src/seal/ed25519.js";
import { Ed25519KeyCache } from "../../src/seal/ed25519-key-cache.js";

interface WycheproofTest {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
}

interface WycheproofGroup {
  publicKey: { pk: string };
  publicKeyJwk: Record<string, unknown>;
  tests: WycheproofTest[];
}

interface WycheproofFile {
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

const file = JSON.parse(
  readFileSync(new URL("../fixtures/wycheproof/ed25519_test.json", import.meta.url), "utf8"),
) as WycheproofFile;

function hexBytes(hex: string): Uint8Array {
  // Buffer.from(…, "hex") silently stops at a bad digit; the fixture must be read exactly.
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`fixture hex is malformed: ${hex}`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

interface Outcome {
  tcId: number;
  expected: string;
  accepted: boolean;
}

/** Runs one vector the way the gateway does: key string → signature base64 → verify. */
function gatewayAccepts(group: WycheproofGroup, test: WycheproofTest, cache: Ed25519KeyCache): boolean {
  const decodedKey = decodePublicKey(group.publicKey.pk, cache);
  if (!decodedKey.ok) return false;
  const sig = decodeSignature(Buffer.from(hexBytes(test.sig)).toString("base64"));
  if (!sig.ok) return false;
  return verifyEd25519(decodedKey.key, hexBytes(test.msg), sig.bytes);
}

describe("Wycheproof ed25519_test.json through the gateway verifier", () => {
  it("contains no 'acceptable' vectors (so no policy decision is hidden here)", () => {
    const acceptable = file.testGroups.flatMap((g) => g.tests).filter((t) => t.result === "acceptable");
    expect(acceptable).toEqual([]);
  });

  it("accepts every valid vector and rejects every invalid one, over the whole file", () => {
    const cache = new Ed25519KeyCache(16);
    const outcomes: Outcome[] = [];
    for (const group of file.testGroups) {
      for (const test of group.tests) {
        outcomes.push({
          tcId: test.tcId,
          expected: test.result,
          accepted: gatewayAccepts(group, test, cache),
        });
      }
    }
    expect(outcomes.length).toBe(file.numberOfTests);
    const wrong = outcomes.filter((o) => o.accepted !== (o.expected === "valid"));
    expect(wrong).toEqual([]);
    // Both outcomes occur, so the loop above really exercised acceptance and rejection.
    expect(outcomes.filter((o) => o.accepted).length).toBe(88);
    expect(outcomes.filter((o) => !o.accepted).length).toBe(63);
  });

  // The synchronous form, and the thread-pool form the call path uses, on raw signature bytes.
  it.each([
    ["verifyEd25519", verifyEd25519],
    ["verifyEd25519Async", verifyEd25519Async],
  ] as const)("%s alone (raw signature bytes, no base64 step) gives the same answers", async (_, verify) => {
    let count = 0;
    for (const group of file.testGroups) {
      const decoded = decodePublicKey(group.publicKey.pk, new Ed25519KeyCache(1));
      if (!decoded.ok) throw new Error(`group key refused: ${decoded.message}`);
      for (const test of group.tests) {
        count++;
        const accepted = await verify(decoded.key, hexBytes(test.msg), hexBytes(test.sig));
        expect({ tcId: test.tcId, accepted }).toEqual({ tcId: test.tcId, accepted: test.result === "valid" });
      }
    }
    expect(count).toBe(file.numberOfTests);
  });

  it("decodes every group key identically from its hex and its JWK form", () => {
    for (const group of file.testGroups) {
      const fromHex = decodePublicKey(group.publicKey.pk, new Ed25519KeyCache(1));
      const fromJwk = decodePublicKey(group.publicKeyJwk, new Ed25519KeyCache(1));
      expect(fromHex.ok).toBe(true);
      expect(fromJwk.ok).toBe(true);
      if (fromHex.ok && fromJwk.ok) {
        expect(fromJwk.key.base64).toBe(fromHex.key.base64);
        expect(Buffer.from(fromHex.key.bytes).toString("hex")).toBe(group.publicKey.pk);
      }
    }
  });

  // Cross-check recorded for the choice of backend: @noble/ed25519 v3 in its RFC 8032 mode agrees
  // on every vector too, so node:crypto was chosen on speed alone (bench/ed25519.ts).
  it("@noble/ed25519 verify with zip215:false agrees on every vector", async () => {
    let count = 0;
    for (const group of file.testGroups) {
      for (const test of group.tests) {
        count++;
        const sig = hexBytes(test.sig);
        const accepted =
          sig.length === 64 &&
          (await noble.verifyAsync(sig, hexBytes(test.msg), hexBytes(group.publicKey.pk), {
            zip215: false,
          }));
        expect({ tcId: test.tcId, accepted }).toEqual({ tcId: test.tcId, accepted: test.result === "valid" });
      }
    }
    expect(count).toBe(file.numberOfTests);
  });
});
