import { type ControlClient, describeError } from "./client.js";
import { ApiFailure } from "./live.js";

/**
 * A what-if over the whole window, page after page (`next_cursor`), as `context what-if` and
 * `apply --dry-run` show it (docs/policy.md). Flips are kept up to `keepFlips`; the counts are
 * always complete.
 */

export interface Flip {
  event_id: string;
  request_id: string | null;
  tool_name: string;
  from: string;
  to: string;
  rule: string;
  reason: string;
}

export interface WhatIfTotals {
  evaluated: number;
  unchanged: number;
  undecidable: number;
  flipCount: number;
  /** Every flip counted by its new decision and tool (the kept `flips` may be fewer). */
  tally: Map<string, Map<string, number>>;
  flips: Flip[];
  undecidableCalls: { event_id: string; tool_name: string; reason: string }[];
}

interface Page {
  evaluated: number;
  unchanged: number;
  undecidable: number;
  flips: Flip[];
  undecidable_calls: WhatIfTotals["undecidableCalls"];
  next_cursor: string | null;
}

export async function runWhatIf(
  client: ControlClient,
  name: string,
  body: { candidate: unknown; since?: string; until?: string },
  keepFlips = 10_000,
): Promise<WhatIfTotals> {
  const totals: WhatIfTotals = {
    evaluated: 0,
    unchanged: 0,
    undecidable: 0,
    flipCount: 0,
    tally: new Map(),
    flips: [],
    undecidableCalls: [],
  };
  let cursor: string | null = null;
  do {
    const answer = await client.request("POST", `/v1/security-contexts/${encodeURIComponent(name)}/what-if`, {
      ...body,
      ...(cursor ? { cursor } : {}),
    });
    if (answer.status !== 200) throw new ApiFailure(`what-if of ${name} refused: ${describeError(answer)}`);
    const page = answer.body as Page;
    totals.evaluated += page.evaluated;
    totals.unchanged += page.unchanged;
    totals.undecidable += page.undecidable;
    totals.flipCount += page.flips.length;
    for (const f of page.flips) {
      const tools = totals.tally.get(f.to) ?? new Map<string, number>();
      tools.set(f.tool_name, (tools.get(f.tool_name) ?? 0) + 1);
      totals.tally.set(f.to, tools);
    }
    totals.flips.push(...page.flips.slice(0, Math.max(0, keepFlips - totals.flips.length)));
    totals.undecidableCalls.push(
      ...page.undecidable_calls.slice(0, Math.max(0, keepFlips - totals.undecidableCalls.length)),
    );
    cursor = page.next_cursor;
  } while (cursor);
  return totals;
}

const n = (x: number) => x.toLocaleString("en");

/** `would deny 14 of 2,310 calls in 7 d: fs.read 10, pay.refund 4; …` */
export function summaryLine(t: WhatIfTotals, window: string): string {
  const byTo = t.tally;
  const verbs: Record<string, string> = { reject: "deny", allow: "allow", escalate: "escalate" };
  const parts: string[] = [];
  for (const to of ["reject", "escalate", "allow"]) {
    const tools = byTo.get(to);
    if (!tools) continue;
    const count = [...tools.values()].reduce((a, b) => a + b, 0);
    const list = [...tools.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([tool, c]) => `${tool} ${n(c)}`)
      .join(", ");
    parts.push(`would ${verbs[to]} ${n(count)} of ${n(t.evaluated)} calls ${window}: ${list}`);
  }
  if (parts.length === 0) parts.push(`would change none of ${n(t.evaluated)} calls ${window}`);
  if (t.undecidable > 0) parts.push(`${n(t.undecidable)} undecidable (redacted arguments)`);
  return parts.join("; ");
}

/** `--since 7d` → the time 7 days ago; anything else is passed on (RFC 3339 or Unix seconds). */
export function windowBound(text: string | undefined, nowMs: number, parse: (s: string) => number | null) {
  if (text === undefined) return undefined;
  const seconds = parse(text);
  return seconds === null ? text : new Date(nowMs - seconds * 1000).toISOString();
}

/** "in 7 d", "since 2026-01-01T00:00:00Z", or "in the whole history". */
export function windowLabel(since: string | undefined, until: string | undefined): string {
  const rel = since && /^\d+d$/.test(since) ? `in ${since.slice(0, -1)} d` : since ? `since ${since}` : "";
  const to = until ? ` until ${until}` : "";
  return rel === "" && to === "" ? "in the recorded history" : `${rel}${to}`.trim();
}
