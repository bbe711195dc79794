import { diffLines } from "diff";

/**
 * A security context as the editor shows it: the stored document without the row's own
 * fields, as indented JSON with its keys in one order (name and description first, then the
 * rest alphabetically, at every depth), so that the saved definition, an edit and a
 * suggestion differ only where their content does.
 */

const ROW_FIELDS = new Set(["tenant_id", "created_at", "updated_at"]);
const FIRST = ["name", "description", "tool_pattern"];

function rank(key: string): number {
  const i = FIRST.indexOf(key);
  return i === -1 ? FIRST.length : i;
}

function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(
    ([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  return Object.fromEntries(entries.map(([k, v]) => [k, ordered(v)]));
}

/** The definition of a context answer (GET /v1/security-contexts/{name}), as editor text. */
export function contextText(answer: Record<string, unknown>): string {
  const definition = Object.fromEntries(Object.entries(answer).filter(([k]) => !ROW_FIELDS.has(k)));
  return `${JSON.stringify(ordered(definition), null, 2)}\n`;
}

export type Candidate =
  | { ok: true; value: Record<string, unknown>; text: string }
  | { ok: false; error: string };

/** The editor's text as a candidate body, or why it is not one (the gateway lists the rest). */
export function readCandidate(text: string): Candidate {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, error: "must be a JSON object (a security context)" };
  const body = value as Record<string, unknown>;
  return { ok: true, value: body, text: contextText(body) };
}

export interface DiffLine {
  kind: "same" | "added" | "removed";
  text: string;
}

/** Line diff of two editor texts (jsdiff), one entry per line. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(before, after)) {
    const kind = part.added ? "added" : part.removed ? "removed" : "same";
    const lines = part.value.endsWith("\n") ? part.value.slice(0, -1).split("\n") : part.value.split("\n");
    for (const text of lines) out.push({ kind, text });
  }
  return out;
}

/** The windows the editor offers: each with its span in seconds, or null for all of history. */
export const WINDOWS: ReadonlyArray<{ key: string; label: string; seconds: number | null }> = [
  { key: "24h", label: "the last 24 hours", seconds: 86_400 },
  { key: "7d", label: "the last 7 days", seconds: 7 * 86_400 },
  { key: "30d", label: "the last 30 days", seconds: 30 * 86_400 },
  { key: "all", label: "all of history", seconds: null },
];

/** RFC 3339 start of a window ending now, or undefined for all of history. */
export function windowSince(key: string, nowMs: number): string | undefined {
  const w = WINDOWS.find((x) => x.key === key);
  if (!w || w.seconds === null) return undefined;
  return new Date(nowMs - w.seconds * 1000).toISOString();
}

export interface Flip {
  event_id: string;
  request_id: string | null;
  tool_name: string;
  from: "allow" | "escalate" | "reject";
  to: "allow" | "escalate" | "reject";
  rule: string | null;
  reason: string | null;
  code: number | null;
  at: string | null;
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

/** One sentence for a what-if answer: what the candidate would have changed. */
export function whatIfSummary(
  a: { evaluated: number; unchanged: number; undecidable: number; flips: Flip[] },
  windowLabel: string,
): string {
  const of = `of ${plural(a.evaluated, "recorded call")} in ${windowLabel}`;
  if (a.evaluated === 0) return `No recorded calls of this context in ${windowLabel}: nothing to compare.`;
  const by = (to: Flip["to"]) => a.flips.filter((f) => f.to === to).length;
  const parts: string[] = [];
  if (by("reject")) parts.push(`would deny ${plural(by("reject"), "call")}`);
  if (by("escalate")) parts.push(`would ask approval for ${plural(by("escalate"), "call")}`);
  if (by("allow")) parts.push(`would allow ${plural(by("allow"), "call")} now refused or escalated`);
  const undecidable = a.undecidable
    ? `; ${plural(a.undecidable, "call")} undecidable (a deciding argument was redacted)`
    : "";
  if (parts.length === 0) return `No call would be decided differently, ${of}${undecidable}.`;
  return `The candidate ${parts.join(", ")}, ${of}${undecidable}.`;
}
