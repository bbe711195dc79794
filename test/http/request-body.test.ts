/**
 * readIncomingLimited (the node adapter's body read on the call path) over a real socket: the
 * same answers as the Web-stream read for sized, chunked, empty and oversized bodies, and a
 * peer that goes away mid-body ends the read with an error instead of leaving it waiting.
 */
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readIncomingLimited } from "../../src/request-body.js";

const LIMIT = 64;
type Outcome = { body: string | null; tooLarge: boolean } | { error: string };

let server: Server;
let port: number;
const outcomes: Outcome[] = [];
let onOutcome: (() => void) | null = null;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    readIncomingLimited(req, LIMIT).then(
      (r) => {
        outcomes.push({ body: r.body ? Buffer.from(r.body).toString("utf8") : null, tooLarge: r.tooLarge });
        onOutcome?.();
        res.writeHead(r.tooLarge ? 413 : 200, r.tooLarge ? { connection: "close" } : {});
        res.end(r.body ? Buffer.from(r.body) : "");
      },
      (err: Error) => {
        outcomes.push({ error: err.message });
        onOutcome?.();
        res.destroy();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function send(
  chunks: string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/", headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe("readIncomingLimited", () => {
  it("reads a sized body, a chunked one in several pieces, and an empty one", async () => {
    expect(await send(["hello"], { "content-length": "5" })).toEqual({ status: 200, body: "hello" });
    expect(await send(["a".repeat(30), "b".repeat(34)])).toEqual({
      status: 200,
      body: "a".repeat(30) + "b".repeat(34),
    });
    expect(await send([], { "content-length": "0" })).toEqual({ status: 200, body: "" });
  });

  it("refuses a declared length over the limit before reading, and a chunked body the moment it passes", async () => {
    const big = "x".repeat(LIMIT + 1);
    expect(
      (await send([big], { "content-length": String(big.length) }).catch(() => ({ status: 413 }))).status,
    ).toBe(413);
    expect((await send(["y".repeat(40), "z".repeat(40)]).catch(() => ({ status: 413 }))).status).toBe(413);
    expect(outcomes.slice(-2)).toEqual([
      { body: null, tooLarge: true },
      { body: null, tooLarge: true },
    ]);
  });

  it("ends with an error when the peer goes away mid-body", async () => {
    const seen = new Promise<void>((r) => {
      onOutcome = r;
    });
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/",
      headers: { "content-length": "50" },
      agent: false,
    });
    req.on("error", () => undefined);
    req.write("only part of it");
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await seen;
    onOutcome = null;
    expect(outcomes.at(-1)).toMatchObject({ error: expect.any(String) });
  });
});
