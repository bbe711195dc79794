/**
 * JSONPath code injection and resource exhaustion: script-like queries are refused or read as
 * data, never run; prototype keys are plain keys; oversized and deeply nested queries, huge
 * documents and pathological regular expressions are all bounded.
 */

import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CompiledPath,
  compileJsonPath,
  JSONPATH_LIMITS,
  JsonPathLimitError,
  queryJsonPath,
} from "../../../src/engines/jsonpath/jsonpath.js";
import { isGatewayError } from "../../../src/errors.js";

function compiled(expr: string): CompiledPath {
  const c = compileJsonPath(expr);
  if (!c.ok) throw new Error(`did not compile: ${expr}: ${c.error}`);
  return c.path;
}

function query(expr: string, doc: unknown, opts?: Parameters<typeof queryJsonPath>[2]) {
  return queryJsonPath(compiled(expr), doc, opts);
}

function limitOf(fn: () => unknown): JsonPathLimitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof JsonPathLimitError) return err;
    throw err;
  }
  throw new Error("no limit error was thrown");
}

const g = globalThis as Record<string, unknown>;
afterEach(() => {
  delete g.pwned;
});

describe("code injection", () => {
  it.each([
    "$[?(@.a && process.exit())]",
    "$[?(@.a && (globalThis.pwned = 1))]",
    "$[(@.length-1)]",
    "$[?(@.price < 10)]@",
    "$[?@.a == constructor.constructor('return process')()]",
    "$[?this.pwned]",
    "$[?@.a == `x`]",
    "$[?@.a = 1]",
    "$[?@.a == 1; process.exit()]",
    "$..[?(@.a)].toString()",
    "$[?@.a.b()]",
    "$[?eval('1')]",
    "$[?Function('return 1')()]",
    "$[?constructor(1)]",
    "$[?__proto__(1)]",
    "$[?toString(@)]",
    "$[?hasOwnProperty(@)]",
    "$.a[?(@.b == require('fs'))]",
    "$[?@ =~ /a/]",
  ])("refuses %s at compile time", (expr) => {
    const c = compileJsonPath(expr);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error).toMatch(/^JSONPath syntax error at position \d+: /);
    expect(g.pwned).toBeUndefined();
  });

  it("treats script-looking text inside string literals as data", () => {
    const doc = { "process.exit()": 1, list: ["globalThis.pwned = 1", "x"] };
    expect(query("$['process.exit()']", doc).values).toEqual([1]);
    expect(query("$.list[?@ == 'globalThis.pwned = 1']", doc).values).toEqual(["globalThis.pwned = 1"]);
    expect(query("$.list[?match(@, 'globalThis.*')]", doc).values).toEqual(["globalThis.pwned = 1"]);
    expect(g.pwned).toBeUndefined();
  });

  it("finds no constructor, prototype or method through a query on plain JSON", () => {
    const doc = JSON.parse('{"a":[{"b":1},"s",[1,2]],"c":{"d":true}}');
    for (const expr of [
      "$..[?(@.constructor)]",
      "$..constructor",
      "$..__proto__",
      "$..prototype",
      "$.a.length",
      "$.a[1].length",
      "$.toString",
      "$.c.hasOwnProperty",
      "$..['constructor']['prototype']",
    ]) {
      expect(query(expr, doc), expr).toEqual({ values: [], paths: [] });
    }
  });

  it("reads __proto__ and constructor keys as own data, never as the prototype", () => {
    const doc = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"name":"x"}}');
    expect(query("$['__proto__']", doc)).toEqual({ values: [{ polluted: true }], paths: ["$['__proto__']"] });
    expect(query("$.__proto__.polluted", doc).values).toEqual([true]);
    expect(query("$.constructor.name", doc).values).toEqual(["x"]);
    expect(query("$[?@.polluted == true]", doc).paths).toEqual(["$['__proto__']"]);
    // Nothing leaked onto Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(query("$['__proto__']", {}).values).toEqual([]);
    expect(query("$['__proto__']", Object.create(null)).values).toEqual([]);
  });

  it("accepts null-prototype objects", () => {
    const doc = Object.assign(Object.create(null) as Record<string, unknown>, {
      a: Object.assign(Object.create(null) as Record<string, unknown>, { b: 1 }),
    });
    expect(query("$.a.b", doc).values).toEqual([1]);
    expect(query("$..b", doc).paths).toEqual(["$['a']['b']"]);
    expect(query("$[?@.b == 1]", doc).values).toHaveLength(1);
  });

  it("contains no dynamic code evaluation anywhere in the engine's source", () => {
    const dir = new URL("../../../src/engines/jsonpath/", import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const src = readFileSync(new URL(f, dir), "utf8");
      expect(src, f).not.toMatch(
        /\beval\s*\(|new\s+Function\b|\bFunction\s*\(|node:vm|setTimeout\s*\(\s*["'`]/,
      );
      // The only host RegExps built at run time are the fixed Unicode-category ones.
      const dynamic = src.match(/new RegExp\(/g) ?? [];
      expect(dynamic.length, f).toBe(f === "iregexp-parse.ts" ? 1 : 0);
    }
  });
});

describe("query size and nesting", () => {
  it("refuses a query longer than the limit and accepts one at the limit", () => {
    const at = `$['${"a".repeat(JSONPATH_LIMITS.maxExpressionLength - 5)}']`;
    expect(at.length).toBe(JSONPATH_LIMITS.maxExpressionLength);
    expect(compileJsonPath(at).ok).toBe(true);
    const over = compileJsonPath(`${at} `);
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error).toMatch(/longer than 4096/);
  });

  it("refuses deeply nested filters, parentheses, calls and brackets", () => {
    const depth = 200;
    for (const expr of [
      `$${"[?@".repeat(depth)}${"]".repeat(depth)}`,
      `$[?${"(".repeat(depth)}@.a${")".repeat(depth)}]`,
      `$[?${"!(".repeat(depth)}@.a${")".repeat(depth)}]`,
      `$[?${"count(".repeat(depth)}@${")".repeat(depth)}]`,
    ]) {
      const c = compileJsonPath(expr);
      expect(c.ok, expr.slice(0, 30)).toBe(false);
      if (!c.ok) expect(c.error).toMatch(/nesting deeper than 32 levels/);
    }
  });

  it("accepts nesting below the limit", () => {
    const expr = `$${"[?@".repeat(10)}${"]".repeat(10)}`;
    expect(compileJsonPath(expr).ok).toBe(true);
    expect(compileJsonPath(`$[?${"(".repeat(25)}@.a${")".repeat(25)}]`).ok).toBe(true);
  });

  it("refuses non-string input without throwing", () => {
    for (const bad of [null, undefined, 42, { toString: () => "$" }, ["$"]]) {
      const c = compileJsonPath(bad as unknown as string);
      expect(c.ok).toBe(false);
    }
  });

  it("refuses a forged CompiledPath (only compileJsonPath's output runs)", () => {
    const real = compiled("$.a");
    const forged = JSON.parse(JSON.stringify(real)) as CompiledPath;
    expect(() => queryJsonPath(forged, { a: 1 })).toThrow(TypeError);
  });
});

describe("resource limits", () => {
  const rows = (n: number) => ({ data: Array.from({ length: n }, (_, i) => ({ id: i, total: i % 100 })) });
  const wide = rows(50_000);
  // Small enough that, were the budget broken, these tests would finish (and fail) quickly.
  const medium = rows(3_000);

  it("bounds a descendant query on a large document with a typed error", () => {
    const err = limitOf(() => query("$..*", wide, { maxNodesVisited: 10_000 }));
    expect(err.limit).toBe("nodes");
    expect(err.max).toBe(10_000);
    expect(isGatewayError(err)).toBe(true);
    expect(err.code).toBe("INVALID_ARGUMENTS");
    expect(err.details).toEqual({ reason: "jsonpath_limit_exceeded", limit: "nodes", max: 10_000 });
  });

  it("counts nodes walked inside filters, so nested descendants are bounded too", () => {
    // `$..*` returns 9,001 nodes within 50,000; the filtered query returns only 3,001, but its
    // per-node sub-queries walk more than the whole document again.
    expect(query("$..*", medium, { maxNodesVisited: 50_000 }).values).toHaveLength(9_001);
    const err = limitOf(() => query("$..[?@..*]", medium, { maxNodesVisited: 50_000 }));
    expect(err.limit).toBe("nodes");
    expect(limitOf(() => query("$..[?@..[?@..*]]", medium, { maxNodesVisited: 50_000 })).limit).toBe("nodes");
  });

  it("bounds the default run of a quadratic query", () => {
    const started = performance.now();
    // 3,000 × 3,000 = 9 million nodes, over the default budget of one million.
    const err = limitOf(() => query("$.data[?$.data[?@.total == 1]]", medium));
    expect(err.limit).toBe("nodes");
    expect(err.max).toBe(JSONPATH_LIMITS.defaultMaxNodesVisited);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("bounds deep equality between large values", () => {
    const big = Array.from({ length: 20_000 }, (_, i) => i);
    const doc = { a: big, b: [...big] };
    expect(query("$[?$.a == $.b]", { x: doc }, { maxNodesVisited: 100_000 }).values).toHaveLength(1);
    expect(limitOf(() => query("$[?$.x.a == $.x.b]", { x: doc }, { maxNodesVisited: 5_000 })).limit).toBe(
      "nodes",
    );
  });

  it("refuses more results than maxResults", () => {
    expect(query("$.data[*].id", wide, { maxResults: 50_000 }).values).toHaveLength(50_000);
    const err = limitOf(() => query("$.data[*].id", wide, { maxResults: 49_999 }));
    expect(err.limit).toBe("results");
  });

  it("walks a very deeply nested document without exhausting the stack", () => {
    const depth = 100_000;
    const nested = () => JSON.parse(`${"[".repeat(depth)}"leaf"${"]".repeat(depth)}`) as unknown;
    const doc = nested();
    const r = query("$..[?@ == 'leaf']", doc);
    expect(r.values).toEqual(["leaf"]);
    expect(r.paths).toEqual([`$${"[0]".repeat(depth)}`]);
    expect(query("$[?$.a == $.b]", { x: { a: doc, b: nested() } }).values).toHaveLength(1);
  });

  it("charges the length of returned paths, which grows quadratically on deep documents", () => {
    const depth = 3_000;
    const doc = JSON.parse(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
    // 3,000 results whose paths add up to about 4.5 million segments.
    const err = limitOf(() => query("$..*", doc));
    expect(err.limit).toBe("nodes");
    expect(query("$..*", doc, { maxNodesVisited: 5_000_000 }).values).toHaveLength(depth);
  });

  it("rejects invalid limit options", () => {
    const p = compiled("$");
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => queryJsonPath(p, {}, { maxNodesVisited: bad })).toThrow(RangeError);
      expect(() => queryJsonPath(p, {}, { maxResults: bad })).toThrow(RangeError);
    }
  });
});

describe("pathological regular expressions in match() and search()", () => {
  const evil = ["(a+)+b", "(a|aa)*b", "(a*)*b", "(a|a?)+b", "(.*a){12}b", "((a?){20}){20}b"];

  it.each(evil)("runs %s over a long non-matching input in linear time", (pattern) => {
    const doc = ["a".repeat(20_000)];
    const started = performance.now();
    expect(query(`$[?match(@, '${pattern}')]`, doc).values).toEqual([]);
    expect(query(`$[?search(@, '${pattern}')]`, doc, { maxRegexSteps: 50_000_000 }).values).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("stops a regular expression that exceeds its step budget with a typed error", () => {
    const doc = ["a".repeat(100_000)];
    const err = limitOf(() => query("$[?search(@, '(a|b|c|d){50}x')]", doc, { maxRegexSteps: 1_000_000 }));
    expect(err.limit).toBe("regex");
    expect(err.details.reason).toBe("jsonpath_limit_exceeded");
  });

  it("refuses a pattern whose counted repetition would build a huge automaton", () => {
    for (const pattern of ["((a{100}){100}){100}", "a{1000000}", "(){999999999}", "a{0,99999999}"]) {
      const err = limitOf(() => query("$[?match(@, $.p)]", { p: pattern, s: "a" }));
      expect(err.limit, pattern).toBe("regex");
    }
  });

  it("refuses a pattern nested too deeply (taken from the document, so not bounded by query length)", () => {
    const pattern = `${"(".repeat(5_000)}a${")".repeat(5_000)}`;
    const err = limitOf(() => query("$[?match(@, $.p)]", { p: pattern, s: "a" }));
    expect(err.limit).toBe("regex");
  });

  it("gives false, not an error, for patterns outside I-Regexp (lookaround, backreferences, flags)", () => {
    const doc = { p: "", items: ["aa", "ab"] };
    for (const pattern of [
      "(a)\\1",
      "(?=a)a",
      "(?<x>a)",
      "a*?",
      "(?i)A",
      "\\d",
      "\\w+",
      "\\bab",
      "a{,2}",
      "[[:alpha:]]",
    ]) {
      doc.p = pattern;
      expect(query("$.items[?match(@, $.p)]", doc).values, pattern).toEqual([]);
      expect(query("$.items[?!match(@, $.p)]", doc).values, pattern).toEqual(["aa", "ab"]);
    }
  });
});
