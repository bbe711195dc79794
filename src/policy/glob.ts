/**
 * Path globs for `path_allowlist`. A glob is an absolute, already-normalized path whose
 * segments may contain wildcards:
 *
 * - `**` as a whole segment matches zero or more segments (`/workspace/**` matches
 *   `/workspace` itself and everything below it);
 * - `*` inside a segment matches any run of characters other than `/`, including none
 *   (`/data/*.csv`, `/logs/app-*`); a segment that is only `*` matches exactly one segment.
 * - Everything else is literal and compared exactly (case-sensitive, no Unicode folding).
 *   Dot-files get no special treatment: `*` matches `.env`.
 *
 * Globs are matched against paths that went through `normalizePath` first, so a glob can
 * only ever see canonical paths. No regular expression is built from a glob and nothing
 * backtracks: a segment is matched by locating its literal pieces left to right, and runs
 * of `**` are resolved by leftmost placement of the fixed-length groups between them. Both
 * are correct for wildcards that match "any run" and cost at most O(path × glob).
 */

import { PATTERN_MAX_WILDCARDS } from "./tool-patterns.js";

export const PATH_GLOB_MAX_LENGTH = 512;

// `?`, `[…]` and `{…}` look like glob syntax in other tools; refusing them avoids an
// operator believing a literal character is a wildcard (or the reverse).
const RESERVED = /[?[\]{}\\]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `glob` is not a valid path glob, or null when it is. */
export function pathGlobProblem(glob: string): string | null {
  if (glob.length === 0) return "must not be empty";
  if (glob.length > PATH_GLOB_MAX_LENGTH) return `must be at most ${PATH_GLOB_MAX_LENGTH} characters`;
  if (!glob.startsWith("/")) return 'must be an absolute path (start with "/")';
  if (CONTROL.test(glob)) return "must not contain control characters";
  if (RESERVED.test(glob)) return "must not contain ? [ ] { } or \\ (only * and ** are wildcards)";
  if (glob === "/") return null;
  const segments = glob.slice(1).split("/");
  let wildcards = 0;
  for (const segment of segments) {
    if (segment.length === 0) return "must not contain empty segments (repeated or trailing /)";
    if (segment === "." || segment === "..") return 'must not contain "." or ".." segments';
    if (segment === "**") {
      wildcards++;
      continue;
    }
    if (segment.includes("**")) return '"**" must be a whole segment';
    for (const ch of segment) if (ch === "*") wildcards++;
  }
  if (wildcards > PATTERN_MAX_WILDCARDS) return `must have at most ${PATTERN_MAX_WILDCARDS} wildcards`;
  return null;
}

/** A glob segment: literal text, or its literal pieces around `*`. */
type SegmentMatcher = string | readonly string[];

/** A glob as groups of fixed-length segment matchers separated by `**`. */
export interface CompiledGlob {
  readonly groups: readonly (readonly SegmentMatcher[])[];
}

function piecesMatch(pieces: readonly string[], text: string): boolean {
  const first = pieces[0] ?? "";
  const last = pieces[pieces.length - 1] ?? "";
  if (text.length < first.length + last.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  // Leftmost placement of each middle piece is optimal: it leaves the most room for the rest.
  let pos = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] ?? "";
    if (piece.length === 0) continue;
    const at = text.indexOf(piece, pos);
    if (at < 0 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}

function segmentMatches(matcher: SegmentMatcher, text: string): boolean {
  return typeof matcher === "string" ? matcher === text : piecesMatch(matcher, text);
}

/** Whether one path segment matches one glob segment (`*` = any run of characters). */
export function matchSegment(glob: string, text: string): boolean {
  return glob.includes("*") ? piecesMatch(glob.split("*"), text) : glob === text;
}

/** Segments of a normalized absolute path (`/` → []). */
export function pathSegments(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

export function compilePathGlob(glob: string): CompiledGlob {
  const groups: SegmentMatcher[][] = [[]];
  for (const segment of pathSegments(glob)) {
    if (segment === "**") groups.push([]);
    else groups[groups.length - 1]?.push(segment.includes("*") ? segment.split("*") : segment);
  }
  return { groups };
}

// Allowlists are few and re-used on every call: compile each glob once. Bounded, so a
// stream of distinct contexts cannot grow it without limit.
const compiled = new Map<string, CompiledGlob>();
const COMPILED_MAX = 8192;

function compiledGlob(glob: string): CompiledGlob {
  let result = compiled.get(glob);
  if (result === undefined) {
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    result = compilePathGlob(glob);
    compiled.set(glob, result);
  }
  return result;
}

function groupMatchesAt(
  group: readonly SegmentMatcher[],
  segments: readonly string[],
  start: number,
): boolean {
  for (let i = 0; i < group.length; i++) {
    const matcher = group[i];
    if (matcher === undefined || !segmentMatches(matcher, segments[start + i] ?? "")) return false;
  }
  return true;
}

/** Whether the segments of a normalized path match a compiled glob. */
export function matchCompiledGlob(glob: CompiledGlob, segments: readonly string[]): boolean {
  const { groups } = glob;
  const head = groups[0] ?? [];
  if (groups.length === 1) return head.length === segments.length && groupMatchesAt(head, segments, 0);
  const tail = groups[groups.length - 1] ?? [];
  if (head.length + tail.length > segments.length) return false;
  const end = segments.length - tail.length;
  if (!groupMatchesAt(head, segments, 0) || !groupMatchesAt(tail, segments, end)) return false;
  let pos = head.length;
  for (let g = 1; g < groups.length - 1; g++) {
    const group = groups[g] ?? [];
    let start = pos;
    while (start + group.length <= end && !groupMatchesAt(group, segments, start)) start++;
    if (start + group.length > end) return false;
    pos = start + group.length;
  }
  return true;
}

/**
 * Whether the normalized absolute `path` matches `glob`. The caller normalizes first
 * (`normalizePath`); an un-normalized path is simply compared as written.
 */
export function matchPathGlob(glob: string, path: string): boolean {
  return matchCompiledGlob(compiledGlob(glob), pathSegments(path));
}

/** Whether a normalized path matches any glob; the path is split once for all of them. */
export function matchAnyPathGlob(globs: readonly string[], path: string): boolean {
  const segments = pathSegments(path);
  return globs.some((glob) => matchCompiledGlob(compiledGlob(glob), segments));
}
