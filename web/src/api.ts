import { session, signOut } from "./auth";

/** The public API, and nothing else: every request carries the operator token as a header. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | null,
    readonly reason: string | null,
    message: string,
    /** `error.details.problems` of a 400: every problem the gateway found, each with its path. */
    readonly problems: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

export function queryString(params: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as {
      error?: { code?: number; message?: string; details?: { reason?: string; problems?: unknown } };
    };
    const e = body.error;
    const listed = e?.details?.problems;
    const problems = Array.isArray(listed)
      ? listed.flatMap((p: unknown) => {
          if (typeof p !== "object" || p === null) return [];
          const { path, message } = p as { path?: unknown; message?: unknown };
          return [{ path: String(path ?? ""), message: String(message ?? "") }];
        })
      : [];
    return new ApiError(
      res.status,
      e?.code ?? null,
      e?.details?.reason ?? null,
      e?.message ?? res.statusText,
      problems,
    );
  } catch {
    return new ApiError(res.status, null, null, `HTTP ${res.status}`);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const token = init.token ?? session()?.token;
  if (!token) throw new ApiError(401, null, "missing_token", "not signed in");
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers: {
      ...authHeaders(token),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  if (!res.ok) {
    const err = await errorOf(res);
    // An expired or refused token signs the tab out; the sign-in form says why.
    if (res.status === 401 && !init.token) signOut();
    throw err;
  }
  return (await res.json()) as T;
}

export { errorOf };
