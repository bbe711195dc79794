import { useState } from "preact/hooks";
import { api } from "../api";
import { may, session } from "../auth";
import { fmtTime } from "../format";
import { LoadMore, usePages } from "../pages";
import { Link } from "../router";
import type { SessionRow } from "../types";

/** Agent sessions; operators and admins revoke (the next call under it answers 1006). */

function Revoke(props: { row: SessionRow; done: () => void }) {
  const [armed, setArmed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Two clicks instead of window.confirm(): no dialogs in the console.
  if (!armed)
    return (
      <button type="button" class="deny" onClick={() => setArmed(true)}>
        Revoke
      </button>
    );
  return (
    <span>
      <button
        type="button"
        class="deny"
        onClick={() =>
          void api(`/v1/seal/sessions/${encodeURIComponent(props.row.execution_id)}`, {
            method: "DELETE",
          }).then(props.done, (e: unknown) => setError(e instanceof Error ? e.message : String(e)))
        }
      >
        Confirm revoke
      </button>{" "}
      <button type="button" onClick={() => setArmed(false)}>
        Cancel
      </button>
      {error && <span class="error">{error}</span>}
    </span>
  );
}

export function SessionsView() {
  const pages = usePages<SessionRow>("/v1/seal/sessions", "sessions");
  const { rows, error, reload } = pages;
  const canWrite = may(session(), "write");
  return (
    <section>
      <h2>Sessions</h2>
      {error && <p class="error">{error}</p>}
      <table>
        <thead>
          <tr>
            <th>execution</th>
            <th>agent</th>
            <th>context</th>
            <th>tenant</th>
            <th>status</th>
            <th>expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows?.map((s) => (
            <tr key={s.execution_id} data-session={s.execution_id}>
              <td class="mono">
                <Link href={`/executions/${encodeURIComponent(s.execution_id)}`}>{s.execution_id}</Link>
              </td>
              <td>{s.sub}</td>
              <td>{s.security_context_name}</td>
              <td>{s.tenant_id}</td>
              <td>
                <span class={`badge ${s.session_status}`}>{s.session_status}</span>
              </td>
              <td>{fmtTime(s.expires_at)}</td>
              <td>{canWrite && s.session_status === "Active" && <Revoke row={s} done={reload} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <LoadMore pages={pages} />
    </section>
  );
}
