import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, generateKeyPair, SealClientError } from "../../src/sdk/index.js";
import { gatewayVerify } from "./gateway-verify.js";

const keys = generateKeyPair();
const TOKEN = "h.p.s";

interface Captured {
  url: string;
  init: RequestInit;
}

function fakeFetch(status: number, responseBody: string, captured: Captured[] = []): typeof fetch {
  return async (input, init) => {
    captured.push({ url: String(input), init: init ?? {} });
    return new Response(responseBody, { status, headers: { "content-type": "application/json" } });
  };
}

const success = {
  protocol: "seal/v1",
  status: "success",
  result: { ok: true },
  payload: {
    jsonrpc: "2.0",
    id: "req-1",
    result: {
      content: [{ type: "text", text: '{"ok":true}' }],
      structuredContent: { ok: true },
      isError: false,
    },
  },
  request_id: "req-1",
  call_id: "call_1",
  event_id: "evt_1",
};

describe("callTool with an injected fetch", () => {
  it("POSTs a signed envelope to /v1/invoke and returns the parsed response", async () => {
    const captured: Captured[] = [];
    const result = await callTool({
      url: "http://gateway.test:8089//",
      securityToken: TOKEN,
      privateKeyB64: keys.privateKeyB64,
      name: "demo.tool",
      arguments: { q: "x", n: 1.5 },
      id: "req-1",
      meta: { approval_id: "apr_1" },
      fetch: fakeFetch(200, JSON.stringify(success), captured),
    });
    expect(result).toEqual({ httpStatus: 200, response: success, requestId: "req-1" });
    expect(captured).toHaveLength(1);
    const [call] = captured;
    expect(call?.url).toBe("http://gateway.test:8089/v1/invoke");
    expect(call?.init.method).toBe("POST");
    expect(new Headers(call?.init.headers).get("content-type")).toBe("application/json");
    const body = String(call?.init.body);
    expect(gatewayVerify(body, keys.publicKeyB64).ok).toBe(true);
    expect(JSON.parse(body).payload).toEqual({
      jsonrpc: "2.0",
      id: "req-1",
      method: "tools/call",
      params: { name: "demo.tool", arguments: { n: 1.5, q: "x" }, _meta: { approval_id: "apr_1" } },
    });
  });

  it("returns gateway errors and pending approvals as values", async () => {
    const error = {
      protocol: "seal/v1",
      status: "error",
      error: {
        code: 1002,
        message: "signature mismatch",
        timestamp: "t",
        request_id: null,
        details: { reason: "signature_mismatch" },
      },
    };
    const base = { url: "http://g", securityToken: TOKEN, privateKeyB64: keys.privateKeyB64, name: "t" };
    const failed = await callTool({ ...base, fetch: fakeFetch(401, JSON.stringify(error)) });
    expect(failed.httpStatus).toBe(401);
    expect(failed.response).toEqual(error);

    const pending = {
      protocol: "seal/v1",
      status: "pending",
      approval_id: "apr_2",
      request_id: "r",
      expires_at: "t",
    };
    const waiting = await callTool({ ...base, fetch: fakeFetch(202, JSON.stringify(pending)) });
    expect(waiting).toMatchObject({ httpStatus: 202, response: { status: "pending", approval_id: "apr_2" } });
  });

  for (const [name, status, text] of [
    ["an HTML error page", 502, "<html>bad gateway</html>"],
    ["an empty body", 500, ""],
    ["JSON that is not SEAL", 200, '{"ok":true}'],
    ["another protocol", 200, '{"protocol":"seal/v2","status":"success"}'],
    ["an unknown status", 200, '{"protocol":"seal/v1","status":"maybe"}'],
    ["null", 200, "null"],
  ] as const) {
    it(`throws bad_response for ${name}`, async () => {
      const call = callTool({
        url: "http://g",
        securityToken: TOKEN,
        privateKeyB64: keys.privateKeyB64,
        name: "t",
        fetch: fakeFetch(status, text),
      });
      await expect(call).rejects.toThrow(SealClientError);
      await expect(call).rejects.toMatchObject({ code: "bad_response" });
    });
  }

  it("refuses bad input before sending anything", async () => {
    const captured: Captured[] = [];
    const call = callTool({
      url: "http://g",
      securityToken: TOKEN,
      privateKeyB64: "short",
      name: "t",
      fetch: fakeFetch(200, "{}", captured),
    });
    await expect(call).rejects.toMatchObject({ code: "invalid_input" });
    expect(captured).toHaveLength(0);
  });
});

describe("callTool over real HTTP on loopback", () => {
  const received: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push(`${req.method} ${req.url}`);
      const ok = gatewayVerify(body, keys.publicKeyB64).ok;
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? success : { protocol: "seal/v1", status: "error", error: { code: 1002 } }));
    });
  });
  let url = "";

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("the server verifies what the SDK sent", async () => {
    const result = await callTool({
      url,
      securityToken: TOKEN,
      privateKeyB64: keys.privateKeyB64,
      name: "t",
      arguments: { big: 1e300 },
    });
    expect(result.httpStatus).toBe(200);
    expect(result.response.status).toBe("success");
    expect(received).toEqual(["POST /v1/invoke"]);
  });

  it("a key the server does not know is refused", async () => {
    const other = generateKeyPair();
    const result = await callTool({
      url,
      securityToken: TOKEN,
      privateKeyB64: other.privateKeyB64,
      name: "t",
    });
    expect(result.httpStatus).toBe(401);
    expect(result.response.status).toBe("error");
  });
});
