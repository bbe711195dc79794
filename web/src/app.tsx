import { useEffect, useState } from "preact/hooks";
import { onSessionChange, session, signOut } from "./auth";
import { Link, usePath } from "./router";
import { ApprovalsView } from "./views/approvals";
import { AuditView } from "./views/audit";
import { AgentKeysView, ContextsView, SpecsView, WorkflowsView } from "./views/catalog";
import { ContextEditor } from "./views/context-editor";
import { EventDetail } from "./views/event-detail";
import { EventsView } from "./views/events";
import { SessionsView } from "./views/sessions";
import { SignIn } from "./views/sign-in";
import { Timeline } from "./views/timeline";

const NAV: Array<[string, string]> = [
  ["/", "Events"],
  ["/approvals", "Approvals"],
  ["/sessions", "Sessions"],
  ["/specs", "Specs"],
  ["/workflows", "Workflows"],
  ["/contexts", "Contexts"],
  ["/agent-keys", "Agent keys"],
  ["/audit", "Audit"],
];

function Page(props: { path: string }) {
  const { path } = props;
  const event = /^\/events\/(\d+)$/.exec(path);
  if (event) return <EventDetail seq={Number(event[1])} />;
  const exec = /^\/executions\/([^/]+)$/.exec(path);
  if (exec) return <Timeline executionId={decodeURIComponent(exec[1] ?? "")} />;
  const context = /^\/contexts\/([^/]+)$/.exec(path);
  if (context)
    return (
      <ContextEditor
        key={path}
        name={decodeURIComponent(context[1] ?? "")}
        tenant={new URLSearchParams(location.search).get("tenant_id")}
      />
    );
  switch (path) {
    case "/":
    case "/events":
      return <EventsView />;
    case "/approvals":
      return <ApprovalsView />;
    case "/sessions":
      return <SessionsView />;
    case "/specs":
      return <SpecsView />;
    case "/workflows":
      return <WorkflowsView />;
    case "/contexts":
      return <ContextsView />;
    case "/agent-keys":
      return <AgentKeysView />;
    case "/audit":
      return <AuditView />;
    default:
      return <p class="error">{`No such page: ${path}`}</p>;
  }
}

export function App() {
  const [s, setS] = useState(session());
  const [notice, setNotice] = useState<string | null>(null);
  const path = usePath();
  useEffect(
    () =>
      onSessionChange(() => {
        const next = session();
        // Signed out by a 401 rather than by the button: say so on the form.
        if (!next && s)
          setNotice("The gateway no longer accepts the token (expired or revoked). Sign in again.");
        if (next) setNotice(null);
        setS(next);
      }),
    [s],
  );
  return (
    <>
      <header class="top">
        <h1>SEAL gateway</h1>
        {s && (
          <nav>
            {NAV.map(([href, label]) => (
              <Link key={href} href={href} class={path === href ? "current" : undefined}>
                {label}
              </Link>
            ))}
          </nav>
        )}
        {s && (
          <div class="who">
            <span class="mono">{s.sub}</span> <span class="badge role">{s.role ?? "unknown role"}</span>{" "}
            <span class="tenant">{`tenant ${s.tenant}`}</span>{" "}
            <button
              type="button"
              onClick={() => {
                setNotice(null);
                signOut();
              }}
            >
              Sign out
            </button>
          </div>
        )}
      </header>
      <main>{s ? <Page path={path} /> : <SignIn notice={notice} />}</main>
    </>
  );
}
