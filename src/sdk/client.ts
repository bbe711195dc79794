import { signEnvelope, toolCallPayload } from "./envelope.js";
import { SealClientError } from "./errors.js";
import type { JsonRpcId, SealResponse } from "./types.js";

export interface CallToolOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:8089`. */
  url: string;
  securityToken: string;
  privateKeyB64: string;
  name: string;
  arguments?: Record<string, unknown>;
  id?: JsonRpcId;
  /** Goes into `params._meta`, inside the signed payload (e.g. `{ approval_id }`). */
  meta?: Record<string, unknown>;
  /** A fetch implementation; defaults to the global one. */
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
  now?: Date;
  timestampFormat?: "rfc3339" | "unix";
}

export interface CallToolResult {
  httpStatus: number;
  /** Success (200), pending approval (202) or error, as the gateway answered. */
  response: SealResponse;
  /** The JSON-RPC id the call was signed with. */
  requestId: JsonRpcId;
}

const STATUSES = new Set(["success", "error", "pending"]);

/** Signs a `tools/call` and POSTs it to `${url}/v1/invoke`. Gateway errors come back as values. */
export async function callTool(options: CallToolOptions): Promise<CallToolResult> {
  const payload = toolCallPayload({
    name: options.name,
    arguments: options.arguments,
    id: options.id,
    meta: options.meta,
  });
  const { body } = signEnvelope({
    securityToken: options.securityToken,
    payload,
    privateKeyB64: options.privateKeyB64,
    now: options.now,
    timestampFormat: options.timestampFormat,
  });
  const doFetch = options.fetch ?? globalThis.fetch;
  const res = await doFetch(`${options.url.replace(/\/+$/, "")}/v1/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body,
    signal: options.signal,
  });
  const text = await res.text();
  return { httpStatus: res.status, response: parseResponse(text, res.status), requestId: payload.id };
}

function parseResponse(text: string, status: number): SealResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SealClientError("bad_response", `gateway answered HTTP ${status} without a JSON body`);
  }
  const candidate = parsed as { protocol?: unknown; status?: unknown } | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    candidate.protocol !== "seal/v1" ||
    typeof candidate.status !== "string" ||
    !STATUSES.has(candidate.status)
  ) {
    throw new SealClientError(
      "bad_response",
      `gateway answered HTTP ${status} with a body that is not SEAL v1`,
    );
  }
  return parsed as SealResponse;
}
