import { describe, expect, it } from "vitest";
import { checkPath, normalizePath } from "../../src/policy/paths.js";

describe("normalizePath", () => {
  it.each([
    ["/", "/"],
    ["/workspace/a", "/workspace/a"],
    ["/workspace/a/", "/workspace/a"],
    ["//workspace/a", "/workspace/a"],
    ["/workspace//a///b", "/workspace/a/b"],
    ["/workspace/./a", "/workspace/a"],
    ["/workspace/../etc/passwd", "/etc/passwd"],
    ["/workspace/./../x", "/x"],
    ["/../etc", "/etc"],
    ["/../../..", "/"],
    ["/a/b/../../../../c", "/c"],
    ["/a/.../b", "/a/.../b"],
    ["/a/..b/c", "/a/..b/c"],
    ["/workspace/%2e%2e/etc", "/workspace/%2e%2e/etc"],
    ["/workspace/%2F..%2Fetc", "/workspace/%2F..%2Fetc"],
    ["/données/ü", "/données/ü"],
  ])("%j → %j", (input, expected) => {
    expect(normalizePath(input)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ["", "empty"],
    ["workspace/a", "absolute"],
    ["./a", "absolute"],
    ["../etc/passwd", "absolute"],
    ["~/a", "absolute"],
    ["file:///etc/passwd", "absolute"],
    [" /workspace/a", "absolute"],
    ["/workspace/a\u0000.png", "NUL"],
    ["/workspace/a\n/etc", "control"],
    ["/workspace\\..\\etc", "backslash"],
    ["C:\\Windows", "backslash"],
    [`/${"a".repeat(4096)}`, "longer"],
  ])("refuses %j (%s)", (input, fragment) => {
    const result = normalizePath(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(fragment);
  });
});

describe("checkPath", () => {
  const allow = ["/workspace/**"];

  it.each([
    ["/workspace", true],
    ["/workspace/a", true],
    ["/workspace/a/../b", true],
    ["//workspace/a", true],
    ["/workspace/%2e%2e/etc/passwd", true], // literal segment named %2e%2e, inside /workspace
    ["/workspace/../etc/passwd", false],
    ["/workspace/./../x", false],
    ["/workspace/a/../../etc", false],
    ["/workspace-evil/a", false],
    ["/workspacex", false],
    ["/etc/passwd", false],
    ["workspace/a", false],
    ["/workspace/a\u0000", false],
  ])("%j under /workspace/** → %s", (path, expected) => {
    expect(checkPath(allow, path).ok).toBe(expected);
  });

  it("returns the normalized path on success", () => {
    expect(checkPath(allow, "/workspace//a/./b/")).toEqual({ ok: true, path: "/workspace/a/b" });
  });

  it("fails every path against an empty allowlist", () => {
    expect(checkPath([], "/workspace/a").ok).toBe(false);
  });
});

describe("normalizePath depth bound", () => {
  it("accepts 256 segments and refuses 257 (after normalization)", () => {
    expect(normalizePath(`/${"a/".repeat(256)}`).ok).toBe(true);
    expect(normalizePath(`/${"a/".repeat(257)}`)).toMatchObject({
      ok: false,
      reason: "is deeper than 256 segments",
    });
    expect(normalizePath(`/${"a/".repeat(300)}${"../".repeat(100)}`).ok).toBe(true);
  });
});
