/**
 * The one code table. Every failure the gateway reports is a `GatewayError` carrying a
 * string-literal code; HTTP status, SEAL numeric code and gRPC status are looked up here and
 * nowhere else. Code branches on `code`, never on message text. `name` is the RFC §8.1 name of
 * the SEAL number (or this project's, DESIGN §2) — the one outside clients read about.
 */

export const ERROR_TABLE = {
  MALFORMED_ENVELOPE: { seal: 1000, name: "MALFORMED_ENVELOPE", http: 400, grpc: "INVALID_ARGUMENT" },
  BODY_TOO_LARGE: { seal: 1000, name: "MALFORMED_ENVELOPE", http: 413, grpc: "RESOURCE_EXHAUSTED" },
  INVALID_KEY: { seal: 1001, name: "INVALID_SIGNATURE", http: 401, grpc: "UNAUTHENTICATED" },
  SIGNATURE_MISMATCH: {
    seal: 1002,
    name: "SIGNATURE_VERIFICATION_FAILED",
    http: 401,
    grpc: "UNAUTHENTICATED",
  },
  TOKEN_EXPIRED: { seal: 1003, name: "TOKEN_EXPIRED", http: 401, grpc: "UNAUTHENTICATED" },
  INVALID_TOKEN: { seal: 1004, name: "TOKEN_VERIFICATION_FAILED", http: 401, grpc: "UNAUTHENTICATED" },
  SESSION_NOT_FOUND: { seal: 1005, name: "SESSION_NOT_FOUND", http: 401, grpc: "UNAUTHENTICATED" },
  SESSION_INACTIVE: { seal: 1006, name: "SESSION_INACTIVE", http: 401, grpc: "UNAUTHENTICATED" },
  POLICY_VIOLATION: { seal: 2000, name: "TOOL_NOT_ALLOWED", http: 403, grpc: "PERMISSION_DENIED" },
  TOOL_DENIED: { seal: 2001, name: "TOOL_DENIED", http: 403, grpc: "PERMISSION_DENIED" },
  PATH_DENIED: { seal: 2002, name: "PATH_NOT_ALLOWED", http: 403, grpc: "PERMISSION_DENIED" },
  COMMAND_DENIED: { seal: 2003, name: "COMMAND_NOT_ALLOWED", http: 403, grpc: "PERMISSION_DENIED" },
  DOMAIN_DENIED: { seal: 2004, name: "DOMAIN_NOT_ALLOWED", http: 403, grpc: "PERMISSION_DENIED" },
  RATE_LIMITED: { seal: 2005, name: "RATE_LIMIT_EXCEEDED", http: 429, grpc: "RESOURCE_EXHAUSTED" },
  CONTEXT_DENIED: { seal: 2006, name: "NO_MATCHING_CAPABILITY", http: 403, grpc: "PERMISSION_DENIED" },
  INVALID_ARGUMENTS: { seal: 4000, name: "INVALID_ARGUMENTS", http: 400, grpc: "INVALID_ARGUMENT" },
  TOOL_NOT_FOUND: { seal: 4004, name: "TOOL_NOT_FOUND", http: 404, grpc: "NOT_FOUND" },
  APPROVAL_INVALID: { seal: 4009, name: "APPROVAL_INVALID", http: 409, grpc: "FAILED_PRECONDITION" },
  CREDENTIAL_UNAVAILABLE: { seal: 4010, name: "CREDENTIAL_UNAVAILABLE", http: 502, grpc: "UNAVAILABLE" },
  RESPONSE_TOO_LARGE: { seal: 4013, name: "RESPONSE_TOO_LARGE", http: 502, grpc: "RESOURCE_EXHAUSTED" },
  UPSTREAM_ERROR: { seal: 4020, name: "UPSTREAM_ERROR", http: 502, grpc: "UNAVAILABLE" },
  UPSTREAM_TIMEOUT: { seal: 4024, name: "UPSTREAM_TIMEOUT", http: 504, grpc: "DEADLINE_EXCEEDED" },
  EGRESS_DENIED: { seal: 4030, name: "EGRESS_DENIED", http: 403, grpc: "PERMISSION_DENIED" },
  EXECUTION_FAILED: { seal: 4040, name: "EXECUTION_FAILED", http: 500, grpc: "INTERNAL" },
  EXECUTION_TIMEOUT: { seal: 4041, name: "EXECUTION_TIMEOUT", http: 504, grpc: "DEADLINE_EXCEEDED" },
  JUDGE_REJECTED: { seal: 4050, name: "JUDGE_REJECTED", http: 403, grpc: "PERMISSION_DENIED" },
  // Attestation (RFC §6); the HTTP statuses are this project's choice (docs/decisions.md).
  ATTESTATION_WORKLOAD_FAILED: {
    seal: 3000,
    name: "ATTESTATION_WORKLOAD_VERIFICATION_FAILED",
    http: 401,
    grpc: "UNAUTHENTICATED",
  },
  ATTESTATION_SCOPE_NOT_FOUND: {
    seal: 3001,
    name: "ATTESTATION_SCOPE_NOT_FOUND",
    http: 403,
    grpc: "PERMISSION_DENIED",
  },
  ATTESTATION_FAILED: { seal: 3002, name: "ATTESTATION_FAILED", http: 401, grpc: "UNAUTHENTICATED" },
  UNAVAILABLE: { seal: 5030, name: "UNAVAILABLE", http: 503, grpc: "UNAVAILABLE" },
  // Control-plane codes (no SEAL number in the RFC; these never answer an envelope).
  BAD_REQUEST: { seal: 4000, name: "INVALID_ARGUMENTS", http: 400, grpc: "INVALID_ARGUMENT" },
  UNAUTHENTICATED: { seal: 1004, name: "TOKEN_VERIFICATION_FAILED", http: 401, grpc: "UNAUTHENTICATED" },
  FORBIDDEN: { seal: 2000, name: "TOOL_NOT_ALLOWED", http: 403, grpc: "PERMISSION_DENIED" },
  NOT_FOUND: { seal: 4004, name: "TOOL_NOT_FOUND", http: 404, grpc: "NOT_FOUND" },
  CONFLICT: { seal: 4009, name: "APPROVAL_INVALID", http: 409, grpc: "ALREADY_EXISTS" },
  INTERNAL: { seal: 5000, name: "INTERNAL", http: 500, grpc: "INTERNAL" },
} as const satisfies Record<string, { seal: number; name: string; http: number; grpc: string }>;

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
