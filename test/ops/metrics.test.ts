/**
 * GET /metrics (DESIGN §7): Prometheus text, read with an operator token of any role or
 * without one on `metrics.listen`; counts calls by bounded labels only, times every stage,
 * and reads the database gauges (replay records, the unsealed tail) at scrape time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveGateway } from "../../src/http/server.js";
import { staticTools } from "../../src/tools/registry.js";
import { putContext, sessionAgent, testTool } from "../authorization/support.js";
import { BACKENDS, envelopeBody, invoke, startTestGateway, type TestGateway } from "../support/gateway.js";
import { counterSum, family, parseMetrics, parseSamples, promtoolCheck } from "./metrics-support.js";

const ALLOWED_LABELS: Record<string, RegExp> = {
  transport: /^(http|mcp|grpc)$/,
  tool_kind: /^(workflow|cli|explorer|native|none)$/,
  status: /^(success|pending|error)$/,
  stage: /^[a-z-]+$/,
  code: /^(none|\d{4})$/,
  result: /^(ok|error)$/,
  method: /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|OTHER)$/,
  status_class: /^([1-5]xx|other|error)$/,
  outcome: /^[a-z_]+$/,
  path: /^(none|other|StaticRef|SystemJit|HumanDelegated|UserBound|Auto)$/,
  le: /^([0-9.e+-]+|\+Inf)$/,
};

/** Labels of the client library's default process/runtime metrics (bounded by the runtime). */
// `le` is the bucket bound of prom-client's own GC-duration histogram, present once a GC ran.
const RUNTIME_LABELS = new Set(["version", "major", "minor", "patch", "type", "space", "kind", "le"]);

const SECRET_ARGUMENT = "argument-value-that-must-not-appear";

