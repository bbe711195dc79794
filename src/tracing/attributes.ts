/**
 * Every attribute the gateway puts on a span — the whole list (docs/operations.md "Traces").
 * The same rule as the metrics' labels: values from fixed sets (transports, tool kinds, stages,
 * SEAL codes, methods, statuses) plus the gateway's own call id, which joins a trace to its audit
 * rows. Never an argument, a tool name, a header, a URL, an address, an agent or a secret; no
 * error message either (an upstream may echo a credential into one before it is scrubbed).
 */
import type { Span } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_RPC_METHOD,
} from "@opentelemetry/semantic-conventions";
import { isGatewayError } from "../errors.js";

export const ATTR = {
  /** Server and client spans: the bounded method (`OTHER` beyond the usual seven). */
  httpMethod: ATTR_HTTP_REQUEST_METHOD,
  /** Server spans: the route pattern (`/v1/invoke`, `/mcp`), never the URL. */
  httpRoute: ATTR_HTTP_ROUTE,
  httpStatus: ATTR_HTTP_RESPONSE_STATUS_CODE,
  /** gRPC server spans: `aegis.seal_gateway.v1.<Service>/<Method>`. */
  rpcMethod: ATTR_RPC_METHOD,
  /** The `ErrorCode` of a refusal (`POLICY_DENIED`…), an HTTP status, or `internal`. */
  errorType: ATTR_ERROR_TYPE,
  /** Server span: http | mcp | grpc. */
  transport: "seal.transport",
  /** Server span: the gateway's `call_…` id (the audit rows carry it). */
  callId: "seal.call_id",
  /** Server span: workflow | cli | explorer | native | none. */
  toolKind: "seal.tool.kind",
  /** Server span: success | pending (escalated to an approval) | error. */
  callStatus: "seal.call.status",
  /** Server span: the audit stage the call ended in (parse, authenticate, authorize, …). */
  callStage: "seal.call.stage",
  /** Server span and the failing stage's span: the SEAL code of the answer. */
  sealCode: "seal.code",
  /** Stage spans: the pipeline stage (parse, shape, authenticate, authorize, lookup, …). */
  stage: "seal.stage",
  /** Container spans: exit_zero | exit_nonzero | gone | error | removed. */
  containerOutcome: "seal.container.outcome",
} as const;

/** Marks a span failed by a thrown error: its code only, never its message. */
export function markFailed(span: Span, err: unknown): void {
  if (isGatewayError(err)) {
    span.setAttribute(ATTR.sealCode, err.sealCode);
    span.setAttribute(ATTR.errorType, err.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `SEAL ${err.sealCode}` });
  } else {
    span.setAttribute(ATTR.errorType, "internal");
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}
