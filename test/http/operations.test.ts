import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearer, expectError, expectJson } from "./support.js";

const BODY_LIMIT = 2048;

/** A valid session body padded with allowed_tool_patterns to exactly `size` bytes of JSON. */
function sessionBodyOfSize(size: number): string {
  const base = {
    sub: "big",
    security_context_name: "default",
    public_key_b64: generateKeyPair().publicKeyB64,
  };
  const patterns: string[] = [];
  const text = () => JSON.stringify({ ...base, allowed_tool_patterns: patterns });
  for (let room = size - text().length; room > 0; room = size - text().length) {
    // A new item costs its length plus quotes (and a comma after the first); items stay <= 256.
    const cost = patterns.length === 0 ? 2 : 3;
    if (room > cost + 200) patterns.push("a".repeat(200));
    else if (room > cost) patterns.push("a".repeat(room - cost));
    else patterns[patterns.length - 1] += "a".repeat(room);
  }
  if (text().length !== size) throw new Error(`cannot pad to ${size}`);
  return text();
}

describe.each(BACKENDS)("operations and request hygiene (%s)", (backend) => {
  let t: TestGateway;
  let admin: string;
  beforeAll(async () => {
    t = await startTestGateway(backend, {
      SEAL_GATEWAY_SERVER_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      SEAL_GATEWAY_SERVER_MAX_DEPTH: "8",
    });
    admin = t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("GET /health and GET /ready answer 200 without a token", async () => {
    expect(await expectJson(await t.request("/health"), 200)).toEqual({ status: "ok" });
    expect(await expectJson(await t.request("/ready"), 200)).toEqual({ status: "ready", database: backend });
  });

  it("unknown routes and methods answer 404 with the error body", async () => {
    // A GET of any other extension-less path is the web console's (index.html, DESIGN §7 "Web
    // UI at /"; test/http/console-static.test.ts); file names and other methods stay 404.
    for (const [method, path] of [
      ["GET", "/nope.json"],
      ["POST", "/nope"],
      ["GET", "/v1/nope"],
      ["POST", "/v1/events"],
      ["PUT", "/v1/seal/sessions"],
      ["GET", "/v1/seal/sessions/a/b"],
    ] as const) {
      const res = await t.request(path, { method, headers: bearer(admin) });
      const err = await expectError(res, 404, "no_route");
      expect(err.error.code).toBe(4004);
    }
  });

  it("refuses an oversized control-plane body with 413, streamed or declared", async () => {
    const streamed = await t.request(
      "/v1/seal/sessions",
      jsonInit("POST", sessionBodyOfSize(BODY_LIMIT + 1), admin),
    );
    await expectError(streamed, 413, "body_too_large");
    const huge = await t.request(
      "/v1/agent-keys",
      jsonInit("POST", JSON.stringify({ sub: "x".repeat(100_000) }), admin),
    );
    await expectError(huge, 413, "body_too_large");
    const declared = await t.request("/v1/seal/sessions", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(BODY_LIMIT * 10),
        ...bearer(admin),
      },
      body: "{}",
    });
    await expectError(declared, 413, "body_too_large");
  });

  it("accepts a body of exactly the limit", async () => {
    const body = sessionBodyOfSize(BODY_LIMIT);
    expect(Buffer.byteLength(body)).toBe(BODY_LIMIT);
    await expectJson(await t.request("/v1/seal/sessions", jsonInit("POST", body, admin)), 201);
  });

  it("refuses an oversized envelope on the agent plane with 413", async () => {
    const res = await t.request("/v1/invoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(BODY_LIMIT + 1),
    });
    expect(res.status).toBe(413);
  });

  it("refuses malformed JSON with 400 and a reason", async () => {
    const cases = [
      "{",
      "{'a':1}",
      '{"sub":}',
      "[1,2",
      "\u0000",
      '{"a":1} trailing',
      '{"a":NaN}',
      '{"sub":"a","sub":"b"}',
      "[[[[[[[[[[[[1]]]]]]]]]]]]",
      '{"a":"\\ud800"}',
    ];
    for (const raw of cases) {
      const err = await expectError(await t.request("/v1/seal/sessions", jsonInit("POST", raw, admin)), 400);
      expect(err.error.message, raw).toMatch(/JSON|invalid/i);
    }
    const notJson = await expectError(await t.request("/v1/agent-keys", jsonInit("POST", "", admin)), 400);
    expect(notJson.error.code).toBe(4000);
  });

  it("refuses JSON nested deeper than server.max_depth", async () => {
    const deep = `{"sub":"a","label":${"[".repeat(20)}${"]".repeat(20)}}`;
    await expectError(await t.request("/v1/agent-keys", jsonInit("POST", deep, admin)), 400);
  });

  it("never leaks internals in an error body", async () => {
    const res = await t.request("/v1/seal/sessions", jsonInit("POST", '{"sub":', admin));
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toMatch(/at .*\.ts:\d+|node_modules|SELECT|INSERT|stack/i);
  });
});

describe.each(BACKENDS)("readiness when the database is gone (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("/ready answers 503, /health stays 200, and the control plane fails closed with 5030", async () => {
    const admin = t.adminToken();
    await expectJson(await t.request("/ready"), 200);
    await t.gw.store.close();

    expect(await expectJson(await t.request("/ready"), 503)).toEqual({
      status: "unavailable",
      database: backend,
    });
    await expectJson(await t.request("/health"), 200);

    const list = await expectError(
      await t.request("/v1/events", { headers: bearer(admin) }),
      503,
      "unavailable",
    );
    expect(list.error.code).toBe(5030);
    const create = await expectError(
      await t.request(
        "/v1/seal/sessions",
        jsonInit(
          "POST",
          { sub: "a", security_context_name: "default", public_key_b64: generateKeyPair().publicKeyB64 },
          admin,
        ),
      ),
      503,
      "unavailable",
    );
    expect(create.error.message).not.toMatch(/sql|sqlite|postgres|connection/i);
  });
});
