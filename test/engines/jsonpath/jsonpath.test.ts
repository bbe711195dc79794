/**
 * compileJsonPath / queryJsonPath behaviour beyond the compliance suite: error messages and
 * positions, normalized-path escaping, type checks, boundaries of integers and slices, string
 * ordering by code point, and the functions' edge cases.
 */

import { describe, expect, it } from "vitest";
import { type CompiledPath, compileJsonPath, queryJsonPath } from "../../../src/engines/jsonpath/jsonpath.js";

function compiled(expr: string): CompiledPath {
  const c = compileJsonPath(expr);
  if (!c.ok) throw new Error(`did not compile: ${expr}: ${c.error}`);
  return c.path;
}

function values(expr: string, doc: unknown): unknown[] {
  return queryJsonPath(compiled(expr), doc).values;
}

function paths(expr: string, doc: unknown): string[] {
  return queryJsonPath(compiled(expr), doc).paths;
}

function compileError(expr: string): { error: string; position: number } {
  const c = compileJsonPath(expr);
  if (c.ok) throw new Error(`compiled: ${expr}`);
  return c;
}

describe("compile errors", () => {
  it("names the position and a printable character, never the whole query", () => {
    expect(compileError("$.a[?@.b ==]")).toEqual({
      ok: false,
      error: "JSONPath syntax error at position 11: expected a query, a literal or a function near ']'",
      position: 11,
    });
    expect(compileError("a.b").error).toBe(
      "JSONPath syntax error at position 0: a query must start with '$' near 'a'",
    );
    expect(compileError("$['a").error).toMatch(/position 2: unterminated string literal/);
    expect(compileError("$[1").error).toMatch(/position 3: expected ',' or '\]' at end of input/);
    expect(compileError("$.a\u0000").error).toMatch(/near U\+0000$/);
    const secret = "s3cr3t-value-that-must-not-echo";
    expect(compileError(`$[?@.a == '${secret}' &&]`).error).not.toContain(secret);
  });

  it("reports type errors at the offending operand", () => {
    expect(compileError("$[?@.* == 1]")).toMatchObject({
      position: 3,
      error: expect.stringMatching(/singular/),
    });
    expect(compileError("$[?length(@.*) == 1]").error).toMatch(/singular/);
    expect(compileError("$[?count(1) == 1]").error).toMatch(/expects a query/);
    expect(compileError("$[?length(@)]").error).toMatch(/returns a value; compare it/);
    expect(compileError("$[?match(@, 'a') == true]").error).toMatch(/does not return a value/);
    expect(compileError("$[?1]").error).toMatch(/a literal is not a test/);
    expect(compileError("$[?foo(@)]").error).toMatch(/position 3: unknown function/);
    expect(compileError("$[?length(@, @)]").error).toMatch(/takes 1 argument/);
    expect(compileError("$[?length (@) == 1]").error).toMatch(/syntax error/);
  });

  it("applies the §2.3.5.1 singular-query grammar literally (no blanks inside its brackets)", () => {
    expect(compileJsonPath("$[?@['a'] == 1]").ok).toBe(true);
    expect(compileJsonPath("$[?@ ['a'] [0] == 1]").ok).toBe(true);
    expect(compileJsonPath("$[?@[ 'a' ] == 1]").ok).toBe(false);
    expect(compileJsonPath("$[?@[0 ] == 1]").ok).toBe(false);
    expect(compileJsonPath("$[?@[ 'a' ]]").ok).toBe(true);
    expect(compileJsonPath("$[?@..a == 1]").ok).toBe(false);
    expect(compileJsonPath("$[?@['a','b'] == 1]").ok).toBe(false);
    expect(compiled("$.a[0]['b']").singular).toBe(true);
    expect(compiled("$.a[0:1]").singular).toBe(false);
  });

  it("accepts integers up to ±(2^53−1) and refuses beyond", () => {
    expect(compileJsonPath("$[9007199254740991]").ok).toBe(true);
    expect(compileJsonPath("$[-9007199254740991]").ok).toBe(true);
    expect(compileJsonPath("$[9007199254740992]").ok).toBe(false);
    expect(compileJsonPath("$[-9007199254740992]").ok).toBe(false);
    expect(compileJsonPath("$[::9007199254740992]").ok).toBe(false);
    expect(compileJsonPath("$[-0]").ok).toBe(false);
    expect(compileJsonPath("$[01]").ok).toBe(false);
    expect(compileJsonPath("$[?@.a == -0]").ok).toBe(true);
    expect(values("$[9007199254740991]", [1])).toEqual([]);
    expect(values("$[::-9007199254740991]", [1, 2, 3])).toEqual([3]);
  });

  it("refuses a lone surrogate in a string literal but accepts a pair", () => {
    expect(compileJsonPath("$['\ud800']").ok).toBe(false);
    expect(compileJsonPath("$['\\ud800']").ok).toBe(false);
    expect(compileJsonPath("$['\\udc00\\ud800']").ok).toBe(false);
    expect(values("$['\ud83d\ude00']", { "😀": 1 })).toEqual([1]);
    expect(values("$['\\uD83D\\uDE00']", { "😀": 2 })).toEqual([2]);
  });
});

