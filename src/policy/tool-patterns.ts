/**
 * Tool-name patterns (deny lists, capability `tool_pattern`, `visible_tools`, session
 * `allowed_tool_patterns`). The language is segment-based so that a pattern can never match
 * across a dot boundary by accident: `fs.*` names the `fs` namespace and never `fsck`.
 *
 * - A name is split on `.` into segments. A pattern is split the same way.
 * - A pattern segment that is exactly `*` is a wildcard; every other segment is literal and
 *   compared exactly (case-sensitive, like tool names themselves).
 * - A trailing `*` segment matches one or more remaining segments (`fs.*` matches `fs.read`
 *   and `fs.a.b`, not `fs`); a `*` segment elsewhere matches exactly one segment
 *   (`*.read` matches `fs.read`, not `fs.a.read`). `*` alone therefore matches every name.
 *
 * Matching is a single left-to-right pass over the segments: no regular expression is ever
 * built from a pattern.
 */

export const TOOL_PATTERN_MAX_LENGTH = 512;
export const PATTERN_MAX_WILDCARDS = 32;

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Why `pattern` is not a valid tool pattern, or null when it is. */
export function toolPatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > TOOL_PATTERN_MAX_LENGTH)
    return `must be at most ${TOOL_PATTERN_MAX_LENGTH} characters`;
  const segments = pattern.split(".");
  let wildcards = 0;
  for (const segment of segments) {
    if (segment === "*") {
      wildcards++;
      continue;
    }
    if (segment.length === 0) return "must not have an empty segment (leading, trailing or double dot)";
    if (segment.includes("*")) {
      return `"*" must be a whole dot-separated segment (write "prefix.*", not "prefix*")`;
    }
    if (!SEGMENT.test(segment)) return "segments may contain only letters, digits, '_' and '-'";
  }
  if (wildcards > PATTERN_MAX_WILDCARDS) return `must have at most ${PATTERN_MAX_WILDCARDS} wildcards`;
  return null;
}

/** Whether `name` matches `pattern` (see the module comment for the language). */
export function matchToolPattern(pattern: string, name: string): boolean {
  if (pattern === "*") return name.length > 0;
  const patternSegments = pattern.split(".");
  const nameSegments = name.split(".");
  const last = patternSegments.length - 1;
  for (let i = 0; i <= last; i++) {
    const p = patternSegments[i];
    if (i === last && p === "*") return nameSegments.length > last;
    const n = nameSegments[i];
    if (n === undefined) return false;
    if (p !== "*" && p !== n) return false;
  }
  return nameSegments.length === patternSegments.length;
}

/** Index of the first pattern that matches `name`, or -1. */
export function firstMatchingPattern(patterns: readonly string[], name: string): number {
  for (let i = 0; i < patterns.length; i++) {
    const pattern = patterns[i];
    if (pattern !== undefined && matchToolPattern(pattern, name)) return i;
  }
  return -1;
}
