/**
 * Row 1 over a real socket (the node adapter): a declared Content-Length over
 * server.body_limit_bytes and a chunked body that grows past it are both 413; a chunked body
 * under the limit is read whole. The audit row names the real peer address.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { sessionAgent } from "./agents.js";
import { eventsSince, expectPolicyDenied, expectRejected, maxSeq, uid } from "./helpers.js";

const LIMIT = 4096;

/** A body sent with Content-Length, or chunked (no length) in pieces of `chunk` bytes. */
type Outgoing = { text: string; chunk?: number };

/**
 * One request on its own connection (node:http, no agent): after a 413 the server may drop a
 * connection whose body it did not read, which a pooled client would trip over.
 */
function post(port: number, out: Outgoing): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (out.chunk === undefined) headers["content-length"] = String(Buffer.byteLength(out.text));
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/v1/invoke", agent: false, headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server may answer and close before the whole body went out; the answer still counts.
    req.on("error", reject);
    const size = out.chunk ?? out.text.length;
    for (let off = 0; off < out.text.length; off += size) req.write(out.text.slice(off, off + size));
    req.end();
  });
}

describe.each(BACKENDS)("body limit over a real socket (%s)", (backend) => {
  let t: TestGateway;
  let server: ServerType;
  let port = 0;
  beforeAll(async () => {
    t = await startTestGateway(backend, { SEAL_GATEWAY_SERVER_BODY_LIMIT_BYTES: String(LIMIT) });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: t.gw.app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
  });

  async function send(out: Outgoing) {
    const before = await maxSeq(t);
    const res = await post(port, out);
    const json = JSON.parse(res.text) as { error: { code: number; details: { reason: string } } };
    return { status: res.status, json, rows: await eventsSince(t, before) };
  }

  async function paddedTo(size: number) {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const len = envelopeBody(t, agent, "demo.tool", { pad: "" }, { id }).length;
    const body = envelopeBody(t, agent, "demo.tool", { pad: "p".repeat(size - len) }, { id });
    expect(body.length).toBe(size);
    return { agent, body };
  }

  it("Content-Length and chunked bodies over the limit are 413 body_too_large, audited under the peer address", async () => {
    expect(t.config.server.body_limit_bytes).toBe(LIMIT);
    const { body } = await paddedTo(LIMIT + 1);
    for (const sent of [
      { text: body },
      { text: body, chunk: 500 },
      { text: body + "x".repeat(100_000), chunk: 1024 },
    ]) {
      const r = await send(sent);
      expect([r.status, r.json.error.code, r.json.error.details.reason]).toEqual([
        413,
        1000,
        "body_too_large",
      ]);
      expect(r.rows.map((row) => [row.eventType, row.tenantId, row.stage, row.code])).toEqual([
        ["EnvelopeRejected", "system", "parse", 1000],
      ]);
      expect(JSON.parse(r.rows[0]?.payload ?? "{}").source).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    }
  });

  it("bodies of exactly the limit pass, whether sized or chunked", async () => {
    for (const mode of ["sized", "chunked"] as const) {
      const { agent, body } = await paddedTo(LIMIT);
      const r = await send(mode === "sized" ? { text: body } : { text: body, chunk: 333 });
      expect([r.status, r.json.error.code]).toEqual([403, 2006]);
      expect(r.rows.map((row) => [row.eventType, row.tenantId, row.agentId])).toEqual([
        ["PolicyDenied", "default", agent.sub],
      ]);
    }
  });

  it("the in-process transport applies the same limit", async () => {
    const big = await paddedTo(LIMIT + 1);
    await expectRejected(t, big.body, {
      status: 413,
      code: 1000,
      reason: "body_too_large",
      stage: "parse",
      tenant: "system",
    });
    const ok = await paddedTo(LIMIT);
    await expectPolicyDenied(t, ok.body, { tenant: "default", agentId: ok.agent.sub });
  });
});
