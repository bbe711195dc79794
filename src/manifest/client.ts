/** The few HTTP calls `apply` makes, with the operator token; no retries (writes are not idempotent). */

export interface Answer {
  status: number;
  body: unknown;
}

export class GatewayUnreachable extends Error {}

export interface ControlClient {
  request(method: string, path: string, body?: unknown): Promise<Answer>;
}

const TIMEOUT_MS = 60_000;

export function controlClient(baseUrl: string, token: string): ControlClient {
  const root = baseUrl.replace(/\/+$/, "");
  return {
    async request(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${root}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new GatewayUnreachable(`cannot reach the gateway at ${root} (${cause})`);
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === "" ? null : JSON.parse(text);
      } catch {
        // not JSON: kept as text for the message
      }
      return { status: res.status, body: parsed };
    },
  };
}

/** The gateway's error message and problems, as one line each (never the request body). */
export function describeError(a: Answer): string {
  const err = (a.body as { error?: { message?: unknown; details?: { problems?: unknown } } } | null)?.error;
  if (!err || typeof err.message !== "string") return `HTTP ${a.status}`;
  const problems = Array.isArray(err.details?.problems)
    ? (err.details.problems as { path?: unknown; message?: unknown }[])
        .map((p) => `\n  ${String(p.path ?? "")}: ${String(p.message ?? "")}`)
        .join("")
    : "";
  return `HTTP ${a.status}: ${err.message}${problems}`;
}
