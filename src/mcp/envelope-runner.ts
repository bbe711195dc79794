import type { InvokeRequest, InvokeResponse } from "../pipeline/index.js";
import { canonicalJson } from "../seal/canonical.js";
import type { JsonValue, PlainJson } from "../seal/json.js";

/**
 * The one seam between the MCP endpoint and the call pipeline: an envelope sub-document (parsed
 * once, strictly, with its number literals) in, the call's outcome out.
 *
 * Until the pipeline exposes `admit(doc, source, {transport})` + `run(admitted)`, the envelope
 * is re-serialized with `canonicalJson` — it re-emits every number literal exactly as it was
 * received, so the signature verifies over the same bytes — and sent through the same
 * `invoke` as POST /v1/invoke. Swapping this file is the whole change when `admit`/`run` land.
 */

/** The SEAL error object of an error answer (DESIGN §2): code, message, details.reason, … */
export interface SealErrorObject {
  code: number;
  message: string;
  timestamp?: string;
  request_id?: unknown;
  details: { reason: string; [key: string]: unknown };
}

export type CallOutcome =
  | { kind: "success"; result: PlainJson; isError: boolean; callId: string; eventId: string }
  | { kind: "pending"; approvalId: string; expiresAt: string }
  | { kind: "error"; error: SealErrorObject; httpStatus: number };

export type EnvelopeRunner = (doc: JsonValue, source: string) => Promise<CallOutcome>;

type Invoke = (req: InvokeRequest) => Promise<InvokeResponse>;

export function envelopeRunner(invoke: Invoke): EnvelopeRunner {
  return async (doc, source) => {
    const body = new TextEncoder().encode(canonicalJson(doc));
    return outcomeOf(await invoke({ body, tooLarge: false, source }));
  };
}

function outcomeOf(res: InvokeResponse): CallOutcome {
  const body = res.body as Record<string, unknown>;
  if (body.status === "success")
    return {
      kind: "success",
      result: body.result as PlainJson,
      isError: (body.payload as { result: { isError: boolean } }).result.isError,
      callId: String(body.call_id),
      eventId: String(body.event_id),
    };
  if (body.status === "pending")
    return { kind: "pending", approvalId: String(body.approval_id), expiresAt: String(body.expires_at) };
  return { kind: "error", error: body.error as SealErrorObject, httpStatus: res.status };
}
