import type { Resolver } from "./destination.js";

export interface EgressClientOptions {
  /** Operator exceptions to the global-unicast rule (CIDRs, `egress.allow_networks`). */
  allowNetworks: readonly string[];
  /** Resolution + TCP connect (+ TLS handshake) of each new connection. */
  connectTimeoutMs: number;
  /** Whole call, redirects and body included; also the ceiling for a request's `timeoutMs`. */
  requestTimeoutMs: number;
  /** Per response body; also the ceiling for a request's `maxResponseBytes`. */
  maxResponseBytes: number;
  /** Injected in tests; default `dns.lookup` with `all: true`. */
  resolver?: Resolver;
  /** Extra trust anchors (PEM) for upstreams behind a private CA; the system store stays on. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface EgressRequest {
  method: string;
  url: string;
  headers?: Readonly<Record<string, string>>;
  body?: Buffer | string;
  /** Exact hosts this request may reach (the spec's hosts); no wildcards, no suffixes. */
  allowedHosts: readonly string[];
  /** Lowers the client's request timeout for this call (never raises it). */
  timeoutMs?: number;
  /** Lowers the client's response cap for this call (never raises it). */
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** Same-origin redirects to follow (default 3); 0 returns the 3xx response as is. */
  followRedirects?: number;
}

export interface EgressResponse {
  status: number;
  /** Lowercase names, as received (multi-valued headers as arrays). */
  headers: Record<string, string | string[]>;
  /** As received: never decompressed, so a compression bomb stays within the cap. */
  body: Buffer;
  /** The final URL after same-origin redirects. Contains the query string: do not log it. */
  url: string;
}

/** The gateway's one outbound HTTP port. */
export interface EgressClient {
  request(req: EgressRequest): Promise<EgressResponse>;
  /** Closes pooled connections (shutdown, tests). */
  close(): void;
}