describe.each(BACKENDS)("GET /metrics (%s)", (backend) => {
  let t: TestGateway;
  let agentSub: string;
  let body: string;

  beforeAll(async () => {
    t = await startTestGateway(backend, {}, { tools: [staticTools([testTool("metrics.echo")])] });
    await putContext(t, {
      name: "metrics",
      deny_list: ["metrics.denied"],
      capabilities: [{ tool_pattern: "metrics.*" }],
    });
    const agent = await sessionAgent(t, { context: "metrics" });
    agentSub = agent.sub;
    // One success, one replay of it, one denial, one malformed body.
    const ok = envelopeBody(t, agent, "metrics.echo", { q: SECRET_ARGUMENT });
    expect((await invoke(t, ok)).status).toBe(200);
    expect((await invoke(t, ok)).status).toBe(401);
    expect((await invoke(t, envelopeBody(t, agent, "metrics.denied", { q: SECRET_ARGUMENT }))).status).toBe(
      403,
    );
    expect((await invoke(t, "{not json")).status).toBe(400);
    const res = await t.request("/metrics", {
      headers: { authorization: `Bearer ${t.operatorToken("viewer")}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    body = await res.text();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses a scrape without an operator token, or with an agent's token (401, audited)", async () => {
    const none = await t.request("/metrics");
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: number } }).error.code).toBe(1004);
    const agent = await sessionAgent(t, { context: "metrics" });
    expect(
      (await t.request("/metrics", { headers: { authorization: `Bearer ${agent.token}` } })).status,
    ).toBe(401);
    const rows = await t.gw.store.listEvents({ tenantId: "*", limit: 50, type: "ControlRequestRejected" });
    expect(rows.some((r) => JSON.parse(r.payload).route === "/metrics")).toBe(true);
  });

  it("answers every operator role", async () => {
    for (const role of ["viewer", "operator", "approver", "admin"] as const) {
      const res = await t.request("/metrics", {
        headers: { authorization: `Bearer ${t.operatorToken(role)}` },
      });
      expect(res.status, role).toBe(200);
    }
  });

  it("counts calls by transport, tool kind, status, stage and SEAL code", () => {
    const calls = family(parseMetrics(body), "seal_gateway_calls_total");
    expect(calls.type).toBe("COUNTER");
    expect(
      counterSum(calls, {
        status: "success",
        tool_kind: "workflow",
        stage: "cap",
        code: "none",
        transport: "http",
      }),
    ).toBe(1);
    expect(
      counterSum(calls, { status: "error", stage: "authenticate", code: "1003", tool_kind: "none" }),
    ).toBe(1);
    expect(counterSum(calls, { status: "error", stage: "authorize", code: "2001" })).toBe(1);
    expect(counterSum(calls, { status: "error", stage: "parse", code: "1000" })).toBe(1);
  });

  it("times every stage a call ran, in seconds", () => {
    expect(family(parseMetrics(body), "seal_gateway_stage_duration_seconds").type).toBe("HISTOGRAM");
    const counts = family(parseSamples(body), "seal_gateway_stage_duration_seconds_count");
    const seen = new Set(counts.metrics.map((m) => `${m.labels?.stage}/${m.labels?.result}`));
    for (const s of [
      "parse/ok",
      "shape/ok",
      "authenticate/ok",
      "authenticate/error",
      "authorize/ok",
      "authorize/error",
      "lookup/ok",
      "execute/ok",
      "cap/ok",
      "parse/error",
    ])
      expect(seen, s).toContain(s);
    expect(counterSum(counts, { stage: "execute" })).toBe(1);
    expect(counterSum(counts, { stage: "parse" })).toBe(4);
  });

  it("uses Prometheus names and bounded labels only: no agent, tool name or argument", () => {
    const families = parseMetrics(body);
    for (const f of families) {
      expect(f.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(f.help.length, f.name).toBeGreaterThan(0);
      if (f.name.startsWith("seal_gateway_")) {
        if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
        if (f.type === "HISTOGRAM") expect(f.name).toMatch(/_seconds$/);
      } else expect(f.name).toMatch(/^(process|nodejs)_/);
    }
    for (const f of parseSamples(body)) {
      if (f.name.startsWith("seal_gateway_")) {
        for (const m of f.metrics)
          for (const [k, v] of Object.entries(m.labels ?? {})) {
            const rule = ALLOWED_LABELS[k];
            expect(rule, `${f.name} label ${k}`).toBeDefined();
            expect(v, `${f.name}{${k}}`).toMatch(rule as RegExp);
          }
      } else
        for (const m of f.metrics)
          for (const k of Object.keys(m.labels ?? {})) expect(RUNTIME_LABELS, f.name).toContain(k);
    }
    expect(body).not.toContain(agentSub);
    expect(body).not.toContain("metrics.echo");
    expect(body).not.toContain(SECRET_ARGUMENT);
    expect(body).not.toContain(t.masterKeyB64);
  });

  it("passes `promtool check metrics`, the Prometheus project's own linter", () => {
    // prom-client's own default set names three gauges `_total` (upstream naming, not ours);
    // every other finding, and any on a seal_gateway_ series, fails.
    const findings = promtoolCheck(body).split("\n").filter(Boolean);
    expect(findings.sort()).toEqual(
      ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"].map(
        (name) => `${name} non-counter metrics should not have "_total" suffix`,
      ),
    );
    expect(promtoolCheck(`${body}# HELP bad_total x\n# TYPE bad_total gauge\nbad_total 1\n`)).toContain(
      "bad_total non-counter",
    );
  });

  it("reports event-loop lag, the DB pool and in-flight store operations", () => {
    const families = parseMetrics(body);
    expect(family(families, "nodejs_eventloop_lag_seconds").type).toBe("GAUGE");
    const pool = family(families, "seal_gateway_db_pool_size");
    expect(Number(pool.metrics[0]?.value)).toBe(backend === "postgres" ? t.config.database.pool_size : 1);
    // The scrape itself ran no store operation: nothing in flight.
    expect(Number(family(families, "seal_gateway_db_operations_in_flight").metrics[0]?.value)).toBe(0);
  });

  it("reads replay records and the unsealed tail from the database, then sees it sealed", async () => {
    const families = parseMetrics(body);
    expect(Number(family(families, "seal_gateway_replay_records").metrics[0]?.value)).toBeGreaterThanOrEqual(
      1,
    );
    expect(Number(family(families, "seal_gateway_audit_unsealed_rows").metrics[0]?.value)).toBeGreaterThan(0);
    // Past the refresh interval the gauges are read again: 7 s later the tail is 7 s old.
    t.clock.advance(7000);
    const aged = parseMetrics(await scrape(t));
    const { total, sealed } = await t.gw.store.countEvents();
    expect(Number(family(aged, "seal_gateway_audit_unsealed_rows").metrics[0]?.value)).toBe(total - sealed);
    expect(
      Number(family(aged, "seal_gateway_audit_oldest_unsealed_age_seconds").metrics[0]?.value),
    ).toBeGreaterThanOrEqual(7);
    await t.gw.sealer.sealNow(true);
    t.clock.advance(6000);
    const after = parseMetrics(await scrape(t));
    expect(Number(family(after, "seal_gateway_audit_unsealed_rows").metrics[0]?.value)).toBe(0);
    expect(Number(family(after, "seal_gateway_audit_oldest_unsealed_age_seconds").metrics[0]?.value)).toBe(0);
  });
});

async function scrape(t: TestGateway): Promise<string> {
  const res = await t.request("/metrics", {
    headers: { authorization: `Bearer ${t.operatorToken("viewer")}` },
  });
  expect(res.status).toBe(200);
  return await res.text();
}

describe("metrics configuration", () => {
  it("metrics.listen serves /metrics without a token on its own address, nothing else there", async () => {
    const t = await startTestGateway("sqlite", { SEAL_GATEWAY_METRICS_LISTEN: "127.0.0.1:0" });
    const served = await serveGateway(t.gw, {
      host: "127.0.0.1",
      port: 0,
      graceMs: 100,
      metricsListen: "127.0.0.1:0",
    });
    try {
      expect(served.metricsPort).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${served.metricsPort}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      parseMetrics(await res.text());
      for (const path of ["/v1/seal/sessions", "/health", "/metrics/x"])
        expect((await fetch(`${base}${path}`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(404);
      // The main port still wants a token.
      expect((await fetch(`http://127.0.0.1:${served.port}/metrics`)).status).toBe(401);
    } finally {
      await served.stop();
      await t.close().catch(() => undefined);
    }
  });

  it("metrics.enabled: false answers 404 to an operator", async () => {
    const t = await startTestGateway("sqlite", { SEAL_GATEWAY_METRICS_ENABLED: "false" });
    try {
      const res = await t.request("/metrics", { headers: { authorization: `Bearer ${t.adminToken()}` } });
      expect(res.status).toBe(404);
      expect(t.gw.metrics).toBeNull();
    } finally {
      await t.close();
    }
  });

  it("refuses a malformed metrics.listen at load, with its path", async () => {
    for (const bad of ["8080", "host:", "host:99999", ":80", "a b:80"])
      await expect(startTestGateway("sqlite", { SEAL_GATEWAY_METRICS_LISTEN: bad }), bad).rejects.toThrow(
        /metrics/,
      );
  });
});
