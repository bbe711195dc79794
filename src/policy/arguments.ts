/**
 * Finds the argument values that path and domain constraints apply to, at any depth of the
 * call's JSON arguments.
 *
 * Path arguments: keys `path`/`paths`, or ending in `_path`/`_paths`/`-path`/`-paths`
 * (any case), or camelCase `…Path`/`…Paths`. URL arguments: the same shapes with `url`/`urls`
 * and `uri`/`uris`. Catching more keys can only deny more, never allow more.
 *
 * The value of such a key must be a string, null (treated as absent) or an array of those
 * (nested arrays too). Anything else — a number, or an object that could spell a host or a
 * path in parts the gateway cannot see — is reported as unusable, which fails the
 * constraint: a tool must not receive a location the policy did not check.
 */

export const MAX_ARGUMENT_DEPTH = 64;
export const MAX_ARGUMENT_NODES = 100_000;
/** Path or URL values checked per call; more makes every path or domain constraint fail. */
export const MAX_CHECKED_VALUES = 256;

export interface FoundValue {
  /** Where in the arguments, e.g. `files[0].source_path`. */
  at: string;
  /** The string to check, or undefined when the value is unusable (see `problem`). */
  value?: string;
  problem?: string;
}

export interface ArgumentScan {
  paths: FoundValue[];
  urls: FoundValue[];
  /** Set when the arguments were too deep or too large to scan completely. */
  incomplete: string | null;
}

function keyKind(key: string): "path" | "url" | null {
  for (const [kind, words] of [
    ["path", ["path", "paths"]],
    ["url", ["url", "urls", "uri", "uris"]],
  ] as const) {
    const lower = key.toLowerCase();
    for (const word of words) {
      if (lower === word || lower.endsWith(`_${word}`) || lower.endsWith(`-${word}`)) return kind;
      const camel = word.charAt(0).toUpperCase() + word.slice(1);
      if (key.length > word.length && key.endsWith(camel)) return kind;
    }
  }
  return null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function child(at: string, key: string | number): string {
  if (typeof key === "number") return `${at}[${key}]`;
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  if (IDENTIFIER.test(shown)) return at === "" ? shown : `${at}.${shown}`;
  return `${at}[${JSON.stringify(shown)}]`;
}

interface Frame {
  value: unknown;
  at: string;
  depth: number;
  /** Set while inside the value of a path or URL key. */
  sink: "path" | "url" | null;
}

export function scanArguments(args: unknown): ArgumentScan {
  const scan: ArgumentScan = { paths: [], urls: [], incomplete: null };
  const stack: Frame[] = [{ value: args, at: "", depth: 0, sink: null }];
  let nodes = 0;
  while (stack.length > 0) {
    const frame = stack.pop();
    if (frame === undefined) break;
    if (++nodes > MAX_ARGUMENT_NODES) {
      scan.incomplete = `arguments have more than ${MAX_ARGUMENT_NODES} values`;
      break;
    }
    if (frame.depth > MAX_ARGUMENT_DEPTH) {
      scan.incomplete = `arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels`;
      break;
    }
    const { value, at, depth, sink } = frame;
    if (sink !== null) {
      const list = sink === "path" ? scan.paths : scan.urls;
      if (typeof value === "string") list.push({ at, value });
      else if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--)
          stack.push({ value: value[i], at: child(at, i), depth: depth + 1, sink });
      } else if (value !== null) list.push({ at, problem: "must be a string or a list of strings" });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], at: child(at, i), depth: depth + 1, sink: null });
    } else if (typeof value === "object" && value !== null) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] ?? "";
        const nested = (value as Record<string, unknown>)[key];
        stack.push({ value: nested, at: child(at, key), depth: depth + 1, sink: keyKind(key) });
      }
    }
  }
  if (
    scan.incomplete === null &&
    (scan.paths.length > MAX_CHECKED_VALUES || scan.urls.length > MAX_CHECKED_VALUES)
  ) {
    scan.incomplete = `arguments carry more than ${MAX_CHECKED_VALUES} paths or URLs`;
  }
  return scan;
}
