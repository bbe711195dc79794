/**
 * Path normalization before `path_allowlist` matching. Matching raw strings is how
 * `/workspace/../etc/passwd` slips past `/workspace/**`, so every path is reduced to its
 * canonical absolute form first, and anything that cannot be reduced safely is refused
 * (the constraint fails) rather than guessed at:
 *
 * - relative paths (`a/b`, `./a`, `~/a`, `file:///a`): the gateway does not know the tool's
 *   working directory;
 * - NUL and other control characters: C APIs truncate at NUL, and newlines forge log lines;
 * - backslashes: some runtimes and mounts treat `\` as a separator (`/workspace\..\etc`);
 * - paths longer than 4096 characters (Linux PATH_MAX) or deeper than 256 segments.
 *
 * `.` segments and repeated slashes are dropped, `..` removes the previous segment and never
 * climbs above the root (`/../etc` → `/etc`), a trailing slash is dropped. Percent-encoding
 * is NOT decoded: `%2e%2e` is a literal three-letter-pair segment name, which is what a
 * filesystem sees too. An engine that decodes a path before using it must check it again.
 * No symlink resolution happens here (no I/O); mounts are what confines a CLI container.
 */

import { matchAnyPathGlob } from "./glob.js";

export const PATH_MAX_LENGTH = 4096;
/** Deeper normalized paths are refused: it bounds the work of `**` matching. */
export const PATH_MAX_SEGMENTS = 256;

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

export function normalizePath(input: string): NormalizedPath {
  if (input.length === 0) return { ok: false, reason: "is empty" };
  if (input.length > PATH_MAX_LENGTH)
    return { ok: false, reason: `is longer than ${PATH_MAX_LENGTH} characters` };
  if (input.includes("\u0000")) return { ok: false, reason: "contains a NUL byte" };
  if (CONTROL.test(input)) return { ok: false, reason: "contains a control character" };
  if (input.includes("\\")) return { ok: false, reason: "contains a backslash" };
  if (!input.startsWith("/")) return { ok: false, reason: 'is not an absolute path (must start with "/")' };
  const out: string[] = [];
  for (const segment of input.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  if (out.length > PATH_MAX_SEGMENTS)
    return { ok: false, reason: `is deeper than ${PATH_MAX_SEGMENTS} segments` };
  return { ok: true, path: `/${out.join("/")}` };
}

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

/** Normalizes `input` and checks it against the globs; `ok` carries the normalized path. */
export function checkPath(allowlist: readonly string[], input: string): PathCheck {
  const normalized = normalizePath(input);
  if (!normalized.ok) return normalized;
  if (pathAllowed(allowlist, normalized.path)) return normalized;
  return { ok: false, reason: "is not in path_allowlist" };
}

/** Whether an already-normalized path matches any glob of the allowlist. */
export function pathAllowed(allowlist: readonly string[], normalized: string): boolean {
  return matchAnyPathGlob(allowlist, normalized);
}
