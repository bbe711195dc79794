import { useEffect, useRef, useState } from "preact/hooks";
import { api, queryString } from "../api";
import { may, session } from "../auth";
import { CallsChart } from "../chart";
import { remember } from "../events-cache";
import { fmtTime, localToIso } from "../format";
import { Link } from "../router";
import { openEventStream, type StreamState } from "../sse";
import type { GatewayEvent } from "../types";

/** Live events: the recent past from GET /v1/events, then the stream from its newest id. */

const MAX_ROWS = 1000;

interface Filters {
  tenant_id: string;
  type: string;
  agent: string;
  tool: string;
  decision: string;
  stage: string;
  since: string;
  until: string;
}
const EMPTY: Filters = {
  tenant_id: "",
  type: "",
  agent: "",
  tool: "",
  decision: "",
  stage: "",
  since: "",
  until: "",
};

function toQuery(f: Filters): Record<string, string | undefined> {
  return {
    tenant_id: f.tenant_id || undefined,
    type: f.type || undefined,
    agent: f.agent || undefined,
    tool: f.tool || undefined,
    decision: f.decision || undefined,
    stage: f.stage || undefined,
    since: localToIso(f.since),
    until: localToIso(f.until),
  };
}

export function DecisionBadge(props: { decision: string | null }) {
  return props.decision ? <span class={`badge ${props.decision}`}>{props.decision}</span> : <span>—</span>;
}

function StreamStatus(props: { state: StreamState; paused: boolean }) {
  if (props.paused) return <span class="status paused">paused</span>;
  const s = props.state;
  if (s.kind === "live") return <span class="status live">live</span>;
  if (s.kind === "connecting") return <span class="status">connecting…</span>;
  if (s.kind === "retrying")
    return <span class="status warn">{`reconnecting in ${Math.round(s.inMs / 1000)} s (${s.why})`}</span>;
  return <span class="status error">{`stopped: ${s.why}`}</span>;
}

export function EventsTable(props: { events: GatewayEvent[]; showTenant: boolean }) {
  return (
    <table class="events">
      <thead>
        <tr>
          <th>time</th>
          <th>event</th>
          {props.showTenant && <th>tenant</th>}
          <th>agent</th>
          <th>tool</th>
          <th>decision</th>
          <th>stage</th>
          <th>code</th>
          <th>execution</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr key={e.seq} data-seq={e.seq}>
            <td class="mono">{fmtTime(e.created_at)}</td>
            <td>
              <Link href={`/events/${e.seq}`}>{e.event_type}</Link>
            </td>
            {props.showTenant && <td>{e.tenant_id}</td>}
            <td>{e.agent_id ?? "—"}</td>
            <td class="tool">{e.tool_name ?? "—"}</td>
            <td>
              <DecisionBadge decision={e.decision} />
            </td>
            <td>{e.stage ?? "—"}</td>
            <td>{e.code ?? ""}</td>
            <td class="mono">
              {e.execution_id ? (
                <Link href={`/executions/${encodeURIComponent(e.execution_id)}`} title="execution timeline">
                  {e.execution_id}
                </Link>
              ) : (
                "—"
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EventsView() {
  const s = session();
  const allTenants = may(s, "all-tenants");
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [events, setEvents] = useState<GatewayEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<StreamState>({ kind: "connecting" });
  const [generation, setGeneration] = useState(0);
  const newest = useRef<number | null>(null);

  // A new filter set: reload the recent past, then stream from its newest row.
  useEffect(() => {
    let live = true;
    setError(null);
    newest.current = null;
    api<{ items: GatewayEvent[] }>(`/v1/events${queryString({ ...toQuery(filters), limit: "200" })}`).then(
      (page) => {
        if (!live) return;
        remember(page.items);
        setEvents(page.items);
        // With nothing loaded, "after 0" still yields only rows written from now on.
        newest.current = page.items[0]?.seq ?? 0;
        setGeneration((g) => g + 1);
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [filters]);

  useEffect(() => {
    if (generation === 0 || paused || !s) return;
    const stream = openEventStream({
      query: queryString(toQuery(filters)),
      token: s.token,
      lastEventId: newest.current === null ? null : String(newest.current),
      onState: setState,
      onEvent: (data) => {
        const e = JSON.parse(data) as GatewayEvent;
        remember([e]);
        newest.current = Math.max(newest.current ?? 0, e.seq);
        setEvents((old) => (old.some((o) => o.seq === e.seq) ? old : [e, ...old].slice(0, MAX_ROWS)));
      },
    });
    return () => stream.close();
  }, [generation, paused, filters, s]);

  const set = (k: keyof Filters) => (ev: Event) =>
    setDraft({ ...draft, [k]: (ev.currentTarget as HTMLInputElement).value });

  return (
    <section>
      <h2>
        Live events <StreamStatus state={state} paused={paused} />
      </h2>
      <form
        class="filters"
        onSubmit={(ev) => {
          ev.preventDefault();
          setFilters(draft);
        }}
      >
        {allTenants && (
          <label>
            tenant
            <input name="tenant_id" value={draft.tenant_id} onInput={set("tenant_id")} placeholder="all" />
          </label>
        )}
        <label>
          type
          <input name="type" value={draft.type} onInput={set("type")} />
        </label>
        <label>
          agent
          <input name="agent" value={draft.agent} onInput={set("agent")} />
        </label>
        <label>
          tool
          <input name="tool" value={draft.tool} onInput={set("tool")} />
        </label>
        <label>
          decision
          <select name="decision" value={draft.decision} onChange={set("decision")}>
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="escalate">escalate</option>
            <option value="reject">reject</option>
          </select>
        </label>
        <label>
          stage
          <input name="stage" value={draft.stage} onInput={set("stage")} />
        </label>
        <label>
          since
          <input name="since" type="datetime-local" step="1" value={draft.since} onInput={set("since")} />
        </label>
        <label>
          until
          <input name="until" type="datetime-local" step="1" value={draft.until} onInput={set("until")} />
        </label>
        <button type="submit">Apply</button>
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
      </form>
      {error && <p class="error">{error}</p>}
      <CallsChart events={events} />
      <EventsTable events={events} showTenant={allTenants} />
      {events.length === 0 && !error && <p class="muted">No events yet for these filters.</p>}
    </section>
  );
}
