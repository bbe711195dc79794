/**
 * RFC 9485 I-Regexp: which patterns are valid, what they match, and that matching is linear
 * (the automaton never backtracks) and bounded.
 */

import { describe, expect, it } from "vitest";
import { iregexpTest } from "../../../src/engines/jsonpath/iregexp-match.js";
import { parseIRegexp } from "../../../src/engines/jsonpath/iregexp-parse.js";
import { Budget, JsonPathLimitError } from "../../../src/engines/jsonpath/limits.js";

const roomy = () => new Budget(1_000_000, 100_000_000);
const match = (pattern: string, input: string) => iregexpTest(pattern, input, true, roomy());
const search = (pattern: string, input: string) => iregexpTest(pattern, input, false, roomy());

describe("I-Regexp syntax", () => {
  it.each([
    "",
    "abc",
    "a|b|",
    "()",
    "(a|b)*c+d?",
    "a{3}",
    "a{2,}",
    "a{0,5}",
    "[a-z]",
    "[^a-z]",
    "[-a]",
    "[a-]",
    "[a-z-]",
    "[\\-\\]\\[]",
    "\\p{L}",
    "\\P{Nd}",
    "[\\p{Lu}\\p{Nd}_]",
    "\\.\\*\\+\\?\\(\\)\\{\\}\\|\\^\\\\\\n\\r\\t",
    ",-/:;<=>@_`~ \u00e9\u{1F600}",
    "^ab$",
  ])("accepts %j", (pattern) => {
    expect(parseIRegexp(pattern)).not.toBeNull();
  });

  it.each([
    "(",
    ")",
    "a)",
    "[",
    "]",
    "[]",
    "[^]",
    "[b-a]",
    "[a-b-c]",
    "[--a]",
    "{",
    "}",
    "a{}",
    "a{,2}",
    "a{3,2}",
    "a{1",
    "*a",
    "a**",
    "a*?",
    "a+?",
    "a{2}?",
    "^*",
    "\\d",
    "\\w",
    "\\s",
    "\\b",
    "\\1",
    "\\x41",
    "\\u0041",
    "\\",
    "(?:a)",
    "(?=a)",
    "(?<n>a)",
    "\\p{IsBasicLatin}",
    "\\p{Lx}",
    "\\p{L",
    "\\p{Cs}",
    "[\\d]",
    "[a-\\p{L}]",
    "a\ud800",
    "[\udc00]",
  ])("refuses %j", (pattern) => {
    expect(parseIRegexp(pattern)).toBeNull();
  });
});

describe("I-Regexp matching", () => {
  it("anchors match() at both ends and lets search() find a substring", () => {
    expect(match("ab", "ab")).toBe(true);
    expect(match("ab", "abc")).toBe(false);
    expect(match("ab", "cab")).toBe(false);
    expect(search("ab", "cabc")).toBe(true);
    expect(search("ab", "acb")).toBe(false);
    expect(match("", "")).toBe(true);
    expect(match("", "a")).toBe(false);
    expect(search("", "a")).toBe(true);
    expect(match("a|ab", "ab")).toBe(true);
  });

  it("reads ^ and $ as input anchors, as the RFC's ECMAScript mapping and the CTS do", () => {
    expect(match("^ab.*", "abc")).toBe(true);
    expect(match(".*bc$", "abc")).toBe(true);
    expect(search("^b", "ab")).toBe(false);
    expect(search("a$", "ab")).toBe(false);
    expect(search("b$", "ab")).toBe(true);
    expect(search("a^b", "a^b")).toBe(false);
    expect(match("\\^[$]", "^$")).toBe(true);
  });

  it("matches '.' against anything but CR and LF, including U+2028 and astral characters", () => {
    expect(match(".", "\u2028")).toBe(true);
    expect(match(".", "\u2029")).toBe(true);
    expect(match(".", "😀")).toBe(true);
    expect(match("..", "😀")).toBe(false);
    expect(match(".", "\n")).toBe(false);
    expect(match(".", "\r")).toBe(false);
  });

  it("works on code points in classes and ranges", () => {
    expect(match("[😀-😂]", "😁")).toBe(true);
    expect(match("[^😀]", "😀")).toBe(false);
    expect(match("[^a]", "😀")).toBe(true);
    expect(match("a[\\-]b", "a-b")).toBe(true);
    expect(match("[a-]+", "a-a")).toBe(true);
  });

  it("evaluates Unicode categories and their complements", () => {
    expect(match("\\p{Lu}\\p{Ll}+", "Émile")).toBe(true);
    expect(match("\\p{Lu}", "é")).toBe(false);
    expect(match("\\P{L}+", "123 !")).toBe(true);
    expect(match("\\p{Nd}{3}", "١٢٣")).toBe(true);
    expect(match("[\\p{Zs}x]+", "x\u00a0x")).toBe(true);
    expect(match("\\p{So}", "😀")).toBe(true);
    expect(match("[^\\P{N}]", "7")).toBe(true);
  });

  it("counts repetitions exactly", () => {
    expect(match("a{3}", "aaa")).toBe(true);
    expect(match("a{3}", "aa")).toBe(false);
    expect(match("a{3}", "aaaa")).toBe(false);
    expect(match("a{2,3}", "aaaa")).toBe(false);
    expect(match("a{2,}", "aaaaaaa")).toBe(true);
    expect(match("(ab){0,2}", "abab")).toBe(true);
    expect(match("(ab){0,2}", "ababab")).toBe(false);
    expect(match("(a*)*", "aaaa")).toBe(true);
    expect(match("(a?){5}a{5}", "aaaaa")).toBe(true);
  });
});

describe("I-Regexp limits", () => {
  it("runs the classic catastrophic patterns in linear time", () => {
    const input = `${"a".repeat(50_000)}!`;
    const started = performance.now();
    expect(match("(a+)+b", input)).toBe(false);
    expect(match("(a|a)*b", input)).toBe(false);
    expect(match("(a*)*b", input)).toBe(false);
    expect(search("(a|aa)+$", `${"a".repeat(50_000)}b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("charges every automaton step and stops at the budget", () => {
    const budget = new Budget(1_000_000, 1_000);
    expect(() => iregexpTest("a*b", "a".repeat(2_000), true, budget)).toThrow(JsonPathLimitError);
    const enough = new Budget(1_000_000, 10_000);
    expect(iregexpTest("a*b", `${"a".repeat(2_000)}b`, true, enough)).toBe(true);
  });

  it("refuses automata above the state limit and nesting above the depth limit", () => {
    expect(() => match("(a{100}){101}", "a")).toThrow(JsonPathLimitError);
    expect(match("(a{100}){99}", "a".repeat(9_900))).toBe(true);
    expect(() => parseIRegexp(`${"(".repeat(65)}a${")".repeat(65)}`)).toThrow(JsonPathLimitError);
    expect(parseIRegexp(`${"(".repeat(64)}a${")".repeat(64)}`)).not.toBeNull();
  });
});
