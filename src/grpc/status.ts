import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ERROR_TABLE, errorBody, GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";

/**
 * Failures on the gRPC surface: the status code comes from the one error table
 * (`ERROR_TABLE[code].grpc`), the text is the error's safe message, and the trailing metadata
 * carries what SEAL clients switch on (docs/grpc.md):
 *   seal-code       the SEAL number ("1000", "2006", …)
 *   seal-reason     details.reason ("bad_field:payload", "wrong_role", …)
 *   seal-error-bin  the whole SEAL error object {code, message, timestamp, request_id, details}, JSON
 * An unclassified error is logged and answered INTERNAL with only a request id.
 */

const CODES = status as unknown as Record<string, number>;

export function grpcCode(err: GatewayError): number {
  const code = CODES[ERROR_TABLE[err.code].grpc];
  if (code === undefined) throw new Error(`no gRPC status named ${ERROR_TABLE[err.code].grpc}`);
  return code;
}

export function serviceError(err: GatewayError, requestId: unknown, nowMs: number): Partial<ServiceError> {
  const md = new Metadata();
  md.set("seal-code", String(err.sealCode));
  md.set("seal-reason", err.details.reason);
  md.set("seal-error-bin", Buffer.from(JSON.stringify(errorBody(err, requestId, new Date(nowMs)).error)));
  return { code: grpcCode(err), details: err.message, metadata: md };
}

/** The answer to anything thrown: classified errors as they are, others hidden behind an id. */
export function toServiceError(caught: unknown, log: Logger, rpc: string, nowMs: number) {
  if (caught instanceof GatewayError) return serviceError(caught, null, nowMs);
  const id = newId("req");
  log.error("unhandled error in a gRPC call", { request_id: id, rpc, error: caught });
  const err = new GatewayError("INTERNAL", `internal error (request id ${id})`, { reason: "internal" });
  return serviceError(err, null, nowMs);
}

/** A finished gRPC answer that is not OK, thrown through a handler to its one callback. */
export class GrpcRefusal {
  constructor(readonly answer: Partial<ServiceError>) {}
}