describe("normalized paths", () => {
  it("escapes quotes, backslashes and control characters as RFC 9535 §2.7 requires", () => {
    const doc = { "it's": 1, "back\\slash": 2, "line\nfeed\t": 3, "\u0001\u001f": 4, "\u007f é 😀": 5 };
    expect(paths("$.*", doc)).toEqual([
      "$['it\\'s']",
      "$['back\\\\slash']",
      "$['line\\nfeed\\t']",
      "$['\\u0001\\u001f']",
      "$['\u007f é 😀']",
    ]);
  });

  it("round-trips: every normalized path compiles and selects its own node", () => {
    const doc = { "a'b": [{ "\\": { "\b\f\r": [null, { x: true }] } }], "": 0 };
    const r = queryJsonPath(compiled("$..*"), doc);
    expect(r.paths.length).toBe(8);
    r.paths.forEach((p, i) => {
      expect(queryJsonPath(compiled(p), doc)).toEqual({ values: [r.values[i]], paths: [p] });
    });
  });

  it("lists descendants parents first and arrays in order", () => {
    const doc = { o: { j: 1, k: 2 }, a: [5, 3, [{ j: 4 }, { k: 6 }]] };
    expect(paths("$..*", doc)).toEqual([
      "$['o']",
      "$['a']",
      "$['o']['j']",
      "$['o']['k']",
      "$['a'][0]",
      "$['a'][1]",
      "$['a'][2]",
      "$['a'][2][0]",
      "$['a'][2][1]",
      "$['a'][2][0]['j']",
      "$['a'][2][1]['k']",
    ]);
    expect(values("$..j", doc)).toEqual([1, 4]);
  });
});

