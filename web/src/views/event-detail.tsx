import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { recall, remember } from "../events-cache";
import { field, fmtMs, fmtTime, jsonText } from "../format";
import { Link } from "../router";
import type { GatewayEvent } from "../types";
import { DecisionBadge } from "./events";

/**
 * One event. The API has no "event by id" route, so the event comes from what this tab has
 * loaded, else from the newest 1000 events of the token's tenant.
 */

function Row(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

export function EventDetail(props: { seq: number }) {
  const [event, setEvent] = useState<GatewayEvent | null | undefined>(recall(props.seq));
  useEffect(() => {
    if (event) return;
    api<{ items: GatewayEvent[] }>("/v1/events?limit=1000").then(
      (page) => {
        remember(page.items);
        setEvent(page.items.find((e) => e.seq === props.seq) ?? null);
      },
      () => setEvent(null),
    );
  }, [props.seq, event]);
  if (event === undefined) return <p>Loading…</p>;
  if (event === null)
    return <p class="error">{`Event ${props.seq} is not among the newest events this token can read.`}</p>;
  const p = event.payload;
  const args = field(p, "arguments");
  const duration = field(p, "duration_ms");
  const reason = field(p, "reason");
  return (
    <section class="detail">
      <h2>
        {event.event_type} <DecisionBadge decision={event.decision} />
      </h2>
      <dl>
        <Row label="event id">{event.id}</Row>
        <Row label="sequence">{String(event.seq)}</Row>
        <Row label="time">{fmtTime(event.created_at)}</Row>
        <Row label="tenant">{event.tenant_id}</Row>
        <Row label="agent">{event.agent_id ?? "—"}</Row>
        <Row label="tool">{event.tool_name ?? "—"}</Row>
        <Row label="decision">{event.decision ?? "—"}</Row>
        <Row label="deciding rule">{String(field(p, "rule") ?? "—")}</Row>
        <Row label="stage">{event.stage ?? "—"}</Row>
        <Row label="code">{event.code === null ? "—" : String(event.code)}</Row>
        <Row label="reason">{reason === undefined ? "—" : String(reason)}</Row>
        <Row label="duration">{typeof duration === "number" ? fmtMs(duration) : "—"}</Row>
        <Row label="request id">{event.request_id ?? "—"}</Row>
        <Row label="call id">{event.call_id ?? "—"}</Row>
        <Row label="execution">
          {event.execution_id ? (
            <Link href={`/executions/${encodeURIComponent(event.execution_id)}`}>
              {`${event.execution_id} (timeline)`}
            </Link>
          ) : (
            "—"
          )}
        </Row>
        <Row label="arguments">
          {args === undefined ? (
            <span class="muted">
              {field(p, "arguments_digest")
                ? `not recorded here; digest ${String(field(p, "arguments_digest"))}`
                : "—"}
            </span>
          ) : (
            <pre>{jsonText(args)}</pre>
          )}
        </Row>
        <Row label="chain">
          {event.chain_seq === null
            ? "not sealed yet"
            : `position ${event.chain_seq}, hash ${event.hash ?? ""}`}
        </Row>
      </dl>
      <h3>Payload</h3>
      <pre class="payload">{jsonText(p)}</pre>
    </section>
  );
}
