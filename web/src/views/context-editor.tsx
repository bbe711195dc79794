import { useState } from "preact/hooks";
import { ApiError, api, queryString } from "../api";
import { may, session } from "../auth";
import {
  contextText,
  type Flip,
  lineDiff,
  readCandidate,
  WINDOWS,
  whatIfSummary,
  windowSince,
} from "../context-text";
import { fmtTime } from "../format";
import { Link } from "../router";
import { useApi } from "../use-api";

/**
 * /contexts/NAME: a security context edited with its evidence beside it (DESIGN §3). The edit
 * is shown as a diff against the saved definition; "Preview what-if" re-decides the context's
 * recorded calls under it (POST …/what-if) and lists every call that would flip; "Suggest from
 * history" (GET …/suggest) puts the narrowest context that still allows every allowed call
 * into the editor as an edit to review. Save (operators and admins) is offered only once the
 * text being saved has been previewed.
 */

type Obj = Record<string, unknown>;

interface Undecidable {
  event_id: string;
  tool_name: string;
  under: string;
  reason: string;
}

interface WhatIfAnswer {
  evaluated: number;
  unchanged: number;
  undecidable: number;
  flips: Flip[];
  undecidable_calls: Undecidable[];
  next_cursor: string | null;
}

interface Preview {
  /** The editor text this preview is of: editing it makes the preview stale. */
  text: string;
  windowKey: string;
  since: string | undefined;
  answer: WhatIfAnswer;
}

