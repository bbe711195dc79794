import type { GatewayEvent } from "./types";

/** Calls per minute by decision, as stacked SVG bars (no chart library, no inline style). */

const CALL_EVENTS = new Set(["ToolCallAuthorized", "PolicyDenied", "ApprovalRequested", "EnvelopeRejected"]);
const DECISIONS = ["allow", "escalate", "reject"] as const;
const MINUTES = 30;
const W = 1200;
const H = 150;
const PAD = 20;

export function CallsChart(props: { events: GatewayEvent[] }) {
  const calls = props.events.filter((e) => CALL_EVENTS.has(e.event_type) && e.decision);
  // The right edge is the newest call, not the browser's clock: gateway and browser may disagree.
  const newest = calls.reduce((m, e) => Math.max(m, Date.parse(e.created_at)), 0);
  const end = Math.floor(newest / 60_000);
  const buckets = Array.from({ length: MINUTES }, () => ({ allow: 0, escalate: 0, reject: 0 }));
  for (const e of calls) {
    const i = MINUTES - 1 - (end - Math.floor(Date.parse(e.created_at) / 60_000));
    const b = buckets[i];
    if (b && e.decision) b[e.decision] += 1;
  }
  const peak = Math.max(1, ...buckets.map((b) => b.allow + b.escalate + b.reject));
  const bw = (W - PAD) / MINUTES;
  return (
    <figure class="chart">
      <figcaption>
        Calls per minute by decision (last {MINUTES} minutes of the loaded events; peak {peak})
        <span class="legend">
          {DECISIONS.map((d) => (
            <span key={d} class={`key ${d}`}>
              {d}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="calls per minute by decision">
        <line x1={PAD} y1={H - PAD} x2={W} y2={H - PAD} class="axis" />
        {buckets.map((b, i) => {
          let y = H - PAD;
          return DECISIONS.map((d) => {
            const h = ((H - 2 * PAD) * b[d]) / peak;
            y -= h;
            return h > 0 ? (
              <rect key={`${i}-${d}`} class={`bar ${d}`} x={PAD + i * bw + 1} y={y} width={bw - 2} height={h}>
                <title>{`${b[d]} ${d} (minute ${i - MINUTES + 1})`}</title>
              </rect>
            ) : null;
          });
        })}
        <text x={PAD} y={H - 4} class="tick">
          −{MINUTES} min
        </text>
        <text x={W - 4} y={H - 4} class="tick end">
          {newest ? new Date(end * 60_000).toISOString().slice(11, 16) : "no calls"}
        </text>
      </svg>
    </figure>
  );
}
