import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEgressClient } from "../../src/egress/client.js";
import type { EgressClient, EgressClientOptions } from "../../src/egress/types.js";
import { GatewayError } from "../../src/errors.js";
import { expectGatewayError, startServer, stubResolver, type TestServer } from "./support/servers.js";

let server: TestServer;
const clients: EgressClient[] = [];
const dns = stubResolver({ "api.test": ["127.0.0.1"] });
let streamClosed: Promise<{ bytesWritten: number; ended: boolean }> = Promise.resolve({
  bytesWritten: 0,
  ended: true,
});

function client(overrides: Partial<EgressClientOptions> = {}): EgressClient {
  const c = createEgressClient({
    allowNetworks: ["127.0.0.0/8"],
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxResponseBytes: 1000,
    resolver: dns.resolver,
    ...overrides,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer((req, res, seen) => {
    const url = new URL(req.url ?? "/", "http://x");
    const n = Number(url.searchParams.get("n") ?? "0");
    switch (url.pathname) {
      case "/big":
        res.writeHead(200, { "content-length": String(n) });
        res.end(Buffer.alloc(n, 0x61));
        return;
      case "/stream": {
        // Chunked, no length, never ends on its own: only the client's cap can stop it.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let written = 0;
        streamClosed = new Promise((resolve) => {
          res.on("close", () => resolve({ bytesWritten: written, ended: res.writableEnded }));
        });
        const pump = () => {
          while (!res.destroyed && written < 50_000_000) {
            written += 16_384;
            if (!res.write(Buffer.alloc(16_384, 0x62))) {
              res.once("drain", pump);
              return;
            }
          }
        };
        pump();
        return;
      }
      case "/hang":
        return;
      case "/away":
        res.writeHead(302, { location: "http://other.test/?api_key=SECRET-LOCATION" });
        res.end();
        return;
      case "/slow-body":
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        return;
      case "/cut":
        res.writeHead(200, { "content-length": "100" });
        res.write("partial", () => req.socket.destroy());
        return;
      case "/reset":
        req.socket.destroy();
        return;
      case "/status":
        res.writeHead(n);
        res.end("status body");
        return;
      default:
        res.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] });
        res.end(
          JSON.stringify({ method: seen.method, url: seen.url, headers: seen.headers, body: seen.body }),
        );
    }
  });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

const url = (path: string) => `http://api.test:${server.port}${path}`;
const get = (c: EgressClient, path: string, extra: Record<string, unknown> = {}) =>
  c.request({ method: "GET", url: url(path), allowedHosts: ["api.test"], ...extra });

describe("egress transport: requests", () => {
  it("sends method, path, query, headers and body; Host is always the URL's host", async () => {
    const res = await client().request({
      method: "post",
      url: url("/echo?q=1&r=two"),
      allowedHosts: ["api.test"],
      headers: {
        "Content-Type": "application/json",
        Authorization: "Bearer t",
        Host: "internal.admin",
        "Content-Length": "9999",
        "Transfer-Encoding": "chunked",
        Connection: "close",
      },
      body: '{"k":"v"}',
    });
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.body.toString()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed.method).toBe("POST");
    expect(echoed.url).toBe("/echo?q=1&r=two");
    expect(echoed.body).toBe('{"k":"v"}');
    expect(echoed.headers.host).toBe(`api.test:${server.port}`);
    expect(echoed.headers["content-length"]).toBe("9");
    expect(echoed.headers["transfer-encoding"]).toBeUndefined();
    expect(echoed.headers.authorization).toBe("Bearer t");
    expect(echoed.headers["content-type"]).toBe("application/json");
    expect(res.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(res.url).toBe(url("/echo?q=1&r=two"));
  });

  it("returns non-2xx statuses as results (the caller decides what a failure is)", async () => {
    const res = await get(client(), "/status?n=503");
    expect(res.status).toBe(503);
    expect(res.body.toString()).toBe("status body");
  });

  it("reuses one keep-alive connection for sequential requests to the same address", async () => {
    const c = client();
    const before = server.connections;
    for (let i = 0; i < 5; i++) expect((await get(c, "/echo")).status).toBe(200);
    expect(server.connections - before).toBe(1);
  });
});

