import { remember } from "../events-cache";
import { field, fmtMs, fmtTime } from "../format";
import { LoadMore, usePages } from "../pages";
import { Link } from "../router";
import type { GatewayEvent } from "../types";
import { DecisionBadge } from "./events";

/**
 * Every event of one execution as a waterfall: each bar starts at the event and runs to the
 * next one (or for its own recorded duration, when longer), so gaps and slow steps stand out.
 */

const BAR_W = 240;

export function Timeline(props: { executionId: string }) {
  // Newest first, 1000 a page: Load more reaches the older rows of a long execution.
  const pages = usePages<GatewayEvent>(
    `/v1/events?execution_id=${encodeURIComponent(props.executionId)}&limit=1000`,
    "items",
  );
  const { error } = pages;
  if (error) return <p class="error">{error}</p>;
  if (!pages.rows) return <p>Loading…</p>;
  remember(pages.rows);
  const rows = [...pages.rows].sort((a, b) => a.seq - b.seq);
  const t0 = rows.length ? Date.parse(rows[0]?.created_at ?? "") : 0;
  const times = rows.map((e) => Date.parse(e.created_at) - t0);
  const ends = rows.map((e, i) => {
    const d = field(e.payload, "duration_ms");
    const at = times[i] ?? 0;
    return Math.max(at + (typeof d === "number" ? d : 0), times[i + 1] ?? at);
  });
  const span = Math.max(1, ...ends, ...times);
  return (
    <section>
      <h2>
        Execution <span class="mono">{props.executionId}</span>
      </h2>
      <p class="muted">{`${rows.length} events over ${fmtMs(span)}`}</p>
      <table class="timeline">
        <thead>
          <tr>
            <th>+time</th>
            <th>since previous</th>
            <th>event</th>
            <th>tool</th>
            <th>decision</th>
            <th>waterfall</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e, i) => {
            const at = times[i] ?? 0;
            const prev = i > 0 ? (times[i - 1] ?? 0) : at;
            const x = (BAR_W * at) / span;
            const w = Math.max(2, (BAR_W * ((ends[i] ?? at) - at)) / span);
            return (
              <tr key={e.seq} data-seq={e.seq}>
                <td class="mono">{fmtMs(at)}</td>
                <td class="mono">{i === 0 ? "—" : `+${fmtMs(at - prev)}`}</td>
                <td>
                  <Link href={`/events/${e.seq}`}>{e.event_type}</Link>
                  <div class="muted small">{fmtTime(e.created_at)}</div>
                </td>
                <td class="tool">{e.tool_name ?? "—"}</td>
                <td>
                  <DecisionBadge decision={e.decision} />
                </td>
                <td>
                  <svg width={BAR_W + 4} height="14" role="img" aria-label={`at ${fmtMs(at)}`}>
                    <rect
                      x={Math.min(x, BAR_W)}
                      y="2"
                      width={w}
                      height="10"
                      class={`bar ${e.decision ?? "none"}`}
                    />
                  </svg>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <LoadMore pages={pages} />
    </section>
  );
}
