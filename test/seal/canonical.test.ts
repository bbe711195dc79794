import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalJson } from "../../src/seal/canonical.js";
import { isJsonObject, JsonNumber, type JsonValue, parseJson, parseStrict } from "../../src/seal/json.js";
import {
  independentKeyPair,
  independentSign,
  independentVerify,
  readLiteralJson,
} from "../support/independent-signer.js";

interface Vector {
  name: string;
  request_body: string;
  canonical_utf8: string;
  signature_b64: string;
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/seal-canonical/vectors.json", import.meta.url), "utf8"),
) as { public_key_b64: string; vectors: Vector[] };

const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Test-local: the gateway has its own timestamp parser elsewhere. */
function seconds(timestamp: JsonValue | undefined): number {
  if (timestamp instanceof JsonNumber) return timestamp.value;
  if (typeof timestamp !== "string") throw new Error("timestamp missing");
  return Math.floor(Date.parse(timestamp) / 1000);
}

/** The gateway's path: strict parse → canonical bytes → Ed25519 over them. */
function gatewayCheck(body: string | Uint8Array, publicKeyB64: string): { canonical: string; ok: boolean } {
  const doc = parseJson(typeof body === "string" ? enc.encode(body) : body);
  if (!isJsonObject(doc) || typeof doc.security_token !== "string" || typeof doc.signature !== "string") {
    throw new Error("not an envelope");
  }
  const bytes = canonicalBytes(doc.payload, doc.security_token, seconds(doc.timestamp));
  const key = createPublicKey({
    key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKeyB64, "base64")]),
    format: "der",
    type: "spki",
  });
  return { canonical: dec.decode(bytes), ok: verify(null, bytes, key, Buffer.from(doc.signature, "base64")) };
}

describe("shared SEAL canonical vectors", () => {
  it("has vectors to check", () => expect(fixture.vectors.length).toBeGreaterThanOrEqual(6));

  for (const vector of fixture.vectors) {
    describe(vector.name, () => {
      it("canonical bytes match byte for byte and the signature verifies", () => {
        const doc = parseJson(enc.encode(vector.request_body));
        if (!isJsonObject(doc) || typeof doc.security_token !== "string") throw new Error("bad vector");
        const bytes = canonicalBytes(doc.payload, doc.security_token, seconds(doc.timestamp));
        expect(Buffer.from(bytes).equals(Buffer.from(vector.canonical_utf8, "utf8"))).toBe(true);
        expect(doc.signature).toBe(vector.signature_b64);
        expect(gatewayCheck(vector.request_body, fixture.public_key_b64).ok).toBe(true);
      });

      it("the independent verifier agrees", () => {
        const result = independentVerify(vector.request_body, fixture.public_key_b64);
        expect(result.signedText).toBe(vector.canonical_utf8);
        expect(result.ok).toBe(true);
      });

      it("still verifies after re-serializing the body (order, spacing, escapes)", () => {
        const body = reserialize(parseStrict(vector.request_body));
        expect(body).not.toBe(vector.request_body);
        expect(gatewayCheck(body, fixture.public_key_b64)).toEqual({
          canonical: vector.canonical_utf8,
          ok: true,
        });
      });

      it("any single changed byte is rejected or breaks the signature", () => {
        const original = enc.encode(vector.request_body);
        const signed = signedRegions(vector.request_body);
        let broken = 0;
        for (let i = 0; i < original.length; i++) {
          if (!signed.some(([from, to]) => i >= from && i < to)) continue;
          for (const replacement of replacementsFor(original[i] as number)) {
            const mutated = original.slice();
            mutated[i] = replacement;
            let outcome: { canonical: string; ok: boolean };
            try {
              outcome = gatewayCheck(mutated, fixture.public_key_b64);
            } catch {
              continue; // refused by the parser or not an envelope any more
            }
            expect(outcome.canonical, `byte ${i} → ${replacement}`).not.toBe(vector.canonical_utf8);
            expect(outcome.ok).toBe(false);
            broken++;
          }
        }
        expect(broken).toBeGreaterThan(0);
      });
    });
  }
});