describe("egress transport: response cap", () => {
  it("accepts a body of exactly the cap and refuses one byte more", async () => {
    const c = client();
    expect((await get(c, "/big?n=1000")).body.length).toBe(1000);
    const err = await expectGatewayError(get(c, "/big?n=1001"), "UPSTREAM_ERROR", "response_too_large");
    expect(err.details).toMatchObject({ max_bytes: 1000 });
  });

  it("cuts an endless stream at the cap and destroys the connection", async () => {
    const started = Date.now();
    await expectGatewayError(get(client(), "/stream"), "UPSTREAM_ERROR", "response_too_large");
    expect(Date.now() - started).toBeLessThan(3000);
    const closed = await streamClosed;
    expect(closed.ended).toBe(false);
    expect(closed.bytesWritten).toBeLessThan(50_000_000);
  });

  it("a HEAD answer may declare a length above the cap (it carries no body)", async () => {
    const res = await client().request({
      method: "HEAD",
      url: url("/big?n=5000"),
      allowedHosts: ["api.test"],
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe("5000");
    expect(res.body.length).toBe(0);
  });

  it.each([Number.NaN, 0, -1, 1.5])(
    "refuses the per-request cap %s instead of lifting the cap",
    async (cap) => {
      await expectGatewayError(
        get(client(), "/big?n=10", { maxResponseBytes: cap }),
        "INVALID_ARGUMENTS",
        "bad_response_cap",
      );
    },
  );

  it.each([Number.NaN, 0, -5])("refuses the per-request timeout %s", async (timeoutMs) => {
    await expectGatewayError(get(client(), "/big?n=10", { timeoutMs }), "INVALID_ARGUMENTS", "bad_timeout");
  });

  it("a request may lower the cap but never raise it", async () => {
    const c = client();
    await expectGatewayError(
      get(c, "/big?n=101", { maxResponseBytes: 100 }),
      "UPSTREAM_ERROR",
      "response_too_large",
    );
    await expectGatewayError(
      get(c, "/big?n=1001", { maxResponseBytes: 10_000_000 }),
      "UPSTREAM_ERROR",
      "response_too_large",
    );
  });
});

describe("egress transport: timeouts and failures", () => {
  it("times out a server that never answers (4024)", async () => {
    const started = Date.now();
    const err = await expectGatewayError(
      get(client({ requestTimeoutMs: 300 }), "/hang"),
      "UPSTREAM_TIMEOUT",
      "request_timeout",
    );
    expect(err.sealCode).toBe(4024);
    expect(err.httpStatus).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("times out a body that stalls half-way", async () => {
    await expectGatewayError(
      get(client({ requestTimeoutMs: 300 }), "/slow-body"),
      "UPSTREAM_TIMEOUT",
      "request_timeout",
    );
  });

  it("a request may shorten the timeout but not extend it", async () => {
    const c = client({ requestTimeoutMs: 400 });
    const started = Date.now();
    await expectGatewayError(get(c, "/hang", { timeoutMs: 100 }), "UPSTREAM_TIMEOUT", "request_timeout");
    expect(Date.now() - started).toBeLessThan(380);
    const again = Date.now();
    await expectGatewayError(get(c, "/hang", { timeoutMs: 60_000 }), "UPSTREAM_TIMEOUT", "request_timeout");
    expect(Date.now() - again).toBeLessThan(3000);
  });

  it("counts a hanging DNS resolution against the connect timeout", async () => {
    const hanging = async () => new Promise<string[]>(() => {});
    await expectGatewayError(
      get(client({ resolver: hanging, connectTimeoutMs: 100 }), "/echo"),
      "UPSTREAM_TIMEOUT",
      "connect_timeout",
    );
  });

  it("connection refused is UPSTREAM_ERROR 4020", async () => {
    const closed = await startServer(() => {});
    const port = closed.port;
    await closed.close();
    const err = await expectGatewayError(
      client().request({ method: "GET", url: `http://api.test:${port}/`, allowedHosts: ["api.test"] }),
      "UPSTREAM_ERROR",
      "connection_refused",
    );
    expect(err.sealCode).toBe(4020);
  });

  it("a connection dropped before the response is connection_reset", async () => {
    await expectGatewayError(get(client(), "/reset"), "UPSTREAM_ERROR", "connection_reset");
  });

  it("a body cut short is incomplete_response", async () => {
    await expectGatewayError(get(client(), "/cut"), "UPSTREAM_ERROR", "incomplete_response");
  });

  it("the caller's signal aborts the request; a GatewayError reason is passed through", async () => {
    const c = client();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expectGatewayError(get(c, "/hang", { signal: controller.signal }), "UPSTREAM_ERROR", "aborted");
    const revoked = new GatewayError("SESSION_INACTIVE", "session revoked", { reason: "session_revoked" });
    await expect(get(c, "/hang", { signal: AbortSignal.abort(revoked) })).rejects.toBe(revoked);
  });
});

describe("egress errors never carry secrets", () => {
  const headers = { authorization: "Bearer SECRET-HEADER-2", "x-api-key": "SECRET-HEADER-3" };

  it.each([
    ["a refused host", "evil.test", "/", []],
    ["a refused address", "127.0.0.1", "/", []],
    ["a timeout", "api.test", "/hang", ["127.0.0.0/8"]],
    ["an oversized response", "api.test", "/stream", ["127.0.0.0/8"]],
    ["a cross-origin redirect", "api.test", "/away", ["127.0.0.0/8"]],
    ["an invalid header", "api.test", "/", ["127.0.0.0/8"]],
  ])("for %s", async (label, host, path, allowNetworks) => {
    const c = client({ allowNetworks, requestTimeoutMs: 200 });
    const sent =
      label === "an invalid header" ? { ...headers, "x-api-key": "SECRET-HEADER-3\u0000" } : headers;
    const err = await c
      .request({
        method: "GET",
        url: `http://${host}:${server.port}${path}?api_key=SECRET-QUERY-1&x=y`,
        allowedHosts: ["api.test", "127.0.0.1"],
        headers: sent,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GatewayError);
    const gw = err as GatewayError;
    const visible = JSON.stringify({ message: gw.message, details: gw.details, stack: gw.stack });
    expect(visible).not.toContain("SECRET");
    expect(visible).not.toContain("api_key");
  });
});
