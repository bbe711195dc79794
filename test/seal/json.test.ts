import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  DEFAULT_MAX_DEPTH,
  isJsonObject,
  JsonNumber,
  JsonParseError,
  type JsonValue,
  LossyNumberError,
  parseJson,
  parseStrict,
  toPlain,
  tryParseJson,
} from "../../src/seal/json.js";

const bytes = (text: string) => new TextEncoder().encode(text);

function failure(input: string | Uint8Array, maxDepth?: number): JsonParseError {
  const result = tryParseJson(input, maxDepth === undefined ? undefined : { maxDepth });
  if (result.ok) throw new Error(`expected a parse failure for ${String(input)}`);
  return result.error;
}

/** Plain values compared through JSON text: toPlain's objects have a null prototype. */
const asText = (value: JsonValue) => JSON.stringify(toPlain(value));

describe("parseJson accepts RFC 8259 documents", () => {
  const documents = [
    "0",
    "-0",
    "1.5e3",
    "1E-2",
    "1e+2",
    '"x"',
    "true",
    "false",
    "null",
    "[]",
    "{}",
    ' \t\r\n[ 1 , { "a" : [ ] } ]\n',
    '{"a":{"b":{"c":[1,2,{"d":null}]}}}',
    '"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u001F \\u00e9 \\uD83D\\uDE00"',
    '"caf\u00e9 \u2603 \ud83d\ude00 \u007f \u2028"',
    '{"toString":1,"hasOwnProperty":2,"valueOf":3}',
  ];
  for (const doc of documents) {
    it(`matches JSON.parse on ${JSON.stringify(doc)}`, () => {
      expect(asText(parseJson(bytes(doc)))).toBe(JSON.stringify(JSON.parse(doc)));
      expect(asText(parseStrict(doc))).toBe(JSON.stringify(JSON.parse(doc)));
    });
  }

  it("reads a view with a non-zero byte offset", () => {
    const whole = bytes('xx{"a":1}yy');
    expect(asText(parseJson(whole.subarray(2, 9)))).toBe('{"a":1}');
  });
});

describe("numbers keep their literal", () => {
  const literals = [
    "1.0",
    "1e-07",
    "1e+16",
    "-0.5",
    "3.14",
    "18446744073709551616",
    "-9007199254740993",
    "-0",
    "0E0",
  ];
  for (const raw of literals) {
    it(raw, () => {
      const value = parseStrict(`[${raw}]`) as JsonValue[];
      const n = value[0];
      expect(n).toBeInstanceOf(JsonNumber);
      expect((n as JsonNumber).raw).toBe(raw);
      expect((n as JsonNumber).value).toBe(Number(raw));
    });
  }

  it("says whether the JS number reproduces the literal", () => {
    const roundTrips = (raw: string) => (parseStrict(raw) as JsonNumber).roundTrips;
    for (const raw of [
      "1.0",
      "1e+16",
      "0.1",
      "-0",
      "0.0",
      "100",
      "1E2",
      "123.4500",
      "1e-07",
      "9007199254740991",
    ]) {
      expect(roundTrips(raw), raw).toBe(true);
    }
    for (const raw of ["18446744073709551616", "-9007199254740993", "0.1000000000000000000001", "1e-400"]) {
      expect(roundTrips(raw), raw).toBe(false);
    }
  });

  it("toPlain rounds like JSON.parse, or refuses when asked", () => {
    const tree = parseStrict('{"big":18446744073709551616,"ok":1.0}');
    expect(JSON.stringify(toPlain(tree))).toBe(
      JSON.stringify(JSON.parse('{"big":18446744073709551616,"ok":1}')),
    );
    expect(() => toPlain(tree, { rejectLossyNumbers: true })).toThrow(LossyNumberError);
    expect(toPlain(parseStrict("[1.0, 2.5]"), { rejectLossyNumbers: true })).toEqual([1, 2.5]);
  });
});