describe("respelled number literals break the signature", () => {
  const respellings: Array<[string, string, string]> = [
    ["floats as Python writes them", "1.0", "1"],
    ["floats as Python writes them", "1e-07", "1e-7"],
    ["floats as Python writes them", "1e+16", "1e16"],
    ["floats as Python writes them", "-0.5", "-0.50"],
    ["floats as Python writes them", "3.14", "3.140"],
    ["integer beyond 2^53", "18446744073709551616", "18446744073709551617"],
    ["integer beyond 2^53", "18446744073709551616", "1.8446744073709551616e19"],
    ["integer beyond 2^53", "-9007199254740993", "-9007199254740992"],
  ];
  for (const [name, from, to] of respellings) {
    it(`${from} → ${to}`, () => {
      const vector = fixture.vectors.find((v) => v.name === name);
      if (vector === undefined) throw new Error(`missing vector ${name}`);
      expect(vector.request_body).toContain(`: ${from}`);
      const body = vector.request_body.replace(`: ${from}`, `: ${to}`);
      const outcome = gatewayCheck(body, fixture.public_key_b64);
      expect(outcome.canonical).toContain(to);
      expect(outcome.ok).toBe(false);
    });
  }
});

/**
 * Byte ranges of the signed members (key and value) in a vector body, which is written as
 * protocol, security_token, signature, payload, timestamp. Every other byte is outside the
 * signature by design (the gateway checks those fields separately), and so are an RFC 3339
 * timestamp's fractional seconds: the signed timestamp is whole seconds, floored.
 */
function signedRegions(body: string): Array<[number, number]> {
  const bytes = Buffer.from(body, "utf8");
  const at = (needle: string) => bytes.indexOf(needle);
  const timestamp = at('"timestamp"');
  const fraction = bytes.indexOf(".", timestamp);
  return [
    [at('"security_token"'), at(', "signature"')],
    [at('"payload"'), at(', "timestamp"')],
    [timestamp, fraction === -1 ? bytes.length - 1 : fraction],
  ];
}

function replacementsFor(byte: number): number[] {
  const out = [byte ^ 0x01, byte ^ 0x02];
  if (byte >= 0x30 && byte <= 0x39) out.push(byte === 0x39 ? 0x30 : byte + 1);
  return out;
}

/** A differently spelled but equal document: keys reversed, whitespace, every string escaped. */
function reserialize(value: JsonValue): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (value instanceof JsonNumber) return value.raw;
  if (typeof value === "string") {
    return `"${Array.from(value, (ch) => {
      const units = ch
        .split("")
        .map((u) => `\\u${u.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
      return /[A-Za-z0-9 .]/.test(ch) ? ch : ch === "/" ? "\\/" : units.join("");
    }).join("")}"`;
  }
  if (Array.isArray(value)) return `[ ${value.map(reserialize).join(" ,\n ")} ]`;
  return `{\r\n${Object.keys(value)
    .reverse()
    .map((k) => `\t${reserialize(k)} :${reserialize(value[k] as JsonValue)}`)
    .join(",")}}`;
}

describe("canonical form matches Python json.dumps(sort_keys, compact, ensure_ascii=False)", () => {
  it("sorts keys by code point, not UTF-16 unit", () => {
    const doc = parseStrict(
      '{"\\uffff":1,"\\ud83d\\ude00":2,"\\ue000":3,"\\ud800\\udc00":4,"z":5,"\\ud7ff":6}',
    );
    expect(canonicalJson(doc)).toBe('{"z":5,"\ud7ff":6,"\ue000":3,"\uffff":1,"𐀀":4,"😀":2}');
  });

  it("sorts nested keys and leaves array order alone", () => {
    expect(canonicalJson(parseStrict('{"b":[{"d":1,"c":2},3,1],"a":{"y":{"b":1,"a":2},"x":0}}'))).toBe(
      '{"a":{"x":0,"y":{"a":2,"b":1}},"b":[{"c":2,"d":1},3,1]}',
    );
  });

  it("escapes minimally", () => {
    const doc = parseStrict(
      '{"s": "\\u0000\\u0001\\u001f\\u007f\\u0080\\u2028\\u2029\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}',
    );
    expect(canonicalJson(doc)).toBe(
      '{"s":"\\u0000\\u0001\\u001f\x7f\x80\u2028\u2029\\"\\\\/\\b\\f\\n\\r\\té😀"}',
    );
  });

  it("writes numbers exactly as their literals", () => {
    const text = "[1.0, 1e-07, 1e+16, -0.5, 18446744073709551616, 1e+22, 5e-324, 0.1, -0, 1E5, 0.0e-0]";
    expect(canonicalJson(parseStrict(text))).toBe(
      "[1.0,1e-07,1e+16,-0.5,18446744073709551616,1e+22,5e-324,0.1,-0,1E5,0.0e-0]",
    );
  });

  it("produces exactly the signed frame", () => {
    const bytes = canonicalBytes(parseStrict('{"b":1,"a":"é"}'), 'tok"en', 1767225600);
    expect(Buffer.from(bytes).toString("utf8")).toBe(
      '{"payload":{"a":"é","b":1},"security_token":"tok\\"en","timestamp":1767225600}',
    );
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(
      Buffer.byteLength('{"payload":{"a":"é","b":1},"security_token":"tok\\"en","timestamp":1767225600}'),
    );
  });

  it("refuses a timestamp that is not an integer", () => {
    for (const ts of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(() => canonicalBytes({}, "t", ts)).toThrow(TypeError);
    }
  });
});

