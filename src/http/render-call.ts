import { errorBody } from "../errors.js";
import type { CallOutcome } from "../pipeline/call.js";

/**
 * The HTTP rendering of a call's outcome (DESIGN §2): 200 success with both the AEGIS `result`
 * and the MCP `CallToolResult` in `payload.result`, 202 pending, or the error body with its
 * status from the one code table (and Retry-After for 2005). MCP and gRPC render the same
 * outcome their own way, beside this file.
 */

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export function renderCall(outcome: CallOutcome): HttpAnswer {
  switch (outcome.status) {
    case "success":
      return { status: 200, headers: {}, body: successBody(outcome) };
    case "pending":
      return { status: 202, headers: {}, body: pendingBody(outcome) };
    case "error": {
      const { error } = outcome;
      const headers: Record<string, string> = {};
      if (error.retryAfter !== undefined) headers["retry-after"] = String(error.retryAfter);
      return {
        status: error.httpStatus,
        headers,
        body: errorBody(error, outcome.requestId, new Date(outcome.at)),
      };
    }
  }
}

export function successBody(o: Extract<CallOutcome, { status: "success" }>) {
  return {
    protocol: "seal/v1",
    status: "success",
    result: o.result,
    payload: {
      jsonrpc: "2.0",
      id: o.requestId,
      result: {
        content: [{ type: "text", text: o.resultText }],
        structuredContent: o.result,
        isError: o.isError,
      },
    },
    request_id: o.requestId,
    call_id: o.callId,
    event_id: o.eventId,
  };
}

export function pendingBody(o: Extract<CallOutcome, { status: "pending" }>) {
  return {
    protocol: "seal/v1",
    status: "pending",
    approval_id: o.approvalId,
    request_id: o.requestId,
    expires_at: new Date(o.expiresAt).toISOString(),
  };
}
