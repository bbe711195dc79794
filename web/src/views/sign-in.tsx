import { useState } from "preact/hooks";
import { api } from "../api";
import { describeToken, signIn } from "../auth";

/** Paste an operator token (`seal-gateway token --role viewer`); it is checked once against the API. */
export function SignIn(props: { notice?: string | null }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="sign-in"
      autocomplete="off"
      onSubmit={(ev) => {
        ev.preventDefault();
        const s = describeToken(token);
        if (!s) {
          setError("That is not a JWT (three base64url parts separated by dots).");
          return;
        }
        setBusy(true);
        setError(null);
        api("/v1/events?limit=1", { token: s.token }).then(
          () => {
            setToken("");
            signIn(s);
          },
          (e: unknown) => {
            setBusy(false);
            setError(`The gateway refused this token: ${e instanceof Error ? e.message : String(e)}`);
          },
        );
      }}
    >
      <h2>Sign in</h2>
      <p>
        Paste an operator token, e.g. from <code>npx seal-gateway token --role approver</code>. It is kept in
        this tab only (memory and sessionStorage) and sent as an <code>Authorization</code> header, never in a
        URL.
      </p>
      {props.notice && <p class="warn">{props.notice}</p>}
      <label>
        operator token
        <input
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <button type="submit" disabled={busy || token.trim() === ""}>
        Sign in
      </button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}