describe("parseJson rejects malformed input", () => {
  const malformed: Record<string, string> = {
    empty: "",
    whitespace: "  ",
    "unclosed object": "{",
    "unclosed array": "[1",
    "trailing comma in array": "[1,]",
    "trailing comma in object": '{"a":1,}',
    "leading comma": "[,1]",
    "empty member": "{,}",
    "missing colon": '{"a" 1}',
    "key without value": '{"a"}',
    "unquoted key": "{a:1}",
    "single quotes": "'a'",
    "leading zero": "01",
    "negative leading zero": "-01",
    "bare minus": "-",
    "trailing dot": "1.",
    "leading dot": ".5",
    "empty exponent": "1e",
    "exponent sign only": "1e+",
    "plus sign": "+1",
    NaN: "NaN",
    Infinity: "Infinity",
    hex: "0x10",
    "out-of-range number": "1e400",
    "negative out-of-range number": "-1e400",
    "truncated literal": "tru",
    "wrong-case literal": "True",
    "literal with suffix": "truex",
    "two documents": "{} {}",
    "trailing garbage": "[1]x",
    comment: "/*c*/1",
    "raw tab in string": '"a\tb"',
    "raw newline in string": '"a\nb"',
    "raw NUL in string": '"a\u0000b"',
    "unknown escape": '"\\x"',
    "escaped single quote": '"\\\'"',
    "short unicode escape": '"\\u12"',
    "non-hex unicode escape": '"\\uZZZZ"',
    "unterminated string": '"abc',
    "unterminated after escape": '"abc\\',
    "BOM before document": "\ufeff{}",
    "no-break space as whitespace": "\u00a01",
    "vertical tab as whitespace": "\u000b1",
    "missing comma": "[1 2]",
  };
  for (const [name, text] of Object.entries(malformed)) {
    it(name, () => {
      const err = failure(bytes(text));
      expect(err).toBeInstanceOf(JsonParseError);
      expect(err.reason).toBe("malformed_json");
      expect(() => parseStrict(text)).toThrow(JsonParseError);
    });
  }

  it("refuses number literals longer than 4096 characters", () => {
    expect(failure(`1${"0".repeat(4096)}`).reason).toBe("malformed_json");
    expect((parseStrict(`1${"0".repeat(300)}`) as JsonNumber).raw).toHaveLength(301);
  });

  it("reports a position and never quotes the input in the message", () => {
    const err = failure('{"secret-value": tru}');
    expect(err.position).toBe(17);
    expect(err.message).not.toContain("secret");
  });
});

describe("duplicate keys", () => {
  const duplicates = [
    '{"a":1,"a":2}',
    '{"a":1,"\\u0061":2}',
    '{"x":{"k":1,"k":1}}',
    '[{"ok":1},{"b":null,"b":null}]',
    '{"__proto__":1,"__proto__":2}',
    '{"\\ud83d\\ude00":1,"😀":2}',
  ];
  for (const doc of duplicates) {
    it(`rejects ${doc}`, () => {
      expect(failure(bytes(doc)).reason).toBe("malformed_json");
    });
  }

  it("does not mistake inherited names for duplicates", () => {
    const value = parseStrict('{"toString":1,"constructor":2}');
    expect(Object.keys(value as object)).toEqual(["toString", "constructor"]);
  });
});

describe("lone surrogates", () => {
  const escaped = [
    '"\\ud800"',
    '"\\udc00"',
    '"\\ud800\\u0041"',
    '"\\ud800x"',
    '"\\udc00\\ud800"',
    '"\\ud800\\ud800"',
  ];
  for (const doc of escaped) {
    it(`rejects escaped ${doc}`, () => expect(failure(bytes(doc)).reason).toBe("malformed_json"));
  }

  it("rejects an escaped lone surrogate in a key", () => {
    expect(failure(bytes('{"\\udfff":1}')).reason).toBe("malformed_json");
  });

  it("accepts an escaped pair and raw astral characters", () => {
    expect(parseStrict('"\\uD83D\\uDE00"')).toBe("😀");
    expect(parseJson(bytes('"😀"'))).toBe("😀");
  });

  it("rejects raw lone surrogates in a string given to parseStrict", () => {
    expect(() => parseStrict('"a\ud800"')).toThrow(JsonParseError);
    expect(() => parseStrict('"\udc00b"')).toThrow(JsonParseError);
    expect(() => parseStrict('"\udc00\udc00"')).toThrow(JsonParseError);
    expect(() => parseStrict('"\udc00\ud800"')).toThrow(JsonParseError);
    expect(parseStrict('"\ud83d\ude00"')).toBe("😀");
    expect(() => parseStrict('"\\ud83d\ude00"')).toThrow(JsonParseError);
  });
});

describe("invalid UTF-8", () => {
  const cases: Record<string, number[]> = {
    "lone continuation byte": [0x22, 0x80, 0x22],
    "0xFF byte": [0x22, 0xff, 0x22],
    "overlong slash": [0x22, 0xc0, 0xaf, 0x22],
    "overlong three-byte": [0x22, 0xe0, 0x80, 0xaf, 0x22],
    "encoded surrogate": [0x22, 0xed, 0xa0, 0x80, 0x22],
    "beyond U+10FFFF": [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22],
    "truncated sequence": [0x22, 0xe2, 0x82, 0x22],
    "truncated at end": [0x22, 0x61, 0xe2],
  };
  for (const [name, input] of Object.entries(cases)) {
    it(name, () => {
      const err = failure(Uint8Array.from(input));
      expect(err.reason).toBe("malformed_json");
      expect(err.message).toContain("UTF-8");
    });
  }

  it("points at the offending byte", () => {
    expect(failure(Uint8Array.from([0x5b, 0x22, 0x61, 0x22, 0x2c, 0x22, 0xff, 0x22, 0x5d])).position).toBe(6);
  });
});