function Problems(props: { error: unknown }) {
  const e = props.error;
  if (!e) return null;
  const message = e instanceof Error ? e.message : String(e);
  return (
    <div class="error" role="alert">
      <p>{message}</p>
      {e instanceof ApiError && e.problems.length > 0 && (
        <ul class="problems">
          {e.problems.map((p) => (
            <li key={`${p.path}:${p.message}`}>
              <span class="mono">{p.path || "(document)"}</span>: {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Diff(props: { before: string; after: string }) {
  const lines = lineDiff(props.before, props.after);
  if (!lines.some((l) => l.kind !== "same"))
    return (
      <p class="muted" data-testid="definition-diff">
        No change from the saved definition.
      </p>
    );
  return (
    <pre class="diff" data-testid="definition-diff">
      {lines.map((l, i) => (
        <span key={i} class={l.kind}>
          {`${l.kind === "added" ? "+" : l.kind === "removed" ? "-" : " "} ${l.text}\n`}
        </span>
      ))}
    </pre>
  );
}

function FlipTable(props: { flips: Flip[] }) {
  if (props.flips.length === 0) return null;
  return (
    <table class="flips">
      <thead>
        <tr>
          <th>at</th>
          <th>tool</th>
          <th>from</th>
          <th>to</th>
          <th>rule</th>
          <th>reason</th>
          <th>code</th>
          <th>request</th>
        </tr>
      </thead>
      <tbody>
        {props.flips.map((f) => (
          <tr key={f.event_id} data-event={f.event_id}>
            <td>{fmtTime(f.at)}</td>
            <td class="tool">{f.tool_name}</td>
            <td>
              <span class={`badge ${f.from}`}>{f.from}</span>
            </td>
            <td>
              <span class={`badge ${f.to}`}>{f.to}</span>
            </td>
            <td class="mono">{f.rule ?? "—"}</td>
            <td>{f.reason ?? "—"}</td>
            <td>{f.code ?? "—"}</td>
            <td class="mono">{f.request_id ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function UndecidableTable(props: { calls: Undecidable[] }) {
  if (props.calls.length === 0) return null;
  return (
    <>
      <h4>Undecidable: a deciding argument was redacted, so these are not guessed</h4>
      <table class="undecidable">
        <thead>
          <tr>
            <th>tool</th>
            <th>under</th>
            <th>reason</th>
            <th>event</th>
          </tr>
        </thead>
        <tbody>
          {props.calls.map((u) => (
            <tr key={u.event_id}>
              <td class="tool">{u.tool_name}</td>
              <td>{u.under}</td>
              <td>{u.reason}</td>
              <td class="mono">{u.event_id}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function ContextEditor(props: { name: string; tenant: string | null }) {
  const { name, tenant } = props;
  const base = `/v1/security-contexts/${encodeURIComponent(name)}`;
  const stored = useApi<Obj>(`${base}${queryString({ tenant_id: tenant })}`);
  const saved = stored.data ? contextText(stored.data) : null;
  const [edited, setEdited] = useState<string | null>(null);
  const text = edited ?? saved ?? "";
  const [windowKey, setWindowKey] = useState("7d");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [suggestion, setSuggestion] = useState<{ based_on: number; notes: string[] } | null>(null);
  const [busy, setBusy] = useState<null | "preview" | "suggest" | "save">(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const canWrite = may(session(), "write");
  const candidate = readCandidate(text);

  const runWhatIf = async (forText: string, key: string, since: string | undefined, cursor?: string) => {
    const parsed = readCandidate(forText);
    if (!parsed.ok) throw new Error(`The edit is ${parsed.error}`);
    return api<WhatIfAnswer>(`${base}/what-if`, {
      method: "POST",
      body: {
        candidate: parsed.value,
        ...(since ? { since } : {}),
        ...(tenant ? { tenant_id: tenant } : {}),
        ...(cursor ? { cursor } : {}),
      },
    }).then((answer) => ({ text: forText, windowKey: key, since, answer }));
  };

  const act = (kind: "preview" | "suggest" | "save", work: () => Promise<void>) => {
    setBusy(kind);
    setError(null);
    setNotice(null);
    work().then(
      () => setBusy(null),
      (e: unknown) => {
        setError(e);
        setBusy(null);
      },
    );
  };

  const startPreview = (forText: string) =>
    runWhatIf(forText, windowKey, windowSince(windowKey, Date.now())).then(setPreview);

  const continuePreview = () =>
    act("preview", async () => {
      if (!preview?.answer.next_cursor) return;
      const more = await runWhatIf(
        preview.text,
        preview.windowKey,
        preview.since,
        preview.answer.next_cursor,
      );
      const a = preview.answer;
      const b = more.answer;
      setPreview({
        ...preview,
        answer: {
          evaluated: a.evaluated + b.evaluated,
          unchanged: a.unchanged + b.unchanged,
          undecidable: a.undecidable + b.undecidable,
          flips: [...a.flips, ...b.flips],
          undecidable_calls: [...a.undecidable_calls, ...b.undecidable_calls],
          next_cursor: b.next_cursor,
        },
      });
    });

  const suggest = () =>
    act("suggest", async () => {
      const since = windowSince(windowKey, Date.now());
      const answer = await api<{ context: Obj; based_on: number; notes: string[] }>(
        `${base}/suggest${queryString({ since, tenant_id: tenant })}`,
      );
      const next = contextText(answer.context);
      setEdited(next);
      setSuggestion({ based_on: answer.based_on, notes: answer.notes });
      setPreview(await runWhatIf(next, windowKey, since));
    });

  const save = () =>
    act("save", async () => {
      if (!candidate.ok) return;
      // The preview compared the edit with the definition this page loaded: if someone saved
      // another one since, that preview is not about what this save would replace.
      const latest = await api<Obj>(`${base}${queryString({ tenant_id: tenant })}`);
      if (contextText(latest) !== saved) {
        stored.reload();
        setPreview(null);
        throw new Error(
          "Someone saved this context since the page loaded it: the saved definition and the diff are now theirs; preview the edit again before saving.",
        );
      }
      const body = { ...candidate.value, ...(tenant ? { tenant_id: tenant } : {}) };
      const answer = await api<Obj>(`${base}${queryString({ tenant_id: tenant })}`, { method: "PUT", body });
      setEdited(null);
      setPreview(null);
      setSuggestion(null);
      stored.reload();
      setNotice(`Saved at ${fmtTime(String(answer.updated_at ?? ""))}.`);
    });

  if (stored.error)
    return (
      <section>
        <h2>{`Security context ${name}`}</h2>
        <p class="error">{stored.error}</p>
        <Link href="/contexts">Back to contexts</Link>
      </section>
    );
  if (saved === null) return <p>Loading…</p>;

  const current = preview !== null && preview.text === text;
  const changed = candidate.ok ? candidate.text !== saved : text !== saved;
  const flipsTotal = preview?.answer.flips.length ?? 0;
  return (
    <section class="context-editor">
      <h2>{`Security context ${name}`}</h2>
      <p class="muted">
        <Link href="/contexts">All contexts</Link>
        {tenant ? ` · tenant ${tenant}` : ""} · saved {fmtTime(String(stored.data?.updated_at ?? ""))}
      </p>
      <div class="editor-grid">
        <label class="wide">
          definition (JSON)
          <textarea
            name="definition"
            rows={18}
            spellcheck={false}
            value={text}
            onInput={(e) => setEdited((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <div>
          <h3>Change against the saved definition</h3>
          {candidate.ok ? (
            <Diff before={saved} after={candidate.text} />
          ) : (
            <p class="error">{`The edit is ${candidate.error}.`}</p>
          )}
        </div>
      </div>
      <div class="editor-actions">
        <label>
          history
          <select
            name="window"
            value={windowKey}
            onChange={(e) => setWindowKey((e.currentTarget as HTMLSelectElement).value)}
          >
            {WINDOWS.map((w) => (
              <option key={w.key} value={w.key}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          disabled={busy !== null || !candidate.ok}
          onClick={() => act("preview", () => startPreview(text))}
        >
          Preview what-if
        </button>
        <button type="button" disabled={busy !== null} onClick={suggest}>
          Suggest from history
        </button>
        {edited !== null && (
          <button
            type="button"
            disabled={busy !== null}
            onClick={() => {
              setEdited(null);
              setPreview(null);
              setSuggestion(null);
            }}
          >
            Discard edit
          </button>
        )}
        {canWrite && (
          <button
            type="button"
            class="approve"
            disabled={busy !== null || !current || !changed || !candidate.ok}
            title={current ? undefined : "Preview the what-if of this exact text first"}
            onClick={save}
          >
            Save
          </button>
        )}
        {busy && <span class="muted">{busy === "save" ? "Saving…" : "Working…"}</span>}
      </div>
      {canWrite && changed && !current && (
        <p class="muted" data-testid="save-hint">
          Save is offered once the what-if of this exact text has been previewed.
        </p>
      )}
      <Problems error={error} />
      {notice && (
        <p class="status live" role="status">
          {notice}
        </p>
      )}
      {suggestion && (
        <div class="suggestion" data-testid="suggestion">
          <h3>{`Suggested from ${suggestion.based_on.toLocaleString("en")} recorded calls`}</h3>
          <p class="muted">
            The narrowest context that still allows every call allowed in the window. It is in the editor as
            an edit: review the change, adjust it, and save it like any other.
          </p>
          {suggestion.notes.length > 0 ? (
            <ul class="notes">
              {suggestion.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          ) : (
            <p class="notes">No generalisation: every entry is exactly what the calls used.</p>
          )}
        </div>
      )}
      {preview && (
        <div class={`what-if${current ? "" : " stale"}`} data-testid="what-if">
          <h3>What-if over history</h3>
          {!current && <p class="status warn">The edit changed since this preview: preview it again.</p>}
          <p data-testid="what-if-summary">
            {whatIfSummary(
              preview.answer,
              WINDOWS.find((w) => w.key === preview.windowKey)?.label ?? preview.windowKey,
            )}
          </p>
          <dl>
            <dt>evaluated</dt>
            <dd data-testid="what-if-evaluated">{preview.answer.evaluated}</dd>
            <dt>unchanged</dt>
            <dd>{preview.answer.unchanged}</dd>
            <dt>flips</dt>
            <dd data-testid="what-if-flips">{flipsTotal}</dd>
            <dt>undecidable</dt>
            <dd>{preview.answer.undecidable}</dd>
          </dl>
          {preview.answer.next_cursor && (
            <p class="status warn">
              {`This covers the first ${preview.answer.evaluated.toLocaleString("en")} calls only (a limit or the time budget was reached). `}
              <button type="button" disabled={busy !== null} onClick={continuePreview}>
                Continue
              </button>
            </p>
          )}
          <FlipTable flips={preview.answer.flips} />
          <UndecidableTable calls={preview.answer.undecidable_calls} />
        </div>
      )}
    </section>
  );
}
