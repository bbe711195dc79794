import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { expect } from "vitest";
import { GatewayError } from "../../../src/errors.js";

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Server-side view of the connection, to count keep-alive reuse. */
  socketId: number;
  servername?: string;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

export interface TestServer {
  port: number;
  host: string;
  seen: SeenRequest[];
  connections: number;
  close(): Promise<void>;
}

const fixtures = join(import.meta.dirname, "..", "fixtures");
export const TLS_CERT = readFileSync(join(fixtures, "tls-test.crt"));
const TLS_KEY = readFileSync(join(fixtures, "tls-test.key"));

/** A real server on `host` (default 127.0.0.1) and a random port, recording what it saw. */
export async function startServer(
  handler: Handler,
  options: { host?: string; port?: number; tls?: boolean } = {},
): Promise<TestServer> {
  const host = options.host ?? "127.0.0.1";
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  let nextId = 0;
  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const tlsSocket = req.socket as Socket & { servername?: string | false };
      const entry: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        socketId: socketIds.get(req.socket) ?? -1,
      };
      if (typeof tlsSocket.servername === "string") entry.servername = tlsSocket.servername;
      seen.push(entry);
      handler(req, res, entry);
    });
  };
  const server = options.tls
    ? https.createServer({ cert: TLS_CERT, key: TLS_KEY }, listener)
    : http.createServer(listener);
  const state = { connections: 0 };
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    state.connections++;
    socketIds.set(socket, nextId++);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host,
    seen,
    get connections() {
      return state.connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A resolver stub: fixed answers per name, counting calls; unknown names fail like NXDOMAIN. */
export function stubResolver(answers: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const resolver = async (host: string): Promise<string[]> => {
    calls.push(host);
    const entry = answers[host];
    if (entry === undefined) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
    return typeof entry === "function" ? entry() : entry;
  };
  return { resolver, calls };
}

/** Awaits a rejection and checks it is the expected GatewayError. */
export async function expectGatewayError(
  promise: Promise<unknown>,
  code: GatewayError["code"],
  reason: string,
): Promise<GatewayError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  const gw = err as GatewayError;
  expect({ code: gw.code, reason: gw.details.reason }).toEqual({ code, reason });
  return gw;
}

export const ok: Handler = (_req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("ok");
};
