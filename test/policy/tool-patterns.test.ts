import { describe, expect, it } from "vitest";
import {
  firstMatchingPattern,
  matchToolPattern,
  toolPatternProblem,
} from "../../src/policy/tool-patterns.js";

describe("matchToolPattern", () => {
  it.each([
    ["fs.read", "fs.read", true],
    ["fs.read", "fs.reads", false],
    ["fs.read", "fs.read.x", false],
    ["fs.read", "FS.read", false],
    ["fs.*", "fs.read", true],
    ["fs.*", "fs.a.b", true],
    ["fs.*", "fs", false],
    ["fs.*", "fsck", false],
    ["fs.*", "fsx.read", false],
    ["fs.*", "xfs.read", false],
    ["fs.*", "fs.", true],
    ["*", "anything", true],
    ["*", "a.b.c", true],
    ["*", "", false],
    ["*.read", "fs.read", true],
    ["*.read", "fs.a.read", false],
    ["*.read", "read", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.x.c", false],
    ["a.*.*", "a.b.c.d", true],
    ["a.*.*", "a.b", false],
    ["billing.*", "billing.invoices.list", true],
  ])("%s vs %s → %s", (pattern, name, expected) => {
    expect(matchToolPattern(pattern, name)).toBe(expected);
  });

  it("treats a star inside a segment as a literal (such patterns are refused by the schema)", () => {
    expect(matchToolPattern("fs*", "fsck")).toBe(false);
    expect(matchToolPattern("fs*", "fs*")).toBe(true);
  });

  it("firstMatchingPattern returns the first index or -1", () => {
    expect(firstMatchingPattern(["web.*", "fs.*", "*"], "fs.read")).toBe(1);
    expect(firstMatchingPattern(["web.*"], "fs.read")).toBe(-1);
    expect(firstMatchingPattern([], "fs.read")).toBe(-1);
  });

  it("matches a long many-wildcard pattern against a long name quickly", () => {
    const pattern = Array.from({ length: 32 }, () => "*").join(".");
    const name = Array.from({ length: 100_000 }, () => "a").join(".");
    const started = performance.now();
    for (let i = 0; i < 10; i++) matchToolPattern(pattern, name);
    expect(matchToolPattern(pattern, name)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("toolPatternProblem", () => {
  it.each(["fs.read", "fs.*", "*", "*.read", "a.*.c", "billing-v2.list_all", "A.B"])("accepts %s", (p) => {
    expect(toolPatternProblem(p)).toBeNull();
  });

  it.each([
    ["", "empty"],
    ["fs*", "whole"],
    ["fs.re*", "whole"],
    ["**", "whole"],
    ["fs.", "empty segment"],
    [".fs", "empty segment"],
    ["fs..read", "empty segment"],
    ["fs read", "letters"],
    ["fs/read", "letters"],
    ["fs.réad", "letters"],
    ["fs.?", "letters"],
    ["x".repeat(513), "512"],
    [Array.from({ length: 33 }, () => "*").join("."), "wildcards"],
  ])("refuses %j (%s)", (pattern, fragment) => {
    expect(toolPatternProblem(pattern)).toContain(fragment);
  });
});
