/**
 * The one code table. Every failure the gateway reports is a `GatewayError` carrying a
 * string-literal code; HTTP status, SEAL numeric code and gRPC status are looked up here and
 * nowhere else. Code branches on `code`, never on message text.
 */

export const ERROR_TABLE = {
  MALFORMED_ENVELOPE: { seal: 1000, http: 400, grpc: "INVALID_ARGUMENT" },
  BODY_TOO_LARGE: { seal: 1000, http: 413, grpc: "RESOURCE_EXHAUSTED" },
  INVALID_KEY: { seal: 1001, http: 401, grpc: "UNAUTHENTICATED" },
  SIGNATURE_MISMATCH: { seal: 1002, http: 401, grpc: "UNAUTHENTICATED" },
  TOKEN_EXPIRED: { seal: 1003, http: 401, grpc: "UNAUTHENTICATED" },
  INVALID_TOKEN: { seal: 1004, http: 401, grpc: "UNAUTHENTICATED" },
  SESSION_NOT_FOUND: { seal: 1005, http: 401, grpc: "UNAUTHENTICATED" },
  SESSION_INACTIVE: { seal: 1006, http: 401, grpc: "UNAUTHENTICATED" },
  POLICY_VIOLATION: { seal: 2000, http: 403, grpc: "PERMISSION_DENIED" },
  TOOL_DENIED: { seal: 2001, http: 403, grpc: "PERMISSION_DENIED" },
  PATH_DENIED: { seal: 2002, http: 403, grpc: "PERMISSION_DENIED" },
  DOMAIN_DENIED: { seal: 2003, http: 403, grpc: "PERMISSION_DENIED" },
  COMMAND_DENIED: { seal: 2004, http: 403, grpc: "PERMISSION_DENIED" },
  RATE_LIMITED: { seal: 2005, http: 429, grpc: "RESOURCE_EXHAUSTED" },
  CONTEXT_DENIED: { seal: 2006, http: 403, grpc: "PERMISSION_DENIED" },
  INVALID_ARGUMENTS: { seal: 4000, http: 400, grpc: "INVALID_ARGUMENT" },
  TOOL_NOT_FOUND: { seal: 4004, http: 404, grpc: "NOT_FOUND" },
  APPROVAL_INVALID: { seal: 4009, http: 409, grpc: "FAILED_PRECONDITION" },
  CREDENTIAL_UNAVAILABLE: { seal: 4010, http: 502, grpc: "UNAVAILABLE" },
  RESPONSE_TOO_LARGE: { seal: 4013, http: 502, grpc: "RESOURCE_EXHAUSTED" },
  UPSTREAM_ERROR: { seal: 4020, http: 502, grpc: "UNAVAILABLE" },
  UPSTREAM_TIMEOUT: { seal: 4024, http: 504, grpc: "DEADLINE_EXCEEDED" },
  EGRESS_DENIED: { seal: 4030, http: 403, grpc: "PERMISSION_DENIED" },
  EXECUTION_FAILED: { seal: 4040, http: 500, grpc: "INTERNAL" },
  EXECUTION_TIMEOUT: { seal: 4041, http: 504, grpc: "DEADLINE_EXCEEDED" },
  JUDGE_REJECTED: { seal: 4050, http: 403, grpc: "PERMISSION_DENIED" },
  UNAVAILABLE: { seal: 5030, http: 503, grpc: "UNAVAILABLE" },
  // Control-plane codes (no SEAL number in the RFC; these never answer an envelope).
  BAD_REQUEST: { seal: 4000, http: 400, grpc: "INVALID_ARGUMENT" },
  UNAUTHENTICATED: { seal: 1004, http: 401, grpc: "UNAUTHENTICATED" },
  FORBIDDEN: { seal: 2000, http: 403, grpc: "PERMISSION_DENIED" },
  NOT_FOUND: { seal: 4004, http: 404, grpc: "NOT_FOUND" },
  CONFLICT: { seal: 4009, http: 409, grpc: "ALREADY_EXISTS" },
  INTERNAL: { seal: 5000, http: 500, grpc: "INTERNAL" },
} as const satisfies Record<string, { seal: number; http: number; grpc: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface ErrorDetails {
  reason: string;
  [key: string]: unknown;
}

/** An expected, classified failure. `message` is safe to show to the caller. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  /** Seconds, for 2005 answers (sent as Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails, retryAfter?: number) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  get sealCode(): number {
    return ERROR_TABLE[this.code].seal;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** Shorthand constructor used by the stages. */
export function fail(
  code: ErrorCode,
  reason: string,
  message: string,
  extra?: Record<string, unknown>,
): never {
  throw new GatewayError(code, message, { reason, ...extra });
}

/** The SEAL error body (DESIGN §2). */
export function errorBody(err: GatewayError, requestId: unknown, now: Date = new Date()) {
  return {
    protocol: "seal/v1",
    status: "error",
    error: {
      code: err.sealCode,
      message: err.message,
      timestamp: now.toISOString(),
      request_id: requestId ?? null,
      details: err.details,
    },
  };
}
