import { useState } from "preact/hooks";
import { api } from "../api";
import { may, session } from "../auth";
import { fmtTime, jsonText } from "../format";
import { LoadMore, usePages } from "../pages";
import { Link } from "../router";
import type { Approval } from "../types";

/** The approvals queue; approvers and admins decide (the API refuses everyone else anyway). */

function Decide(props: { approval: Approval; done: () => void }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (verdict: "approve" | "deny") => {
    setBusy(true);
    setError(null);
    try {
      await api(`/v1/approvals/${encodeURIComponent(props.approval.id)}/${verdict}`, {
        method: "POST",
        body: reason ? { reason } : {},
      });
      props.done();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="decide">
      <input
        class="reason"
        aria-label="reason"
        placeholder="reason (optional)"
        value={reason}
        maxLength={2048}
        onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="button" class="approve" disabled={busy} onClick={() => void decide("approve")}>
        Approve
      </button>
      <button type="button" class="deny" disabled={busy} onClick={() => void decide("deny")}>
        Deny
      </button>
      {error && <span class="error">{error}</span>}
    </div>
  );
}

export function ApprovalsView() {
  const [status, setStatus] = useState("pending");
  const pages = usePages<Approval>(`/v1/approvals${status ? `?status=${status}` : ""}`, "approvals");
  const { rows, error, reload } = pages;
  const canDecide = may(session(), "approve");
  return (
    <section>
      <h2>Approvals</h2>
      <label class="inline">
        status{" "}
        <select value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}>
          {["pending", "approved", "denied", "used", "expired", ""].map((s) => (
            <option key={s} value={s}>
              {s || "all"}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="button" onClick={reload}>
        Refresh
      </button>
      {error && <p class="error">{error}</p>}
      {rows && rows.length === 0 && <p class="muted">No approvals with this status.</p>}
      {rows?.map((a) => (
        <article key={a.id} class="approval" data-approval={a.id}>
          <header>
            <strong class="tool">{a.tool_name}</strong> <span class={`badge ${a.status}`}>{a.status}</span>{" "}
            <span class="muted">{`requested by ${a.sub} under ${a.security_context} (${a.rule})`}</span>
          </header>
          <dl>
            <dt>approval</dt>
            <dd class="mono">{a.id}</dd>
            <dt>execution</dt>
            <dd class="mono">
              {a.execution_id ? (
                <Link href={`/executions/${encodeURIComponent(a.execution_id)}`}>{a.execution_id}</Link>
              ) : (
                "—"
              )}
            </dd>
            <dt>requested</dt>
            <dd>{fmtTime(a.created_at)}</dd>
            <dt>expires</dt>
            <dd>{fmtTime(a.expires_at)}</dd>
            {a.decided_by && (
              <>
                <dt>decided</dt>
                <dd>{`${a.decided_by} at ${fmtTime(a.decided_at)}${a.reason ? `: ${a.reason}` : ""}`}</dd>
              </>
            )}
            <dt>arguments</dt>
            <dd>
              <pre class="arguments">{jsonText(a.arguments)}</pre>
              <span class="muted small">{`digest ${a.arguments_digest}`}</span>
            </dd>
          </dl>
          {canDecide && a.status === "pending" && <Decide approval={a} done={reload} />}
        </article>
      ))}
      <LoadMore pages={pages} />
    </section>
  );
}