describe("canonicalJson on ordinary values", () => {
  it("accepts plain values, null-prototype objects and bigints", () => {
    const bare = Object.assign(Object.create(null), { b: 2n, a: [true, null, -0, 1.5, "x"] });
    expect(canonicalJson(bare)).toBe('{"a":[true,null,0,1.5,"x"],"b":2}');
    expect(canonicalJson({ z: 1e21, y: 1e-7, x: undefined })).toBe('{"y":1e-7,"z":1e+21}');
  });

  const refused: Record<string, unknown> = {
    "undefined at top": undefined,
    "undefined in an array": [1, undefined],
    NaN: Number.NaN,
    Infinity: [Number.POSITIVE_INFINITY],
    "a lone high surrogate": "a\ud800",
    "a lone low surrogate key": { "\udc00": 1 },
    "a reversed pair": "\udc00\ud800",
    "a Date": new Date(0),
    "a Map": new Map([["a", 1]]),
    "a class instance": new (class Point {
      x = 1;
    })(),
    "a function": () => 1,
    "a symbol": Symbol("s"),
  };
  for (const [name, value] of Object.entries(refused)) {
    it(`refuses ${name}`, () => expect(() => canonicalJson(value)).toThrow(TypeError));
  }

  it("refuses a cycle instead of overflowing the stack", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
  });
});

describe("cross-check with the independent signer", () => {
  const keys = independentKeyPair();
  const payloads = [
    '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "t", "arguments": {}}}',
    '{ "params" : { "arguments" : { "n" : 1.0, "m" : 1E+2, "big": 18446744073709551616, "neg": -0.0 } , "name":"t" },\n"id":"x","method":"tools/call","jsonrpc":"2.0"}',
    '{"id":null,"params":{"arguments":{"\\uffff":1,"\\ud83d\\ude00":2,"e\\u0301":"\\u00e9\\/\\u0007\\u007f"},"name":"n"}}',
    '{"a":[[],{},[{}],"",0]}',
  ];
  const timestamps: Array<string | number> = [
    "2026-01-01T00:00:00.000Z",
    "2026-01-01T00:00:00.999Z",
    "2026-01-01T02:00:00+02:00",
    1767225600,
  ];
  for (const payload of payloads) {
    for (const timestamp of timestamps) {
      it(`${payload.slice(0, 40)}… at ${timestamp}`, () => {
        const signed = independentSign({
          securityToken: "a.b.c",
          payload,
          timestamp,
          privateKeyB64: keys.privateKeyB64,
        });
        expect(gatewayCheck(signed.body, keys.publicKeyB64)).toEqual({
          canonical: signed.signedText,
          ok: true,
        });
        const other = independentKeyPair();
        expect(gatewayCheck(signed.body, other.publicKeyB64).ok).toBe(false);
      });
    }
  }

  it("the independent reader keeps literals too (sanity of the cross-check itself)", () => {
    expect(readLiteralJson("[1.0]")).toEqual([expect.objectContaining({ text: "1.0" })]);
  });
});
