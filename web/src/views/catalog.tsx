import { useState } from "preact/hooks";
import { api } from "../api";
import { field, fmtTime, jsonText } from "../format";
import { LoadMore, usePages } from "../pages";
import { Link } from "../router";

/** Lists of specs, workflows, security contexts (with the dry run; each opens its editor) and agent keys. */

type Obj = Record<string, unknown>;

function Table(props: {
  rows: Obj[] | undefined;
  columns: string[];
  detail?: boolean;
  /** The first column as a link to this page of the row. */
  href?: (row: Obj) => string;
}) {
  if (!props.rows) return <p>Loading…</p>;
  if (props.rows.length === 0) return <p class="muted">None.</p>;
  const text = (v: unknown) =>
    v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);
  return (
    <table>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c}>{c}</th>
          ))}
          {props.detail && <th>definition</th>}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r, i) => (
          <tr key={String(r.id ?? r.name ?? i)}>
            {props.columns.map((c, j) => {
              const shown = c.endsWith("_at") ? fmtTime(text(r[c])) : text(r[c]);
              return (
                <td key={c}>{j === 0 && props.href ? <Link href={props.href(r)}>{shown}</Link> : shown}</td>
              );
            })}
            {props.detail && (
              <td>
                <details>
                  <summary>show</summary>
                  <pre>{jsonText(r)}</pre>
                </details>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpecsView() {
  const pages = usePages<Obj>("/v1/specs", "specs");
  const { rows, error } = pages;
  return (
    <section>
      <h2>API specs</h2>
      {error && <p class="error">{error}</p>}
      <Table
        rows={rows ?? undefined}
        columns={["name", "tenant_id", "base_url", "allowed_hosts", "hash", "updated_at"]}
      />
      <LoadMore pages={pages} />
    </section>
  );
}

export function WorkflowsView() {
  const pages = usePages<Obj>("/v1/workflows", "workflows");
  const { rows, error } = pages;
  return (
    <section>
      <h2>Workflows</h2>
      {error && <p class="error">{error}</p>}
      <Table
        rows={rows ?? undefined}
        columns={["name", "description", "tenant_id", "hash", "updated_at"]}
        detail
      />
      <LoadMore pages={pages} />
    </section>
  );
}

export function AgentKeysView() {
  const pages = usePages<Obj>("/v1/agent-keys", "agent_keys");
  const { rows, error } = pages;
  return (
    <section>
      <h2>Agent keys</h2>
      {error && <p class="error">{error}</p>}
      <Table
        rows={rows ?? undefined}
        columns={["id", "sub", "label", "tenant_id", "status", "created_at", "revoked_at"]}
      />
      <LoadMore pages={pages} />
    </section>
  );
}

function Evaluate(props: { names: string[] }) {
  const [name, setName] = useState("");
  const [tool, setTool] = useState("");
  const [args, setArgs] = useState("{}");
  const [sub, setSub] = useState("");
  const [out, setOut] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosen = name || props.names[0] || "";
  return (
    <form
      class="evaluate"
      onSubmit={(ev) => {
        ev.preventDefault();
        setError(null);
        setOut(null);
        let parsed: unknown;
        try {
          parsed = JSON.parse(args);
        } catch {
          setError("arguments must be JSON");
          return;
        }
        api(`/v1/security-contexts/${encodeURIComponent(chosen)}/evaluate`, {
          method: "POST",
          body: { tool, arguments: parsed, ...(sub ? { sub } : {}) },
        }).then(
          (r) => setOut(jsonText(r)),
          (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
        );
      }}
    >
      <h3>Dry run</h3>
      <p class="muted">Decides a call against a context without running anything.</p>
      <label>
        context
        <select value={chosen} onChange={(e) => setName((e.currentTarget as HTMLSelectElement).value)}>
          {props.names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        tool
        <input
          name="tool"
          value={tool}
          required
          onInput={(e) => setTool((e.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <label>
        sub
        <input name="sub" value={sub} onInput={(e) => setSub((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label class="wide">
        arguments (JSON)
        <textarea
          name="arguments"
          rows={3}
          value={args}
          onInput={(e) => setArgs((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </label>
      <button type="submit" disabled={!chosen}>
        Evaluate
      </button>
      {error && <p class="error">{error}</p>}
      {out && <pre class="evaluation">{out}</pre>}
    </form>
  );
}

export function ContextsView() {
  const pages = usePages<Obj>("/v1/security-contexts", "security_contexts");
  const { error } = pages;
  const rows = pages.rows?.map((c) => ({
    ...c,
    capabilities: (field(c, "capabilities") as unknown[] | undefined)?.length ?? 0,
  }));
  return (
    <section>
      <h2>Security contexts</h2>
      {error && <p class="error">{error}</p>}
      <Table
        rows={rows}
        columns={["name", "description", "tenant_id", "capabilities", "deny_list", "updated_at"]}
        detail
        href={(c) =>
          `/contexts/${encodeURIComponent(String(c.name))}?tenant_id=${encodeURIComponent(String(c.tenant_id))}`
        }
      />
      <p class="muted">
        Open a context to edit it, preview the what-if of the edit over its recorded calls, or have one
        suggested from them.
      </p>
      <LoadMore pages={pages} />
      {pages.rows && <Evaluate names={pages.rows.map((c) => String(c.name))} />}
    </section>
  );
}
