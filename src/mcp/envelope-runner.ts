import { errorBody } from "../errors.js";
import type { CallOutcome as PipelineOutcome } from "../pipeline/call.js";
import type { CallPipeline } from "../pipeline/index.js";
import type { JsonValue, PlainJson } from "../seal/json.js";

/**
 * The one seam between the MCP endpoint and the call pipeline: an envelope sub-document (parsed
 * once, strictly, with its number literals) in, the call's outcome out. The document goes
 * straight to `admit` — the same admission and stages as POST /v1/invoke, with `transport: mcp`
 * in every audit row the call writes.
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

export function envelopeRunner(calls: Pick<CallPipeline, "call">): EnvelopeRunner {
  return async (doc, source) => outcomeOf(await calls.call(doc, { address: source, transport: "mcp" }));
}

function outcomeOf(o: PipelineOutcome): CallOutcome {
  switch (o.status) {
    case "success":
      return { kind: "success", result: o.result, isError: o.isError, callId: o.callId, eventId: o.eventId };
    case "pending":
      return { kind: "pending", approvalId: o.approvalId, expiresAt: new Date(o.expiresAt).toISOString() };
    case "error":
      return {
        kind: "error",
        error: errorBody(o.error, o.requestId, new Date(o.at)).error,
        httpStatus: o.error.httpStatus,
      };
  }
}
