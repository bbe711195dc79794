import { describe, expect, it } from "vitest";
import { matchPathGlob, matchSegment, pathGlobProblem } from "../../src/policy/glob.js";

describe("matchSegment", () => {
  it.each([
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["*", "anything", true],
    ["*", "", true],
    ["*.csv", "data.csv", true],
    ["*.csv", "data.csv.exe", false],
    ["app-*", "app-1", true],
    ["app-*", "ap", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "acb", false],
    ["ab*ba", "aba", false],
    ["a*a", "a", false],
    ["*x*", "yyxyy", true],
  ])("%s vs %s → %s", (glob, text, expected) => {
    expect(matchSegment(glob, text)).toBe(expected);
  });

  it("finishes a pathological a*a*…*b glob against a long string in milliseconds", () => {
    const glob = `${"a*".repeat(31)}b`;
    const text = "a".repeat(100_000);
    const started = performance.now();
    expect(matchSegment(glob, text)).toBe(false);
    expect(matchSegment(`${"a*".repeat(31)}a`, text)).toBe(true);
    expect(matchSegment(`*${"a*".repeat(30)}ab`, `${"a".repeat(100_000)}b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("matchPathGlob", () => {
  it.each([
    ["/workspace/shared/*", "/workspace/shared/data.csv", true],
    ["/workspace/shared/*", "/workspace/shared", false],
    ["/workspace/shared/*", "/workspace/shared/a/b", false],
    ["/workspace/**", "/workspace", true],
    ["/workspace/**", "/workspace/a", true],
    ["/workspace/**", "/workspace/a/b/c", true],
    ["/workspace/**", "/workspacex", false],
    ["/workspace/**", "/workspace-evil/a", false],
    ["/workspace/**", "/", false],
    ["/**", "/", true],
    ["/**", "/etc/passwd", true],
    ["/", "/", true],
    ["/", "/a", false],
    ["/a/**/b", "/a/b", true],
    ["/a/**/a", "/a", false],
    ["/a/**/a", "/a/a", true],
    ["/a/**/b/**/a", "/a/b", false],
    ["/a/**/b", "/a/x/y/b", true],
    ["/a/**/b", "/a/x/y/bb", false],
    ["/a/**/b/**/c", "/a/b/c", true],
    ["/a/**/b/**/c", "/a/1/b/2/3/c", true],
    ["/a/**/b/**/c", "/a/1/c/2/b", false],
    ["/a/**/x/y/**", "/a/x/x/y", true],
    ["/a/**/*.csv", "/a/d/e.csv", true],
    ["/a/**/*.csv", "/a/d/e.txt", false],
    ["/home/*/notes", "/home/alice/notes", true],
    ["/home/*/notes", "/home/alice/bob/notes", false],
    ["/logs/*", "/logs/.env", true],
  ])("%s vs %s → %s", (glob, path, expected) => {
    expect(matchPathGlob(glob, path)).toBe(expected);
  });

  it("finishes many ** groups against a deep path in milliseconds", () => {
    const glob = `/${Array.from({ length: 16 }, () => "**/a").join("/")}/b`;
    const path = `/${Array.from({ length: 2000 }, () => "a").join("/")}`;
    const started = performance.now();
    expect(matchPathGlob(glob, path)).toBe(false);
    expect(matchPathGlob(glob, `${path}/b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe("pathGlobProblem", () => {
  it.each(["/", "/**", "/workspace/**", "/workspace/shared/*", "/a/**/b", "/data/*.csv", "/naïve/ok"])(
    "accepts %s",
    (g) => {
      expect(pathGlobProblem(g)).toBeNull();
    },
  );

  it.each([
    ["", "empty"],
    ["workspace/**", "absolute"],
    ["./workspace", "absolute"],
    ["/workspace/", "empty segments"],
    ["//workspace", "empty segments"],
    ["/workspace//a", "empty segments"],
    ["/workspace/../etc", '".."'],
    ["/workspace/./a", '".."'],
    ["/a/***", "whole segment"],
    ["/a/**b", "whole segment"],
    ["/a/?", "only * and **"],
    ["/a/[ab]", "only * and **"],
    ["/a/{b,c}", "only * and **"],
    ["/a\\b", "only * and **"],
    ["/a/\u0000", "control"],
    ["/a/\n", "control"],
    [`/${"a".repeat(512)}`, "512"],
    [`/${"*/".repeat(33)}x`, "wildcards"],
  ])("refuses %j (%s)", (glob, fragment) => {
    expect(pathGlobProblem(glob)).toContain(fragment);
  });
});
