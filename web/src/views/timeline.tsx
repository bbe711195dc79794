import { useState } from "preact/hooks";
import { api } from "../api";
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
      <ExportEvidence executionId={props.executionId} />
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

/** Saves `value` as a JSON file through a Blob URL: nothing leaves the browser but the download. */
function download(name: string, value: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

interface PackSummary {
  status: string;
  events: unknown[];
  checkpoints: unknown[];
}

/**
 * The execution's evidence pack and the gateway's public keys, downloaded for an auditor who
 * checks them offline with `seal-gateway audit verify --evidence … --keys …`.
 */
function ExportEvidence(props: { executionId: string }) {
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const safe = props.executionId.replace(/[^A-Za-z0-9._-]/g, "_");
  const exportPack = async () => {
    setBusy(true);
    try {
      const pack = await api<PackSummary>(`/v1/executions/${encodeURIComponent(props.executionId)}/evidence`);
      download(`evidence-${safe}.json`, pack);
      setNote(
        pack.status === "sealed"
          ? `Evidence pack saved: ${pack.events.length} events, ${pack.checkpoints.length} signed checkpoints.`
          : `Evidence pack saved, but some of its ${pack.events.length} events are not sealed yet: export again in a few seconds for a complete proof.`,
      );
    } catch (err) {
      setNote(`Export failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const exportKeys = async () => {
    try {
      download("seal-gateway-keys.json", await api("/v1/audit/keys"));
      setNote("Public keys saved (JWKS).");
    } catch (err) {
      setNote(`Export failed: ${(err as Error).message}`);
    }
  };
  return (
    <div class="evidence">
      <button type="button" data-testid="export-evidence" disabled={busy} onClick={() => void exportPack()}>
        Export evidence
      </button>{" "}
      <button type="button" data-testid="export-keys" onClick={() => void exportKeys()}>
        Download public keys
      </button>
      <p class="muted small">
        Verify offline:{" "}
        <code>{`seal-gateway audit verify --evidence evidence-${safe}.json --keys seal-gateway-keys.json`}</code>
      </p>
      {note ? (
        <p class="note" data-testid="evidence-note">
          {note}
        </p>
      ) : null}
    </div>
  );
}
