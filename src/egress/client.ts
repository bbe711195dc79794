import http from "node:http";
import https from "node:https";
import { isGatewayError } from "../errors.js";
import { type AllowNetworks, compileAllowNetworks } from "./allow-networks.js";
import { type PinnedAddress, resolveDestination, systemResolver } from "./destination.js";
import { egressDenied, invalidRequest, upstreamError, upstreamTimeout } from "./egress-errors.js";
import { checkMethod, outgoingHeaders } from "./headers.js";
import { hostAllowed, normalizeHost } from "./hosts.js";
import { parseIp } from "./ip-address.js";
import { type Agents, type HopResponse, sendHop } from "./transport.js";
import type { EgressClient, EgressClientOptions, EgressRequest, EgressResponse } from "./types.js";

const DEFAULT_REDIRECTS = 3;
const IDLE_SOCKET_MS = 15_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface Target {
  url: URL;
  host: string;
  hostIsIp: boolean;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`egress: ${name} must be a positive integer`);
  return value;
}

function parseTarget(text: string, allowedHosts: readonly string[]): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidRequest("invalid_url", "the upstream URL is not a valid absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw egressDenied("scheme_not_allowed", null);
  // Credentials travel in headers the gateway injects, never in the URL's userinfo.
  if (url.username !== "" || url.password !== "") {
    throw invalidRequest("url_userinfo", "the upstream URL must not carry a user name or password");
  }
  const host = normalizeHost(url.hostname);
  if (host === null || !hostAllowed(host, allowedHosts)) {
    throw egressDenied("host_not_allowed", host ?? null);
  }
  return { url, host, hostIsIp: parseIp(host) !== null };
}

/** The host named in timeout and abort errors: never the path or query. */
function hostForErrors(text: string): string {
  try {
    return normalizeHost(new URL(text).hostname) ?? "upstream";
  } catch {
    return "upstream";
  }
}

/**
 * A signal aborted after `ms` with `reason()`, or when `parent` aborts (with `fromParent` of its
 * reason). One controller and one timer, cleared by `clear()`.
 */
function deadline(
  parent: AbortSignal | undefined,
  ms: number,
  reason: () => unknown,
  fromParent: (parentReason: unknown) => unknown = (r) => r,
): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(fromParent(parent?.reason));
  const timer = setTimeout(() => controller.abort(reason()), ms);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

export function createEgressClient(opts: EgressClientOptions): EgressClient {
  const allow: AllowNetworks = compileAllowNetworks(opts.allowNetworks);
  const connectTimeoutMs = positive("connectTimeoutMs", opts.connectTimeoutMs);
  const requestTimeoutMs = positive("requestTimeoutMs", opts.requestTimeoutMs);
  const maxResponseBytes = positive("maxResponseBytes", opts.maxResponseBytes);
  const resolver = opts.resolver ?? systemResolver;
  // One pool per client. Requests name the checked IP as their host, so pooled sockets are
  // keyed by address (and TLS server name): a socket can only be reused for the address that
  // was just checked, never for "the same hostname" after its DNS answer changed.
  const agentOptions = { keepAlive: true, scheduling: "lifo" as const, timeout: IDLE_SOCKET_MS };
  const agents: Agents = {
    http: new http.Agent(agentOptions),
    https: new https.Agent(opts.ca === undefined ? agentOptions : { ...agentOptions, ca: opts.ca }),
  };

  async function pin(target: Target, signal: AbortSignal): Promise<PinnedAddress> {
    // An address is checked as it is: there is nothing to resolve, so nothing to time.
    if (parseIp(target.host) !== null) return resolveDestination(target.host, resolver, allow, signal);
    // Resolution counts against the connect timeout: getaddrinfo can hang far longer.
    const phase = deadline(signal, connectTimeoutMs, () =>
      upstreamTimeout("connect_timeout", target.host, connectTimeoutMs),
    );
    try {
      return await resolveDestination(target.host, resolver, allow, phase.signal);
    } finally {
      phase.clear();
    }
  }

  async function run(req: EgressRequest, signal: AbortSignal): Promise<EgressResponse> {
    let method = checkMethod(req.method);
    let headers = outgoingHeaders(req.headers);
    let body = req.body === undefined ? undefined : Buffer.from(req.body);
    const maxBytes = Math.min(req.maxResponseBytes ?? maxResponseBytes, maxResponseBytes);
    // NaN would compare false against every length and silently lift the cap.
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
      throw invalidRequest("bad_response_cap", "maxResponseBytes must be a positive integer");
    }
    const maxRedirects = req.followRedirects ?? DEFAULT_REDIRECTS;
    if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) {
      throw invalidRequest("bad_redirect_limit", "followRedirects must be a non-negative integer");
    }
    let target = parseTarget(req.url, req.allowedHosts);
    for (let redirects = 0; ; redirects++) {
      const pinned = await pin(target, signal);
      const res: HopResponse = await sendHop({
        ...target,
        pinned,
        method,
        headers,
        body,
        maxBytes,
        connectTimeoutMs,
        signal,
        agents,
      });
      const location = res.headers.location;
      if (
        !REDIRECT_STATUSES.has(res.status) ||
        maxRedirects === 0 ||
        typeof location !== "string" ||
        location === ""
      ) {
        return { status: res.status, headers: res.headers, body: res.body, url: target.url.href };
      }
      if (redirects >= maxRedirects) throw upstreamError("too_many_redirects", target.host);
      let next: URL;
      try {
        next = new URL(location, target.url);
      } catch {
        throw upstreamError("bad_redirect", target.host);
      }
      // Same origin only (scheme, host and port): the request carries the credentials of
      // this upstream, and another origin is another trust decision.
      if (next.origin !== target.url.origin || next.username !== "" || next.password !== "") {
        throw egressDenied("cross_host_redirect", target.host);
      }
      target = { ...target, url: next };
      const toGet = res.status === 303 ? method !== "HEAD" : res.status <= 302 && method === "POST";
      if (toGet) {
        method = "GET";
        body = undefined;
        const { "content-type": _dropped, ...rest } = headers;
        headers = rest;
      }
    }
  }

  return {
    async request(req) {
      const timeoutMs = Math.min(req.timeoutMs ?? requestTimeoutMs, requestTimeoutMs);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw invalidRequest("bad_timeout", "timeoutMs must be a positive number");
      }
      const host = hostForErrors(req.url);
      const whole = deadline(
        req.signal,
        timeoutMs,
        () => upstreamTimeout("request_timeout", host, timeoutMs),
        (reason) => (isGatewayError(reason) ? reason : upstreamError("aborted", host)),
      );
      try {
        return await run(req, whole.signal);
      } finally {
        whole.clear();
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
