import { validateHeaderName, validateHeaderValue } from "node:http";
import { invalidRequest } from "./egress-errors.js";

/**
 * Headers the transport owns. `host` is always the URL's host (a caller-set Host would send
 * the request to another virtual host behind the checked address); framing and connection
 * headers are computed here so a templated value cannot smuggle a second request or hold
 * the pooled socket open in another state.
 */
export const TRANSPORT_OWNED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "proxy-connection",
  "te",
  "trailer",
  "expect",
]);

/**
 * The headers no tool definition or argument may set: the transport's, plus those the
 * gateway itself writes (the body's type, and credentials, which only ever come from the
 * credential stage's injection — DESIGN §4). One list for registration and request building.
 */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set([
  ...TRANSPORT_OWNED_HEADERS,
  "content-type",
  "authorization",
  "cookie",
  "proxy-authorization",
]);

/**
 * Returns lowercase-keyed outgoing headers, dropping transport-owned ones. An invalid name or
 * value is refused naming the header, never echoing the value (it may be a credential).
 */
export function outgoingHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    try {
      validateHeaderName(name);
    } catch {
      throw invalidRequest("bad_header", "a request header has an invalid name");
    }
    if (typeof value !== "string") {
      throw invalidRequest("bad_header", `request header ${name} is not a string`, { header: name });
    }
    try {
      validateHeaderValue(name, value);
    } catch {
      throw invalidRequest("bad_header", `request header ${name} has an invalid value`, { header: name });
    }
    if (TRANSPORT_OWNED_HEADERS.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** CONNECT and TRACE have no place in a tool call; anything else is not a method. */
export function checkMethod(method: string): string {
  const upper = method.toUpperCase();
  if (!METHODS.has(upper)) throw invalidRequest("bad_method", "unsupported HTTP method");
  return upper;
}
