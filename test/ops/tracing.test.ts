/**
 * OpenTelemetry traces (docs/operations.md "Traces"), exported to a real OpenTelemetry Collector
 * (scripts/otelcol.sh) that forwards what it accepted to the test: a server span per call route,
 * continued from the caller's W3C `traceparent`; a span per pipeline stage under it; the REST
 * upstream request a child of `execute`, its `traceparent` naming the same trace; refusals with
 * their SEAL code and error status; malformed trace context ignored; nothing of an argument or a
 * credential anywhere in the export; and with tracing off, nothing exported or propagated.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putContext, type SessionAgent, sessionAgent } from "../authorization/support.js";
import { call as grpcCall, md, startGrpc } from "../grpc/support.js";
import { envelopeParams, mcpClient } from "../mcp/support.js";
import {
  createWorkflow,
  LOOPBACK_ALLOWED,
  oneStep,
  postJson,
  type RestEnv,
  registerBilling,
  startRestEnv,
} from "../rest-tools/support.js";
import { envelopeBody, type TestGateway } from "../support/gateway.js";
import type { RecordedRequest } from "../support/upstream.js";
import { type Collector, type OtlpSpan, startCollector } from "./otlp-support.js";

const SECRET = "sk-trace-credential-9f3a7c51d2";
const ARGUMENT = "trace-argument-4b1e@example.com";
const CALLER_SPAN = "00f067aa0ba902b7";
const TRACE = {
  invoke: "4bf92f3577b34da6a3ce929d0e0e4736",
  denied: "5cf92f3577b34da6a3ce929d0e0e4737",
  parse: "6df92f3577b34da6a3ce929d0e0e4738",
  mcp: "7ef92f3577b34da6a3ce929d0e0e4739",
  grpc: "8ff92f3577b34da6a3ce929d0e0e4740",
};
const parent = (trace: string) => `00-${trace}-${CALLER_SPAN}-01`;
const CALLER_STATE = "callervendor=opaque-caller-state";

/** Malformed or unusable trace contexts: each is ignored (a new trace), never an error. */
const MALFORMED = [
  "garbage",
  `00-${TRACE.invoke.toUpperCase()}-${CALLER_SPAN}-01`,
  `00-${"0".repeat(32)}-${CALLER_SPAN}-01`,
  `00-${TRACE.invoke}-${"0".repeat(16)}-01`,
  `ff-${TRACE.invoke}-${CALLER_SPAN}-01`,
  `00-${TRACE.invoke}-${CALLER_SPAN}-01, 00-${TRACE.denied}-${CALLER_SPAN}-01`,
  `00-${TRACE.invoke}-${CALLER_SPAN}-01-extra`,
  `${parent(TRACE.invoke)}${"0".repeat(4096)}`,
];

/** Every attribute key a span may carry (src/tracing/attributes.ts). */
const DOCUMENTED = new Set([
  "http.request.method",
  "http.route",
  "http.response.status_code",
  "rpc.method",
  "error.type",
  "seal.transport",
  "seal.call_id",
  "seal.tool.kind",
  "seal.call.status",
  "seal.call.stage",
  "seal.code",
  "seal.stage",
  "seal.container.outcome",
]);

const STAGES = [
  "parse",
  "shape",
  "authenticate",
  "authorize",
  "lookup",
  "authorize-after-lookup",
  "arguments",
  "redeem",
  "execute",
  "cap",
];

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

async function send(t: TestGateway, body: string, headers: Record<string, string> = {}) {
  const res = await t.request("/v1/invoke", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as { call_id?: string; error?: { code: number } } };
}

async function toolEnv(extra: Record<string, string>): Promise<{ env: RestEnv; agent: SessionAgent }> {
  const env = await startRestEnv("sqlite", { ...LOOPBACK_ALLOWED, ...extra });
  const { t } = env;
  const put = await postJson(t, "/v1/secrets/trace/token", { value: SECRET }, t.adminToken(), "PUT");
  expect(put.status, put.text).toBe(201);
  const spec = await registerBilling(env, "billing", {
    credential_path: { StaticRef: { key: "trace/token" } },
  });
  await createWorkflow(
    t,
    oneStep(spec.id, "billing.find", {
      operation_id: "searchCustomers",
      query_params: { email: "{{input.email}}" },
    }),
  );
  await putContext(t, {
    name: "trace-ctx",
    deny_list: ["billing.denied"],
    capabilities: [{ tool_pattern: "billing.*" }],
  });
  return { env, agent: await sessionAgent(t, { context: "trace-ctx" }) };
}