describe("nesting depth", () => {
  it("allows exactly maxDepth and refuses one more", () => {
    expect(() => parseStrict("[[[1]]]", { maxDepth: 3 })).not.toThrow();
    expect(failure("[[[[1]]]]", 3).reason).toBe("too_deep");
    expect(failure('{"a":{"b":{"c":{}}}}', 3).reason).toBe("too_deep");
    expect(failure('[{"a":[{}]}]', 3).reason).toBe("too_deep");
  });

  it(`defaults to ${DEFAULT_MAX_DEPTH}`, () => {
    expect(() => parseStrict(`${"[".repeat(64)}${"]".repeat(64)}`)).not.toThrow();
    expect(failure(`${"[".repeat(65)}${"]".repeat(65)}`).reason).toBe("too_deep");
  });

  it("stops a hostile depth without exhausting the stack", () => {
    expect(failure(bytes("[".repeat(200_000))).reason).toBe("too_deep");
    expect(failure(bytes('{"a":'.repeat(200_000))).reason).toBe("too_deep");
  });

  it("parses at the largest allowed maxDepth without exhausting the stack", () => {
    const doc = `${'{"a":['.repeat(512)}${"]}".repeat(512)}`;
    expect(() => parseStrict(doc, { maxDepth: 1024 })).not.toThrow();
    expect(failure(`[${doc}]`, 1024).reason).toBe("too_deep");
  });

  it("refuses a maxDepth that could exhaust the stack", () => {
    expect(() => parseStrict("1", { maxDepth: 0 })).toThrow(RangeError);
    expect(() => parseStrict("1", { maxDepth: 100_000 })).toThrow(RangeError);
    expect(() => parseStrict("1", { maxDepth: 1.5 })).toThrow(RangeError);
  });
});

/** Whatever the object's prototype is, it must contribute nothing and be unchangeable. */
function expectNothingInherited(value: object): void {
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return;
  expect(Object.getPrototypeOf(proto)).toBeNull();
  expect(Reflect.ownKeys(proto)).toEqual([]);
  expect(Object.isFrozen(proto)).toBe(true);
}

describe("prototype-sensitive keys", () => {
  it("keeps __proto__, constructor and prototype as own data and pollutes nothing", () => {
    const value = parseJson(
      bytes('{"__proto__":{"polluted":true},"constructor":{"prototype":{"p":1}},"prototype":2}'),
    );
    if (!isJsonObject(value)) throw new Error("expected an object");
    expectNothingInherited(value);
    expect(Object.keys(value)).toEqual(["__proto__", "constructor", "prototype"]);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({
      polluted: expect.any(Boolean),
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const plain = toPlain(value) as Record<string, unknown>;
    expectNothingInherited(plain);
    expect(Object.hasOwn(plain, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("works with zod's object and record schemas", () => {
    const tree = parseStrict('{"a":1,"b":{"c":"x"}}');
    const plain = toPlain(tree);
    expect(z.object({ a: z.number(), b: z.object({ c: z.string() }) }).parse(plain)).toEqual({
      a: 1,
      b: { c: "x" },
    });
    expect(z.record(z.string(), z.unknown()).safeParse(plain).success).toBe(true);
    expect(z.record(z.string(), z.unknown()).safeParse(tree).success).toBe(true);
  });

  it("has no inherited members a consumer could mistake for input", () => {
    const value = parseStrict("{}") as Record<string, unknown>;
    expect("toString" in value).toBe(false);
    expect(value.constructor).toBeUndefined();
  });
});

describe("differential against JSON.parse", () => {
  // Deterministic PRNG so a failure reproduces.
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = ["a", "é", "😀", "\\n", '\\"', "\\u0041", "\u2028", "\u007f", " ", "\\\\"];
  const randomDoc = (depth: number): string => {
    const pick = rand(depth > 3 ? 4 : 6);
    if (pick === 0) return ["true", "false", "null"][rand(3)] as string;
    if (pick === 1)
      return ["0", "-1.5", "1e+16", "2E-3", "123456789012345678901234567890", "-0.0"][rand(6)] as string;
    if (pick === 2 || pick === 3) {
      return `"${Array.from({ length: rand(5) }, () => alphabet[rand(alphabet.length)]).join("")}"`;
    }
    if (pick === 4) return `[${Array.from({ length: rand(4) }, () => randomDoc(depth + 1)).join(" , ")}]`;
    const keys = new Set(Array.from({ length: rand(4) }, () => `k${rand(6)}`));
    return `{${[...keys].map((k) => `"${k}" :${randomDoc(depth + 1)}`).join(",")}}`;
  };

  it("agrees on 2,000 random documents", () => {
    for (let i = 0; i < 2000; i++) {
      const doc = randomDoc(0);
      expect(asText(parseJson(bytes(doc))), doc).toBe(JSON.stringify(JSON.parse(doc)));
    }
  });

  it("never accepts a mutated document that JSON.parse rejects or reads differently", () => {
    const base = bytes('{"a": [1.5, "x\\u00e9", true, null], "b": {"c": -2e3}}');
    let accepted = 0;
    for (let i = 0; i < base.length; i++) {
      for (const replacement of [0x00, 0x22, 0x2c, 0x30, 0x5c, 0x5d, 0x7d, 0x80, 0xc3, 0xff]) {
        const mutated = base.slice();
        mutated[i] = replacement;
        const ours = tryParseJson(mutated);
        if (!ours.ok) continue;
        accepted++;
        const text = new TextDecoder("utf-8", { fatal: true }).decode(mutated);
        expect(asText(ours.value)).toBe(JSON.stringify(JSON.parse(text)));
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