describe("evaluation", () => {
  it("keeps duplicates and selector order within one bracket", () => {
    expect(paths("$[1, 0, 1, -1]", ["a", "b"])).toEqual(["$[1]", "$[0]", "$[1]", "$[1]"]);
    expect(values("$['b', 'a', 'b']", { a: 1, b: 2 })).toEqual([2, 1, 2]);
  });

  it("slices with negative steps and out-of-range bounds", () => {
    const a = [0, 1, 2, 3, 4, 5];
    expect(values("$[::-1]", a)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(values("$[4:1:-2]", a)).toEqual([4, 2]);
    expect(values("$[-100:100:3]", a)).toEqual([0, 3]);
    expect(values("$[::0]", a)).toEqual([]);
    expect(values("$[1:3]", { 1: "x" })).toEqual([]);
  });

  it("compares strings by code point, not UTF-16 code unit", () => {
    // U+FFFF sorts before U+1F600, although its UTF-16 unit 0xFFFF is above 0xD83D.
    expect(values("$[?@ < '\ud83d\ude00']", ["\uffff", "\ud83d\ude01", "a"])).toEqual(["\uffff", "a"]);
    expect(values("$[?@ > '\uffff']", ["\ud83d\ude00", "\ue000"])).toEqual(["\ud83d\ude00"]);
  });

  it("compares numbers by value and structures deeply", () => {
    expect(values("$[?@.a == 1]", [{ a: 1.0 }, { a: "1" }, { a: true }])).toEqual([{ a: 1 }]);
    expect(
      values("$[?@.a == $.x]", { x: { k: [1, { z: null }] }, y: { a: { k: [1, { z: null }] } } }),
    ).toHaveLength(1);
    expect(values("$[?@ == $.x]", { x: [1, 2], y: [1, 2, 3], z: [2, 1] })).toEqual([[1, 2]]);
    expect(values("$[?@.a <= 'b']", [{ a: "b" }, { a: "a" }, { a: 1 }, { a: null }])).toEqual([
      { a: "b" },
      { a: "a" },
    ]);
  });

  it("treats a missing member as Nothing: equal only to Nothing", () => {
    const doc = [{ a: null }, {}, { b: 1 }];
    expect(values("$[?@.a == null]", doc)).toEqual([{ a: null }]);
    expect(values("$[?@.a == @.c]", doc)).toEqual([{}, { b: 1 }]);
    expect(values("$[?@.a != 1]", doc)).toHaveLength(3);
    expect(values("$[?@.a < 1 || @.a >= 1]", doc)).toEqual([]);
  });

  it("tests existence, not truthiness", () => {
    const doc = [{ a: false }, { a: null }, { a: 0 }, {}];
    expect(values("$[?@.a]", doc)).toHaveLength(3);
    expect(values("$[?!@.a]", doc)).toEqual([{}]);
  });

  it("implements length(), count() and value() edge cases", () => {
    expect(values("$[?length(@) == 2]", ["😀😀", "ab", [1, 2], { a: 1, b: 2 }, 22, "é"])).toEqual([
      "😀😀",
      "ab",
      [1, 2],
      { a: 1, b: 2 },
    ]);
    // length() of a number, a boolean or a missing member is Nothing, and Nothing == Nothing.
    const pairs = [{ c: 1 }, { a: 1, b: true }, { a: "x", b: [1] }, { a: "xy", b: [1] }];
    expect(values("$[?length(@.a) == length(@.b)]", pairs)).toEqual(pairs.slice(0, 3));
    expect(values("$[?count(@..*) == 2]", [{ a: { b: 1 } }, [1, 2], 3])).toEqual([{ a: { b: 1 } }, [1, 2]]);
    expect(values("$[?value(@..x) == 1]", [{ x: 1 }, { x: 1, y: { x: 1 } }, { y: { x: 1 } }])).toEqual([
      { x: 1 },
      { y: { x: 1 } },
    ]);
  });

  it("implements match() as a whole-string test and search() as a substring test", () => {
    const doc = ["abc", "xabcx", "ab\nc", "ABC", 5];
    expect(values("$[?match(@, 'a.c')]", doc)).toEqual(["abc"]);
    expect(values("$[?search(@, 'a.c')]", doc)).toEqual(["abc", "xabcx"]);
    expect(values("$[?search(@, '[A-Z]{3}')]", doc)).toEqual(["ABC"]);
    expect(values("$[?match(@, 5)]", doc)).toEqual([]);
    expect(values("$[?match(@, '(')]", doc)).toEqual([]);
    expect(values("$[?!match(@, '(')]", doc)).toEqual(doc);
  });

  it("evaluates absolute queries inside filters against the root", () => {
    const doc = { limit: 2, items: [{ n: 1 }, { n: 2 }, { n: 3 }] };
    expect(values("$.items[?@.n >= $.limit].n", doc)).toEqual([2, 3]);
  });

  it("selects nothing (rather than failing) on values of the wrong kind", () => {
    for (const doc of [null, 1, "str", true, [], {}]) {
      expect(values("$.a[0][*][1:2][?@]", doc)).toEqual([]);
    }
    expect(values("$", null)).toEqual([null]);
    expect(values("$[0]", "abc")).toEqual([]);
  });
});