const upstreamCalls = (env: RestEnv): RecordedRequest[] =>
  env.up.requests.filter((r) => r.path === "/customers");

describe("traces exported over OTLP/HTTP to a collector", () => {
  let collector: Collector;
  let env: RestEnv;
  let spans: OtlpSpan[];
  let malformedCallIds: string[];
  let plainCallId: string;
  const service = "seal-test-traced";

  beforeAll(async () => {
    collector = await startCollector();
    const made = await toolEnv({
      SEAL_GATEWAY_TRACING_ENABLED: "true",
      SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: collector.endpoint,
      SEAL_GATEWAY_TRACING_SERVICE_NAME: service,
    });
    env = made.env;
    const { t } = env;
    const agent = made.agent;
    const args = { email: ARGUMENT };

    const ok = await send(t, envelopeBody(t, agent, "billing.find", args), {
      traceparent: parent(TRACE.invoke),
      tracestate: CALLER_STATE,
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const denied = await send(t, envelopeBody(t, agent, "billing.denied", args), {
      traceparent: parent(TRACE.denied),
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error?.code).toBe(2001);
    const garbage = await send(t, `{"not json ${ARGUMENT}`, { traceparent: parent(TRACE.parse) });
    expect(garbage.status).toBe(400);
    malformedCallIds = [];
    for (const header of MALFORMED) {
      const r = await send(t, envelopeBody(t, agent, "billing.find", args), { traceparent: header });
      expect(r.status, header.slice(0, 80)).toBe(200);
      malformedCallIds.push(String(r.body.call_id));
    }
    const plain = await send(t, envelopeBody(t, agent, "billing.find", args));
    expect(plain.status).toBe(200);
    plainCallId = String(plain.body.call_id);

    const client = await mcpClient({
      url: "http://127.0.0.1/mcp",
      token: agent.token,
      fetch: async (url, init) => await t.gw.app.request(String(url), init),
      headers: { traceparent: parent(TRACE.mcp) },
    });
    const mcp = (await client.callTool(
      envelopeParams(agent, "billing.find", args, { now: new Date(t.clock.nowMs()) }),
    )) as { isError?: boolean };
    expect(mcp.isError, JSON.stringify(mcp)).toBeFalsy();
    await client.close();

    const grpc = await startGrpc(t);
    const invoked = await grpcCall(
      grpc.clients.GatewayInvocationService,
      "InvokeWorkflow",
      { execution_id: agent.executionId, workflow_name: "billing.find", input_json: JSON.stringify(args) },
      md({
        "x-seal-envelope": envelopeBody(t, agent, "billing.find", args),
        traceparent: parent(TRACE.grpc),
      }),
    );
    expect(invoked.ok, JSON.stringify(invoked)).toBe(true);
    await grpc.close();

    // Shutdown flushes every buffered span (the batch delay is longer than this test waits).
    await env.close();
    spans = await collector.waitFor((all) =>
      [TRACE.invoke, TRACE.denied, TRACE.parse, TRACE.mcp, TRACE.grpc].every((id) =>
        all.some((s) => s.traceId === id && s.kind === SERVER),
      ),
    );
  }, 240_000);
  afterAll(async () => {
    await collector?.close();
  });

  const inTrace = (trace: string) => spans.filter((s) => s.traceId === trace);
  const serverOf = (trace: string, name = "POST /v1/invoke") => {
    const roots = inTrace(trace).filter((s) => s.kind === SERVER && s.name === name);
    expect(roots, trace).toHaveLength(1);
    return roots[0] as OtlpSpan;
  };

  it("continues the caller's trace: one server span, child of the caller's span, every stage its child", () => {
    const root = serverOf(TRACE.invoke);
    expect(root.service).toBe(service);
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.traceState).toBe(CALLER_STATE);
    expect(root.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/invoke",
      "http.response.status_code": 200,
      "seal.transport": "http",
      "seal.tool.kind": "workflow",
      "seal.call.status": "success",
      "seal.call.stage": "cap",
    });
    expect(String(root.attributes["seal.call_id"])).toMatch(/^call_/);
    expect(root.status.code).not.toBe(ERROR);
    const stages = inTrace(TRACE.invoke).filter((s) => s.name.startsWith("seal.stage "));
    expect(stages.map((s) => s.attributes["seal.stage"])).toEqual(expect.arrayContaining(STAGES));
    expect(stages).toHaveLength(STAGES.length);
    for (const s of stages) {
      expect(s.parentSpanId, s.name).toBe(root.spanId);
      expect(s.status.code, s.name).not.toBe(ERROR);
    }
  });

  it("the upstream request is a client span under execute, and the upstream received a traceparent of that trace", () => {
    const execute = inTrace(TRACE.invoke).find((s) => s.name === "seal.stage execute");
    const client = inTrace(TRACE.invoke).filter((s) => s.kind === CLIENT);
    expect(client).toHaveLength(1);
    const upstreamSpan = client[0] as OtlpSpan;
    expect(upstreamSpan.parentSpanId).toBe(execute?.spanId);
    expect(upstreamSpan.name).toBe("GET");
    expect(upstreamSpan.attributes).toEqual({
      "http.request.method": "GET",
      "http.response.status_code": 200,
    });
    const sent = upstreamCalls(env).filter((r) => String(r.headers.traceparent ?? "").includes(TRACE.invoke));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers.traceparent).toBe(`00-${TRACE.invoke}-${upstreamSpan.spanId}-01`);
    // The caller's tracestate is caller-chosen text: it is not passed on to third parties.
    expect(sent[0]?.headers.tracestate).toBeUndefined();
    // The credential really went upstream, so the search below looks for the right bytes.
    expect(sent[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it("a refused call: its span carries the SEAL code and an error status, and nothing ran", () => {
    const root = serverOf(TRACE.denied);
    expect(root.attributes).toMatchObject({
      "seal.code": 2001,
      "seal.call.status": "error",
      "seal.call.stage": "authorize",
      "http.response.status_code": 403,
    });
    expect(root.status).toEqual({ code: ERROR, message: "SEAL 2001" });
    const authorize = inTrace(TRACE.denied).find((s) => s.name === "seal.stage authorize");
    expect(authorize?.parentSpanId).toBe(root.spanId);
    expect(authorize?.status.code).toBe(ERROR);
    expect(authorize?.attributes).toMatchObject({ "seal.code": 2001, "error.type": "TOOL_DENIED" });
    expect(inTrace(TRACE.denied).map((s) => s.name)).not.toContain("seal.stage execute");
    expect(inTrace(TRACE.denied).some((s) => s.kind === CLIENT)).toBe(false);
  });

  it("a body refused before parsing: the parse stage span failed with 1000, the root says so", () => {
    const root = serverOf(TRACE.parse);
    expect(root.attributes).toMatchObject({ "seal.code": 1000, "seal.call.status": "error" });
    expect(root.status.code).toBe(ERROR);
    const names = inTrace(TRACE.parse).map((s) => s.name);
    expect(names.sort()).toEqual(["POST /v1/invoke", "seal.stage parse"]);
    expect(inTrace(TRACE.parse).find((s) => s.name === "seal.stage parse")?.status.code).toBe(ERROR);
  });

  it("malformed traceparent headers are ignored: each call answered and traced as a new trace", () => {
    const callers = new Set(Object.values(TRACE));
    for (const [i, callId] of [...malformedCallIds, plainCallId].entries()) {
      const roots = spans.filter((s) => s.kind === SERVER && s.attributes["seal.call_id"] === callId);
      expect(roots, String(MALFORMED[i])).toHaveLength(1);
      const root = roots[0] as OtlpSpan;
      expect(root.parentSpanId, String(MALFORMED[i])).toBe("");
      expect(callers.has(root.traceId), String(MALFORMED[i])).toBe(false);
      expect(root.status.code).not.toBe(ERROR);
      // The call still ran, with its upstream request in the new trace.
      expect(spans.some((s) => s.traceId === root.traceId && s.kind === CLIENT)).toBe(true);
    }
  });

  it("MCP over HTTP: the tools/call request continues the caller's trace, its stages below it", () => {
    const roots = inTrace(TRACE.mcp).filter(
      (s) => s.kind === SERVER && s.attributes["seal.call.status"] === "success",
    );
    expect(roots).toHaveLength(1);
    const root = roots[0] as OtlpSpan;
    expect(root.name).toBe("POST /mcp");
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.attributes).toMatchObject({ "seal.transport": "mcp", "http.route": "/mcp" });
    const below = inTrace(TRACE.mcp).filter((s) => s.parentSpanId === root.spanId);
    expect(below.map((s) => s.attributes["seal.stage"])).toEqual(
      expect.arrayContaining(["shape", "authenticate", "authorize", "execute", "cap"]),
    );
    const execute = below.find((s) => s.name === "seal.stage execute");
    expect(
      inTrace(TRACE.mcp).filter((s) => s.kind === CLIENT && s.parentSpanId === execute?.spanId),
    ).toHaveLength(1);
  });

  it("gRPC: traceparent in the metadata is continued by the invocation RPC's server span", () => {
    const method = "aegis.seal_gateway.v1.GatewayInvocationService/InvokeWorkflow";
    const root = serverOf(TRACE.grpc, method);
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.attributes).toMatchObject({
      "rpc.method": method,
      "seal.transport": "grpc",
      "seal.call.status": "success",
      "seal.tool.kind": "workflow",
    });
    const below = inTrace(TRACE.grpc).filter((s) => s.parentSpanId === root.spanId);
    expect(below.map((s) => s.attributes["seal.stage"])).toEqual(
      expect.arrayContaining(["parse", "shape", "authenticate", "authorize", "execute", "cap"]),
    );
    const execute = below.find((s) => s.name === "seal.stage execute");
    expect(
      inTrace(TRACE.grpc).filter((s) => s.kind === CLIENT && s.parentSpanId === execute?.spanId),
    ).toHaveLength(1);
  });

  it("no argument value, credential or token appears anywhere in the export, and every attribute is documented", () => {
    const raw = collector.raw.join("\n");
    expect(raw.length).toBeGreaterThan(1000);
    for (const needle of [
      SECRET,
      Buffer.from(SECRET).toString("base64"),
      ARGUMENT,
      encodeURIComponent(ARGUMENT),
      "Bearer",
    ])
      expect(raw, needle).not.toContain(needle);
    for (const s of spans)
      for (const key of Object.keys(s.attributes))
        expect(DOCUMENTED.has(key), `${s.name}: ${key}`).toBe(true);
    // Nothing traced itself through the global API (drizzle would have sent SQL spans).
    expect(new Set(spans.map((s) => s.name.split(" ")[0]))).toEqual(
      new Set(["POST", "seal.stage", "GET", "aegis.seal_gateway.v1.GatewayInvocationService/InvokeWorkflow"]),
    );
  });
});

describe("traces switched off (the default)", () => {
  let collector: Collector;
  let env: RestEnv;

  beforeAll(async () => {
    collector = await startCollector();
    const made = await toolEnv({
      SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: collector.endpoint,
      SEAL_GATEWAY_TRACING_SERVICE_NAME: "seal-test-untraced",
    });
    env = made.env;
    const { t } = env;
    expect(t.gw.tracing).toBeNull();
    const r = await send(t, envelopeBody(t, made.agent, "billing.find", { email: ARGUMENT }), {
      traceparent: parent(TRACE.invoke),
    });
    expect(r.status).toBe(200);
    await env.close();
  }, 240_000);
  afterAll(async () => {
    await collector?.close();
  });

  it("exports nothing and passes no trace context upstream", async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect(collector.raw).toEqual([]);
    const sent = upstreamCalls(env);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers.traceparent).toBeUndefined();
  });
});

describe("traces when the collector is unreachable", () => {
  it("answers every call, logs the failed export once and still shuts down promptly", async () => {
    const made = await toolEnv({
      SEAL_GATEWAY_TRACING_ENABLED: "true",
      // Port 9 (discard) on loopback: nothing listens, the connection is refused.
      SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: "http://127.0.0.1:9/v1/traces",
      SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS: "500",
    });
    const { t } = made.env;
    for (let i = 0; i < 3; i++) {
      const r = await send(t, envelopeBody(t, made.agent, "billing.find", { email: ARGUMENT }), {
        traceparent: parent(TRACE.invoke),
      });
      expect(r.status).toBe(200);
    }
    const started = Date.now();
    await made.env.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    const warnings = t.logs.filter((line) => line.includes("trace export failed"));
    expect(warnings.length, t.logs.join("\n")).toBe(1);
    expect(warnings[0]).toContain("ECONNREFUSED");
    expect(warnings.join()).not.toContain(ARGUMENT);
  }, 60_000);
});
