/**
 * The transport-neutral call: admit + run straight on the pipeline, no HTTP — what the MCP
 * and gRPC transports will do. Every ending is a CallOutcome value with the facts a renderer
 * needs, and the transport label lands in the call's audit rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { renderCall } from "../../src/http/render-call.js";
import type { CallOutcome } from "../../src/pipeline/call.js";
import type { StageEvent } from "../../src/pipeline/run-stage.js";
import { parseBody } from "../../src/seal/envelope.js";
import type { EventRow } from "../../src/store/types.js";
import { staticTools } from "../../src/tools/registry.js";
import { putContext, sessionAgent, testTool } from "../authorization/support.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventsSince, freshSource, maxSeq } from "./helpers.js";

const echo = testTool("outcome.echo");
const gated = testTool("outcome.gated");
const hangs = {
  ...testTool("outcome.hangs"),
  timeoutMs: 50,
  run: () => new Promise<never>(() => undefined),
};
/** A tool that ends its run when its signal aborts, as engines do. */
const obeys = {
  ...testTool("outcome.obeys"),
  run: ({ signal }: { signal: AbortSignal }) =>
    new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
};

describe.each(BACKENDS)("admit + run, no HTTP (%s)", (backend) => {
  let t: TestGateway;
  const stages: StageEvent[] = [];
  const doc = (body: string) => parseBody(new TextEncoder().encode(body), 64);
  const payloads = (rows: EventRow[]) => rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      // The default for tools without a timeout of their own.
      { SEAL_GATEWAY_TOOLS_DEFAULT_TIMEOUT_SECONDS: "1" },
      {
        tools: [staticTools([echo, gated, hangs, obeys])],
        stageObserver: { onStage: (e) => stages.push(e) },
      },
    );
    await putContext(t, {
      name: "outcomes",
      deny_list: ["outcome.denied"],
      capabilities: [{ tool_pattern: "outcome.gated", approval: "required" }, { tool_pattern: "outcome.*" }],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("success: the result, its text and the ids, with transport mcp on every row of the call", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const before = await maxSeq(t);
    const admitted = await t.gw.calls.admit(
      doc(envelopeBody(t, agent, "outcome.echo", { n: 1.5 }, { id: "r-1" })),
      {
        address: freshSource(),
        transport: "mcp",
      },
    );
    if (!admitted.ok) throw new Error(JSON.stringify(admitted.outcome.error.details));
    expect(admitted.call.auth.claims.sub).toBe(agent.sub);
    const out = await t.gw.calls.run(admitted.call);
    expect(out).toMatchObject({
      status: "success",
      result: { echo: { n: 1.5 }, tool: "outcome.echo" },
      isError: false,
      requestId: "r-1",
      callId: admitted.call.callId,
    });
    if (out.status !== "success") return;
    expect(JSON.parse(out.resultText)).toEqual(out.result);
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => r.eventType)).toEqual(["ToolCallAuthorized", "ToolCallCompleted"]);
    expect(rows[1]?.id).toBe(out.eventId);
    for (const p of payloads(rows)) expect(p.transport).toBe("mcp");
  });

  it("refused at admission: an error outcome, audited, and nothing to run", async () => {
    const before = await maxSeq(t);
    const admitted = await t.gw.calls.admit(doc('{"protocol":"seal/v2"}'), {
      address: freshSource(),
      transport: "grpc",
    });
    expect(admitted.ok).toBe(false);
    if (admitted.ok) return;
    expect(admitted.outcome.error).toBeInstanceOf(GatewayError);
    expect(admitted.outcome.error.sealCode).toBe(1000);
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.stage, r.tenantId])).toEqual([
      ["EnvelopeRejected", "parse", "system"],
    ]);
    expect(payloads(rows)[0]).toMatchObject({ reason: "bad_protocol", transport: "grpc" });
  });

  it("pending: the approval id and its expiry; the HTTP renderer makes it a 202", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const out = await t.gw.calls.call(doc(envelopeBody(t, agent, "outcome.gated", {}, { id: 7 })), {
      address: freshSource(),
    });
    expect(out).toMatchObject({ status: "pending", requestId: 7 });
    if (out.status !== "pending") return;
    expect(out.approvalId).toMatch(/^apr_/);
    expect(out.expiresAt).toBeGreaterThan(t.clock.nowMs());
    expect(gated.runs).toHaveLength(0);
    expect(renderCall(out)).toEqual({
      status: 202,
      headers: {},
      body: {
        protocol: "seal/v1",
        status: "pending",
        approval_id: out.approvalId,
        request_id: 7,
        expires_at: new Date(out.expiresAt).toISOString(),
      },
    });
  });

  it("a policy denial is an error outcome carrying the GatewayError (audited once, as PolicyDenied)", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const before = await maxSeq(t);
    const out: CallOutcome = await t.gw.calls.callBody(
      { body: new TextEncoder().encode(envelopeBody(t, agent, "outcome.denied")), tooLarge: false },
      { address: freshSource(), transport: "mcp" },
    );
    expect(out.status).toBe("error");
    if (out.status !== "error") return;
    expect(out.error.code).toBe("TOOL_DENIED");
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => r.eventType)).toEqual(["PolicyDenied"]);
    expect(payloads(rows)[0]?.transport).toBe("mcp");
    expect(renderCall(out).status).toBe(403);
  });

  it("runs the stages in the listed order, each once, through runStage", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const body = envelopeBody(t, agent, "outcome.echo");
    stages.length = 0;
    const out = await t.gw.calls.callBody(
      { body: new TextEncoder().encode(body), tooLarge: false },
      { address: freshSource() },
    );
    expect(out.status).toBe("success");
    expect(stages.map((s) => s.stage)).toEqual([
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
    ]);
    expect(new Set(stages.map((s) => s.callId)).size).toBe(1);
    expect(stages.every((s) => s.result === "ok" && s.durationMs >= 0)).toBe(true);

    // A denial stops at the stage that decided it, reported as an error there.
    stages.length = 0;
    await t.gw.calls.call(doc(envelopeBody(t, agent, "outcome.denied")), { address: freshSource() });
    expect(stages.map((s) => [s.stage, s.result])).toEqual([
      ["shape", "ok"],
      ["authenticate", "ok"],
      ["authorize", "error"],
    ]);
  });

  it("a tool's own timeoutMs ends the call with 4041, audited at execute", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const before = await maxSeq(t);
    const started = Date.now();
    const out = await t.gw.calls.call(doc(envelopeBody(t, agent, "outcome.hangs")), {
      address: freshSource(),
    });
    expect(Date.now() - started).toBeLessThan(900);
    expect(out.status).toBe("error");
    if (out.status !== "error") return;
    expect(out.error.code).toBe("EXECUTION_TIMEOUT");
    expect(out.error.details).toMatchObject({ reason: "tool_timeout", timeout_ms: 50 });
    expect(renderCall(out).status).toBe(504);
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.stage, r.code])).toEqual([
      ["ToolCallAuthorized", "authorize", null],
      ["EnvelopeRejected", "execute", 4041],
    ]);
  });

  it("a caller already gone when the run starts ends it at once (4041 deadline_exceeded), audited at execute", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const before = await maxSeq(t);
    const started = Date.now();
    // `obeys` waits for its signal's abort event, which an already-aborted signal never fires:
    // the call must not wait on the tool (nor on the 1 s default timeout).
    const out = await t.gw.calls.call(doc(envelopeBody(t, agent, "outcome.obeys")), {
      address: freshSource(),
      signal: AbortSignal.abort(),
    });
    expect(Date.now() - started).toBeLessThan(900);
    expect(out).toMatchObject({ status: "error", error: { code: "EXECUTION_TIMEOUT" } });
    if (out.status === "error") expect(out.error.details).toMatchObject({ reason: "deadline_exceeded" });
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.stage, r.code])).toEqual([
      ["ToolCallAuthorized", "authorize", null],
      ["EnvelopeRejected", "execute", 4041],
    ]);
  });

  it("without a timeout of its own a tool gets tools.default_timeout_seconds, and its signal aborts", async () => {
    const agent = await sessionAgent(t, { context: "outcomes" });
    const started = Date.now();
    const out = await t.gw.calls.call(doc(envelopeBody(t, agent, "outcome.obeys")), {
      address: freshSource(),
    });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
    expect(out).toMatchObject({ status: "error", error: { code: "EXECUTION_TIMEOUT" } });
    if (out.status === "error") expect(out.error.details.timeout_ms).toBe(1000);
  });
});
