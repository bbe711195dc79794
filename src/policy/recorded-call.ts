/**
 * What the audit trail keeps of a call's arguments so that its policy decision can be made
 * again later (DESIGN §3 "What-if over history", §6 "redacted arguments").
 *
 * Only what the static constraints read is kept: the values of path and URL arguments
 * (`scanArguments` finds them, at their own locations) and a CLI call's top-level
 * `subcommand`. Every other value is dropped, so a token passed as an ordinary argument never
 * reaches the trail. What is kept is redacted further:
 * - a URL loses its userinfo, query and fragment (where credentials travel); its host stays;
 * - a URL whose host cannot be read becomes INVALID_URL, which fails every domain constraint
 *   as the value did;
 * - a value longer than MAX_RECORDED_CHARS becomes REDACTED — and a later re-decision that
 *   depends on it is "undecidable", never guessed;
 * - arguments too large or deep to scan become one redacted path and one redacted URL.
 *
 * The skeleton is itself an arguments object: `evaluate()` reads it exactly as it read the
 * call (same locations, same values), which is what makes the re-decision the live one.
 */

import { type ArgumentScan, scanArguments } from "./arguments.js";
import { hostFromUrl } from "./domains.js";

/** What stands for a value the trail does not keep (the same marker credential redaction writes). */
export const REDACTED = "[REDACTED]";

export const MAX_RECORDED_CHARS = 2048;

type Json = null | string | Json[] | { [key: string]: Json };

/** Splits `files[0].source_path` / `["a b"].url` into keys and indexes. */
function steps(at: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (const m of at.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

function put(root: { [key: string]: Json }, at: string, value: Json): boolean {
  const path = steps(at);
  // A key longer than the scan shows (cut with "…") cannot be placed back where it was.
  if (path.length === 0 || at.includes("…")) return false;
  let node: Json = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string | number;
    const last = i === path.length - 1;
    const next = path[i + 1];
    const fresh: Json = typeof next === "number" ? [] : {};
    if (typeof key === "number") {
      if (!Array.isArray(node)) return false;
      while (node.length < key) node.push(null);
      if (last) node[key] = value;
      else {
        node[key] ??= fresh;
        node = node[key] as Json;
      }
    } else {
      if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
      if (last) node[key] = value;
      else {
        node[key] ??= fresh;
        node = node[key] as Json;
      }
    }
  }
  return true;
}

/**
 * Stands for a URL argument whose host the policy cannot read: it fails every domain
 * constraint exactly as the value did, without keeping the value.
 */
export const INVALID_URL = "[invalid URL]";

function redactUrl(value: string): string {
  // A URL whose host the policy cannot trust is not rewritten into one it would trust.
  if (!hostFromUrl(value).ok) return INVALID_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return REDACTED;
  }
  if (url.hostname === "") return REDACTED;
  url.username = "";
  url.password = "";
  url.search = "";
  url.hash = "";
  const kept = url.toString();
  return kept.length > MAX_RECORDED_CHARS ? REDACTED : kept;
}

function redactPath(value: string): string {
  return value.length > MAX_RECORDED_CHARS ? REDACTED : value;
}

const WHOLE: { [key: string]: Json } = { path: REDACTED, url: REDACTED };

/** The recorded (redacted) arguments of a call, as written to its first decision row. */
export function recordedArguments(args: unknown): { [key: string]: Json } {
  const scan = scanArguments(args);
  if (scan.incomplete !== null) return { ...WHOLE };
  const out: { [key: string]: Json } = {};
  const place = (at: string, value: Json) => put(out, at, value);
  for (const [list, redact] of [
    [scan.paths, redactPath],
    [scan.urls, redactUrl],
  ] as const) {
    for (const found of list) {
      // An unusable value (a number, an object) is kept as an empty object: it fails alike.
      const value = found.value === undefined ? {} : redact(found.value);
      if (!place(found.at, value)) return { ...WHOLE };
    }
  }
  const sub = (args as { subcommand?: unknown } | null)?.subcommand;
  if (typeof sub === "string" && out.subcommand === undefined)
    out.subcommand = sub.length > MAX_RECORDED_CHARS ? REDACTED : sub;
  return out;
}

export interface RedactedKinds {
  paths: boolean;
  urls: boolean;
  subcommand: boolean;
}

/** Which kinds of deciding value were redacted in recorded arguments. */
export function redactedKinds(args: unknown, scan: ArgumentScan = scanArguments(args)): RedactedKinds {
  return {
    paths: scan.incomplete !== null || scan.paths.some((f) => f.value === REDACTED),
    urls: scan.incomplete !== null || scan.urls.some((f) => f.value === REDACTED),
    subcommand: (args as { subcommand?: unknown } | null)?.subcommand === REDACTED,
  };
}
