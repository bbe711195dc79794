/**
 * POST /mcp in-process (DESIGN §7), with the official SDK client for the protocol paths and raw
 * requests for what a client library would never send. Every refusal answers clearly, leaves
 * an audit row when a call was attempted, and runs nothing.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putContext, type SessionAgent, sessionAgent, testTool } from "../authorization/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { envelopeParams, mcpClient } from "./support.js";

const URL_ = "http://127.0.0.1/mcp";
const ACCEPT = "application/json, text/event-stream";

function rpc(t: TestGateway, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) {
  return t.request(URL_, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: ACCEPT,
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text: string }>;
};

describe.each(BACKENDS)("POST /mcp (%s)", (backend) => {
  let t: TestGateway;
  let a: SessionAgent;
  let b: SessionAgent;
  let client: Client;
  const hidden = testTool("ops.hidden");
  const risky = testTool("ops.risky");
  const now = () => new Date(t.clock.nowMs());
  const fetchApp: typeof fetch = async (url, init) => await t.gw.app.request(String(url), init);

  async function events(query: string) {
    const res = await t.request(`/v1/events?${query}&limit=100`, {
      headers: { authorization: `Bearer ${t.adminToken()}` },
    });
    return ((await res.json()) as { items: Array<Record<string, unknown>> }).items;
  }

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      {
        tools: [
          {
            lookup: async (_t, n) => [hidden, risky].find((x) => x.name === n) ?? null,
            list: async () => [hidden, risky],
          },
        ],
      },
    );
    await putContext(t, {
      name: "mcp-ctx",
      capabilities: [
        { tool_pattern: "system.*" },
        { tool_pattern: "ops.hidden" },
        { tool_pattern: "ops.risky", approval: "required" },
      ],
      visible_tools: ["system.*", "ops.risky"],
    });
    a = await sessionAgent(t, { context: "mcp-ctx" });
    b = await sessionAgent(t, { context: "mcp-ctx" });
    client = await mcpClient({ url: URL_, token: a.token, fetch: fetchApp });
  });
  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it("initializes, pings and lists the visible tools only, schemas inlined, with hints", async () => {
    expect(client.getServerVersion()?.name).toBe("seal-gateway");
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    await client.ping();
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(["ops.risky", "system.echo", "system.whoami"]);
    const whoami = tools.find((x) => x.name === "system.whoami");
    expect(whoami?.annotations?.readOnlyHint).toBe(true);
    expect(whoami?.outputSchema?.type).toBe("object");
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(JSON.stringify(tool.inputSchema)).not.toContain("$ref");
    }
  });

  it("runs a signed call through the pipeline: text and structuredContent, audited as on /v1/invoke", async () => {
    const r = (await client.callTool(
      envelopeParams(a, "system.echo", { n: 1, s: "x" }, { now: now() }),
    )) as ToolResult;
    expect(r.isError).toBe(false);
    expect(r.structuredContent).toEqual({ n: 1, s: "x" });
    expect(JSON.parse(r.content[0]?.text ?? "")).toEqual({ n: 1, s: "x" });
    const who = (await client.callTool(envelopeParams(a, "system.whoami", {}, { now: now() }))) as ToolResult;
    expect(who.structuredContent?.agent_id).toBe(a.sub);
    const rows = await events(`execution_id=${a.executionId}&tool=system.echo`);
    expect(rows.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(["ToolCallAuthorized", "ToolCallCompleted"]),
    );
  });

  it("keeps the signed number literals: the body is parsed once, strictly", async () => {
    const params = envelopeParams(a, "system.echo", { v: 1 }, { now: now() });
    const env = params._meta["seal/envelope"];
    // Re-sign over a literal JSON.parse would change (1.0), then send it verbatim.
    const { signEnvelope, toolCallPayload } = await import("../../src/sdk/envelope.js");
    const payload = toolCallPayload({ name: "system.echo", arguments: { v: 1 }, id: "lit-1" });
    const signed = signEnvelope({
      securityToken: a.token,
      payload,
      privateKeyB64: a.privateKeyB64,
      now: now(),
    });
    const withLiteral = signed.body.replace('"arguments":{"v":1}', '"arguments":{"v":1.0}');
    expect(env).toBeDefined();
    // The signature covers 1 here, so 1.0 must fail the signature — proving the literal reached it.
    const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"system.echo","arguments":{"v":1.0},"_meta":{"seal/envelope":${withLiteral}}}}`;
    const res = await rpc(t, body, { token: a.token });
    const out = (await res.json()) as { result: ToolResult };
    expect(out.result.isError).toBe(true);
    expect(out.result.structuredContent?.code).toBe(1002);
  });

  it("refuses a call without an envelope (1000 missing_envelope), audited, nothing run", async () => {
    const r = (await client.callTool({ name: "ops.hidden", arguments: {} })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ code: 1000, details: { reason: "missing_envelope" } });
    expect(r.content[0]?.text).toContain("SEAL 1000 MALFORMED_ENVELOPE (reason: missing_envelope)");
    expect(hidden.runs).toHaveLength(0);
    const rows = await events(`execution_id=${a.executionId}&type=EnvelopeRejected`);
    expect(rows.some((e) => (e.payload as { reason?: string }).reason === "missing_envelope")).toBe(true);
  });

  it.each([
    ["tool name", { signed: { name: "system.whoami" } }, "name_mismatch"],
    ["arguments", { signed: { args: { n: 2 } } }, "arguments_mismatch"],
    [
      "approval id",
      { meta: { approval_id: "apr_x" }, signed: { meta: { approval_id: "apr_y" } } },
      "approval_id_mismatch",
    ],
    [
      "approval id left out of the call",
      { signed: { meta: { approval_id: "apr_y" } } },
      "approval_id_mismatch",
    ],
  ])(
    "refuses an envelope whose %s differs from the call (1000), audited, nothing run",
    async (_n, opts, reason) => {
      const r = (await client.callTool(
        envelopeParams(a, "ops.hidden", { n: 1 }, { now: now(), ...opts }),
      )) as ToolResult;
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject({ code: 1000, details: { reason } });
      expect(hidden.runs).toHaveLength(0);
      const rows = await events(`execution_id=${a.executionId}&type=EnvelopeRejected`);
      expect(rows.some((e) => (e.payload as { reason?: string }).reason === reason)).toBe(true);
    },
  );

  it("refuses another agent's envelope under this Bearer token (token_mismatch)", async () => {
    const r = (await client.callTool(envelopeParams(b, "ops.hidden", {}, { now: now() }))) as ToolResult;
    expect(r.structuredContent).toMatchObject({ code: 1000, details: { reason: "token_mismatch" } });
    expect(hidden.runs).toHaveLength(0);
  });

  it("refuses a replayed envelope (1003 replay) and a malformed one (1000 from the pipeline)", async () => {
    const params = envelopeParams(a, "system.echo", { k: 1 }, { now: now() });
    expect(((await client.callTool(params)) as ToolResult).isError).toBe(false);
    const again = (await client.callTool(params)) as ToolResult;
    expect(again.structuredContent).toMatchObject({ code: 1003, details: { reason: "replay" } });
    const bad = envelopeParams(a, "system.echo", {}, { now: now() });
    const env = { ...bad._meta["seal/envelope"], signature: 42 };
    const r = (await client.callTool({ ...bad, _meta: { "seal/envelope": env } })) as ToolResult;
    expect(r.structuredContent).toMatchObject({ code: 1000, details: { reason: "bad_field:signature" } });
  });

  it("a tool hidden by visible_tools still runs when the context allows it (showing is not allowing)", async () => {
    const r = (await client.callTool(
      envelopeParams(a, "ops.hidden", { z: true }, { now: now() }),
    )) as ToolResult;
    expect(r.isError).toBe(false);
    expect(hidden.runs).toHaveLength(1);
  });

  it("a refused tool answers isError with the SEAL code (2006), nothing run", async () => {
    const r = (await client.callTool(envelopeParams(a, "nope.tool", {}, { now: now() }))) as ToolResult;
    expect(r.structuredContent).toMatchObject({ code: 2006 });
    expect(r.content[0]?.text).toMatch(/^SEAL 2006 NO_MATCHING_CAPABILITY/);
  });

  it("escalates as a pending tool error; the agent reads its own approval's status, others get 404", async () => {
    const r = (await client.callTool(
      envelopeParams(a, "ops.risky", { amount: 5 }, { now: now() }),
    )) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ status: "pending", approval_id: expect.any(String) });
    const id = String(r.structuredContent?.approval_id);
    const own = await t.request(`/v1/seal/approvals/${id}`, {
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(own.status).toBe(200);
    const view = (await own.json()) as Record<string, unknown>;
    expect(Object.keys(view).sort()).toEqual(["approval_id", "expires_at", "status"]);
    expect(view.status).toBe("pending");
    for (const [token, path] of [
      [b.token, id],
      [a.token, "apr_unknown"],
    ] as const) {
      const res = await t.request(`/v1/seal/approvals/${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(404);
    }
    expect((await t.request(`/v1/seal/approvals/${id}`)).status).toBe(401);
    const ok = await t.request(
      `/v1/approvals/${id}/approve`,
      jsonInit("POST", {}, t.operatorToken("approver")),
    );
    expect(ok.status).toBe(200);
    const redeemed = (await client.callTool(
      envelopeParams(a, "ops.risky", { amount: 5 }, { now: now(), meta: { approval_id: id } }),
    )) as ToolResult;
    expect(redeemed.isError).toBe(false);
    expect(risky.runs).toHaveLength(1);
  });

  it.each([
    ["no token", undefined, "missing_token"],
    ["a garbage token", "garbage", "bad_token"],
  ])("answers 401 with WWW-Authenticate for %s", async (_n, token, reason) => {
    const res = await rpc(t, { jsonrpc: "2.0", id: 1, method: "tools/list" }, token ? { token } : {});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="seal-gateway"/);
    const body = (await res.json()) as { error: { data: { details: { reason: string } } } };
    expect(body.error.data.details.reason).toBe(reason);
  });

  it("answers 401 token_expired for an expired token", async () => {
    t.clock.advance(2 * 3600_000);
    try {
      const res = await rpc(t, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { token: a.token });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    } finally {
      t.clock.advance(-2 * 3600_000);
    }
  });

  it("refuses GET and DELETE (405), a foreign Origin or Host (403)", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await t.request(URL_, {
        method,
        headers: { authorization: `Bearer ${a.token}`, accept: ACCEPT },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
    }
    const list = { jsonrpc: "2.0", id: 1, method: "tools/list" };
    const origin = await rpc(t, list, { token: a.token, headers: { origin: "https://evil.example" } });
    expect(origin.status).toBe(403);
    const host = await t.request("http://evil.example/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT, authorization: `Bearer ${a.token}` },
      body: JSON.stringify(list),
    });
    expect(host.status).toBe(403);
  });

  it("answers notifications 202 without a body, unknown methods -32601", async () => {
    const note = await rpc(t, { jsonrpc: "2.0", method: "notifications/initialized" }, { token: a.token });
    expect(note.status).toBe(202);
    expect(await note.text()).toBe("");
    const unknown = await rpc(t, { jsonrpc: "2.0", id: 3, method: "resources/list" }, { token: a.token });
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32601);
  });

  it("refuses malformed, duplicate-key, too deep, batched and oversized bodies before the SDK", async () => {
    const cases: Array<[string, number, string]> = [
      ["{", 400, "malformed_json"],
      ['{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}', 400, "malformed_json"],
      [`${"[".repeat(80)}${"]".repeat(80)}`, 400, "too_deep"],
      ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 400, "batch_not_supported"],
      [
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(1_100_000) } }),
        413,
        "body_too_large",
      ],
    ];
    for (const [body, status, reason] of cases) {
      const res = await rpc(t, body, { token: a.token });
      expect(res.status, reason).toBe(status);
      const out = (await res.json()) as { error: { data: { details: { reason: string } } } };
      expect(out.error.data.details.reason).toBe(reason);
    }
    const rows = await events(`execution_id=${a.executionId}&type=McpRequestRejected`);
    expect(rows.map((e) => (e.payload as { reason: string }).reason)).toEqual(
      expect.arrayContaining(["malformed_json", "too_deep", "batch_not_supported", "body_too_large"]),
    );
  });
});
