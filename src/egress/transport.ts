import http from "node:http";
import https from "node:https";
import type { LookupFunction, Socket } from "node:net";
import type { GatewayError } from "../errors.js";
import type { PinnedAddress } from "./destination.js";
import { egressDenied, transportError, upstreamError, upstreamTimeout } from "./egress-errors.js";
import { parseIp, sameAddress } from "./ip-address.js";

export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

export interface Hop {
  url: URL;
  /** Normalized host (no brackets): TLS server name and error text. */
  host: string;
  hostIsIp: boolean;
  pinned: PinnedAddress;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  maxBytes: number;
  connectTimeoutMs: number;
  /** Aborted at the request deadline or by the caller; its reason is the error to answer. */
  signal: AbortSignal;
  agents: Agents;
}

export interface HopResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * Belt and braces: the request names the pinned IP as its host, so Node never resolves
 * anything; should any path still ask, it gets the checked address and nothing else.
 */
function pinnedLookup(pinned: PinnedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
}

function copyHeaders(raw: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) if (value !== undefined) out[name] = value;
  return out;
}

function peerMatches(socket: Socket, pinned: PinnedAddress): boolean {
  const peer = socket.remoteAddress === undefined ? null : parseIp(socket.remoteAddress);
  return peer !== null && sameAddress(peer, pinned.ip);
}

/** Sends one request to the pinned address and reads the whole (capped) response. */
export function sendHop(hop: Hop): Promise<HopResponse> {
  return new Promise<HopResponse>((resolve, reject) => {
    if (hop.signal.aborted) {
      reject(hop.signal.reason);
      return;
    }
    const secure = hop.url.protocol === "https:";
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const onAbort = () => fail(hop.signal.reason as GatewayError);

    const cleanup = () => {
      settled = true;
      if (connectTimer !== undefined) clearTimeout(connectTimer);
      hop.signal.removeEventListener("abort", onAbort);
    };
    const fail = (err: GatewayError) => {
      if (settled) return;
      cleanup();
      // Destroying the request destroys its socket: a half-read or oversized response never
      // goes back to the keep-alive pool.
      req.destroy();
      reject(err);
    };

    const options: https.RequestOptions = {
      host: hop.pinned.address,
      family: hop.pinned.family,
      port: hop.url.port === "" ? (secure ? 443 : 80) : Number(hop.url.port),
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: { ...hop.headers, host: hop.url.host },
      agent: secure ? hop.agents.https : hop.agents.http,
      lookup: pinnedLookup(hop.pinned),
    };
    // Certificates are checked against the name the caller asked for, not the IP we dial.
    if (secure) options.servername = hop.hostIsIp ? "" : hop.host;
    if (hop.body !== undefined) {
      (options.headers as http.OutgoingHttpHeaders)["content-length"] = String(hop.body.length);
    }
    let req: http.ClientRequest;
    try {
      req = (secure ? https : http).request(options);
    } catch (err) {
      cleanup();
      reject(transportError(err, hop.host));
      return;
    }

    req.on("socket", (socket: Socket) => {
      if (req.reusedSocket) {
        if (!peerMatches(socket, hop.pinned)) fail(egressDenied("address_not_allowed", hop.host));
        return;
      }
      connectTimer = setTimeout(
        () => fail(upstreamTimeout("connect_timeout", hop.host, hop.connectTimeoutMs)),
        hop.connectTimeoutMs,
      );
      socket.once("connect", () => {
        // The kernel's view of the peer must be the address that was checked.
        if (!peerMatches(socket, hop.pinned)) fail(egressDenied("address_not_allowed", hop.host));
        else if (!secure) clearTimeout(connectTimer);
      });
      if (secure) socket.once("secureConnect", () => clearTimeout(connectTimer));
    });

    req.on("error", (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ETIMEDOUT") fail(upstreamTimeout("connect_timeout", hop.host, hop.connectTimeoutMs));
      else fail(transportError(err, hop.host));
    });

    req.on("response", (res) => {
      // A HEAD answer declares the length of a body it does not send.
      const declared = hop.method === "HEAD" ? 0 : Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > hop.maxBytes) {
        fail(upstreamError("response_too_large", hop.host, { max_bytes: hop.maxBytes }));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (total > hop.maxBytes) {
          fail(upstreamError("response_too_large", hop.host, { max_bytes: hop.maxBytes }));
          return;
        }
        chunks.push(chunk);
      });
      // Once the status line is in, any socket failure means the body was cut short.
      res.on("error", () => fail(upstreamError("incomplete_response", hop.host)));
      res.on("close", () => {
        if (!res.complete) fail(upstreamError("incomplete_response", hop.host));
      });
      res.on("end", () => {
        if (settled) return;
        cleanup();
        resolve({
          status: res.statusCode ?? 0,
          headers: copyHeaders(res.headers),
          body: Buffer.concat(chunks),
        });
      });
    });

    hop.signal.addEventListener("abort", onAbort, { once: true });
    req.end(hop.body);
  });
}
