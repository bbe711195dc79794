import { GatewayError } from "../errors.js";

/**
 * The guard's failures. Messages and details name the host only: never the path, the query
 * string, header values or the resolved address, because requests carry credentials (API keys
 * in query strings, tokens in headers) and the caller is an untrusted agent.
 */

export type EgressDenyReason =
  | "host_not_allowed"
  | "address_not_allowed"
  | "scheme_not_allowed"
  | "cross_host_redirect"
  | "resolution_failed";

const DENY_TEXT: Record<EgressDenyReason, string> = {
  host_not_allowed: "host is not in the allowed hosts",
  address_not_allowed: "host resolves to an address that is not allowed",
  scheme_not_allowed: "only http and https are allowed",
  cross_host_redirect: "redirect to another origin refused",
  resolution_failed: "host could not be resolved",
};

export function egressDenied(
  reason: EgressDenyReason,
  host: string | null,
  extra?: Record<string, unknown>,
): GatewayError {
  const where = host === null ? "" : ` to ${host}`;
  return new GatewayError("EGRESS_DENIED", `egress${where} refused: ${DENY_TEXT[reason]}`, {
    reason,
    ...(host === null ? {} : { host }),
    ...extra,
  });
}

export type UpstreamErrorReason =
  | "connection_refused"
  | "connection_reset"
  | "unreachable"
  | "tls_error"
  | "bad_response"
  | "incomplete_response"
  | "response_too_large"
  | "too_many_redirects"
  | "bad_redirect"
  | "aborted"
  | "transport_error";

export function upstreamError(reason: UpstreamErrorReason, host: string, extra?: Record<string, unknown>) {
  return new GatewayError("UPSTREAM_ERROR", `upstream ${host} failed: ${reason.replaceAll("_", " ")}`, {
    reason,
    host,
    ...extra,
  });
}

export type UpstreamTimeoutReason = "connect_timeout" | "request_timeout";

export function upstreamTimeout(reason: UpstreamTimeoutReason, host: string, timeoutMs: number) {
  return new GatewayError("UPSTREAM_TIMEOUT", `upstream ${host} timed out (${reason.replace("_", " ")})`, {
    reason,
    host,
    timeout_ms: timeoutMs,
  });
}

export function invalidRequest(reason: string, message: string, extra?: Record<string, unknown>) {
  return new GatewayError("INVALID_ARGUMENTS", message, { reason, ...extra });
}

const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|ERR_OSSL_)/;

/** Classifies a socket/HTTP error by its `code` (never its message, which may carry data). */
export function transportError(err: unknown, host: string): GatewayError {
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
  if (code === "ECONNREFUSED") return upstreamError("connection_refused", host);
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED") {
    return upstreamError("connection_reset", host);
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EADDRNOTAVAIL") {
    return upstreamError("unreachable", host);
  }
  if (TLS_CODE.test(code)) return upstreamError("tls_error", host);
  if (code.startsWith("HPE_")) return upstreamError("bad_response", host);
  return upstreamError("transport_error", host);
}
