/**
 * Misbehaving upstreams and the egress guard, seen by an agent calling a workflow: slow,
 * failing, flaky, redirecting and oversized answers, and a gateway with no exception for
 * loopback. Security refusals are never subject to `on_error`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallAnswer,
  call,
  events,
  eventsOf,
  expectCode,
  lastSeq,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  createWorkflow,
  LOOPBACK_ALLOWED,
  oneStep,
  postJson,
  type RestEnv,
  registerBilling,
  type SpecView,
  sentSince,
  startRestEnv,
} from "./support.js";

const CAP = 1_000_000;

describe.each(BACKENDS)("workflow upstream failures and egress (%s)", (backend) => {
  let env: RestEnv;
  let spec: SpecView;
  let agent: SessionAgent;

  beforeAll(async () => {
    env = await startRestEnv(backend, {
      ...LOOPBACK_ALLOWED,
      SEAL_GATEWAY_EGRESS_MAX_RESPONSE_BYTES: String(CAP),
    });
    spec = await registerBilling(env);
    const wf = (name: string, step: Record<string, unknown>) =>
      createWorkflow(env.t, oneStep(spec.id, name, step));
    await wf("billing.slow", { operation_id: "slow", query_params: { ms: "5000" }, timeout_ms: 200 });
    await wf("billing.fail", { operation_id: "fail", query_params: { status: "500" } });
    await wf("billing.fail-continue", {
      operation_id: "fail",
      query_params: { status: "503" },
      on_error: "Continue",
    });
    await wf("billing.flaky", {
      operation_id: "flaky",
      query_params: { key: "{{input.key}}", failures: "2" },
      on_error: { RetryN: 2 },
    });
    await wf("billing.redirect-other", { operation_id: "redirectOtherHost" });
    await wf("billing.redirect-other-continue", { operation_id: "redirectOtherHost", on_error: "Continue" });
    await wf("billing.redirect-same", { operation_id: "redirectSame" });
    await wf("billing.huge", { operation_id: "huge", query_params: { bytes: String(3 * CAP) } });
    await wf("billing.text", { operation_id: "plainText" });
    await putContext(env.t, { name: "billing-ctx", capabilities: [{ tool_pattern: "billing.*" }] });
    agent = await sessionAgent(env.t, { context: "billing-ctx" });
  });
  afterAll(async () => {
    await env?.close();
  });

  function failed(r: CallAnswer, status: number, code: number) {
    return { body: expectCode(r, status, code) };
  }

  it("a slow upstream past the step timeout → 4024, with the failed step and attempt recorded", async () => {
    const seq = await lastSeq(env.t);
    const started = Date.now();
    const r = await call(env.t, agent, "billing.slow", {});
    expect(Date.now() - started).toBeLessThan(3000);
    const { body } = failed(r, 504, 4024);
    expect(body.error?.details).toMatchObject({ reason: "request_timeout", step: "only" });
    const rows = await eventsOf(env.t, agent.executionId, seq);
    expect(rows.find((e) => e.event_type === "WorkflowStepExecuted")?.payload).toMatchObject({
      status: null,
      outcome: "failed",
      reason: "request_timeout",
      attempt: 1,
    });
    expect(rows.find((e) => e.event_type === "WorkflowInvocationFailed")?.payload).toMatchObject({
      failed_step: "only",
      code: "UPSTREAM_TIMEOUT",
    });
    expect(rows.at(-1)).toMatchObject({ event_type: "EnvelopeRejected", code: 4024, stage: "execute" });
  });

  it("a failing upstream (HTTP 500) → 4020 step_failed with the status; non-2xx is never a success", async () => {
    const r = await call(env.t, agent, "billing.fail", {});
    const { body } = failed(r, 502, 4020);
    expect(body.error?.details).toMatchObject({ reason: "step_failed", step: "only", status: 500 });
  });

  it("Continue records a non-2xx step in state and answers with a null result", async () => {
    const r = await call(env.t, agent, "billing.fail-continue", {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const out = r.body.result as { result: unknown; state: Record<string, unknown> };
    expect(out.result).toBeNull();
    expect(out.state).toEqual({ only: { status: 503, error: { status: 503, reason: "http_status" } } });
  });

  it("RetryN retries a flaky upstream and records every attempt", async () => {
    const seq = await lastSeq(env.t);
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.flaky", { key: `k-${backend}` });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body.result as { result: unknown }).result).toEqual({ ok: true, attempts: 3 });
    expect(sentSince(env.up, from)).toHaveLength(3);
    const steps = (await eventsOf(env.t, agent.executionId, seq)).filter(
      (e) => e.event_type === "WorkflowStepExecuted",
    );
    expect(steps.map((e) => [e.payload.attempt, e.payload.status, e.payload.outcome])).toEqual([
      [1, 503, "failed"],
      [2, 503, "failed"],
      [3, 200, "succeeded"],
    ]);
  });

  it("a redirect to another host → 4030, the other host is never contacted, and Continue does not hide it", async () => {
    for (const tool of ["billing.redirect-other", "billing.redirect-other-continue"]) {
      const from = env.up.requests.length;
      const r = await call(env.t, agent, tool, {});
      expect(r.body.error?.details.reason, tool).toBe("cross_host_redirect");
      expectCode(r, 403, 4030);
      expect(sentSince(env.up, from).map((q) => q.rawPath)).toEqual(["/redirect-other-host"]);
    }
  });

  it("a same-origin redirect is followed", async () => {
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.redirect-same", {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(sentSince(env.up, from).map((q) => q.rawPath)).toEqual(["/redirect-same", "/echo-headers"]);
  });

  it("a huge response → 4013 max_response_size, cut off at the cap", async () => {
    const r = await call(env.t, agent, "billing.huge", {});
    const { body } = failed(r, 502, 4013);
    expect(body.error?.details).toMatchObject({ reason: "max_response_size", step: "only" });
    expect(JSON.stringify(r.body).length).toBeLessThan(2000);
  });

  it("a spec whose base_url is the cloud metadata address → 4030 before any connection", async () => {
    const meta = await registerBilling(env, "billing-metadata", {
      base_url: "http://169.254.169.254/latest",
    });
    await createWorkflow(
      env.t,
      oneStep(meta.id, "billing.metadata", {
        operation_id: "searchCustomers",
        query_params: { email: "x@example.com" },
      }),
    );
    const started = Date.now();
    const r = await call(env.t, agent, "billing.metadata", {});
    // An IP literal is checked without resolving; a connect attempt would take the timeout.
    expect(Date.now() - started).toBeLessThan(1000);
    expectCode(r, 403, 4030);
    expect(r.body.error?.details).toMatchObject({ reason: "address_not_allowed", range: "link-local" });
  });

  it("a non-JSON answer is kept as text", async () => {
    const r = await call(env.t, agent, "billing.text", {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body.result as { result: unknown }).result).toBe("hello, not json");
  });
});

describe.each(BACKENDS)("egress without an exception for loopback (%s)", (backend) => {
  let env: RestEnv;
  let agent: SessionAgent;
  let spec: SpecView;

  beforeAll(async () => {
    // No SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: loopback is not global unicast.
    env = await startRestEnv(backend, {});
    spec = await registerBilling(env);
    await createWorkflow(
      env.t,
      oneStep(spec.id, "billing.search", {
        operation_id: "searchCustomers",
        query_params: { email: "ada@example.com" },
      }),
    );
    await putContext(env.t, {
      name: "billing-ctx",
      capabilities: [{ tool_pattern: "billing.*" }, { tool_pattern: "explorer" }],
    });
    agent = await sessionAgent(env.t, { context: "billing-ctx" });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a workflow whose base_url is 127.0.0.1 → 4030 address_not_allowed, nothing sent", async () => {
    const seq = await lastSeq(env.t);
    const r = await call(env.t, agent, "billing.search", {});
    expectCode(r, 403, 4030);
    expect(r.body.error?.details).toMatchObject({ reason: "address_not_allowed", range: "loopback" });
    // The refusal names neither the address nor the path.
    expect(JSON.stringify(r.body)).not.toContain("/customers");
    expect(env.up.requests).toEqual([]);
    const rows = await eventsOf(env.t, agent.executionId, seq);
    expect(rows.find((e) => e.event_type === "WorkflowInvocationFailed")?.payload).toMatchObject({
      code: "EGRESS_DENIED",
      reason: "address_not_allowed",
    });
  });

  it("other spellings of loopback are refused too, nothing sent", async () => {
    for (const [name, host] of [
      ["v6", "[::1]"],
      ["localhost", "localhost"],
      ["zero", "0.0.0.0"],
    ]) {
      const other = await registerBilling(env, `billing-${name}`, {
        base_url: `http://${host}:${env.up.port}`,
      });
      await createWorkflow(
        env.t,
        oneStep(other.id, `billing.${name}`, {
          operation_id: "searchCustomers",
          query_params: { email: "x@example.com" },
        }),
      );
      const r = await call(env.t, agent, `billing.${name}`, {});
      expectCode(r, 403, 4030);
      expect(r.body.error?.details.reason, host).toBe("address_not_allowed");
    }
    expect(env.up.requests).toEqual([]);
  });

  it("the explorer is refused the same way, on both planes", async () => {
    const args = {
      api_spec_id: spec.id,
      operation_id: "searchCustomers",
      parameters: { email: "ada@example.com" },
      fields: ["$.data[*].id"],
    };
    expectCode(await call(env.t, agent, "explorer", args), 403, 4030);
    const op = await postJson(env.t, "/v1/explorer", args);
    expect(op.status).toBe(403);
    expect((op.body.error as { code: number }).code).toBe(4030);
    expect(env.up.requests).toEqual([]);
    const rows = await events(env.t, { type: "ExplorerRequestFailed" });
    expect(rows.map((e) => [e.code, e.payload.reason, e.payload.status])).toEqual([
      [4030, "address_not_allowed", null],
      [4030, "address_not_allowed", null],
    ]);
  });
});
