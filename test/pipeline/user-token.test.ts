/**
 * The end user's token (DESIGN §4: `params._meta["seal/user_token"]`, signed with the envelope)
 * reaches the engine with the call — the one explicit channel a delegated backend reads it from
 * (`callInfo`) — and nowhere else: not in an answer, an audit row or a log line.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { callInfo, staticTools } from "../../src/tools/registry.js";
import { eventsOf, putContext, sessionAgent, testTool } from "../authorization/support.js";
import { BACKENDS, invoke, startTestGateway, type TestGateway } from "../support/gateway.js";

const USER_TOKEN = `eyJhbGciOiJSUzI1NiJ9.user-${randomBytes(8).toString("hex")}.sig`;

describe.each(BACKENDS)("the end user's token in the call (%s)", (backend) => {
  const tool = testTool("ut.echo", { result: () => ({ ran: true }) });
  const plain = testTool("plain.echo", { result: () => ({ ran: true }) });
  let t: TestGateway;
  let agent: Awaited<ReturnType<typeof sessionAgent>>;

  beforeAll(async () => {
    t = await startTestGateway(backend, {}, { tools: [staticTools([tool, plain])] });
    await putContext(t, {
      name: "ut",
      capabilities: [{ tool_pattern: "ut.*", delegated_credentials: true }, { tool_pattern: "plain.*" }],
    });
    agent = await sessionAgent(t, { context: "ut" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const call = (meta?: Record<string, unknown>, name = "ut.echo") =>
    invoke(
      t,
      signEnvelope({
        securityToken: agent.token,
        payload: toolCallPayload({
          name,
          arguments: {},
          id: `ut-${randomBytes(4).toString("hex")}`,
          ...(meta ? { meta } : {}),
        }),
        privateKeyB64: agent.privateKeyB64,
        now: new Date(t.clock.nowMs()),
      }).body,
    );

  it("hands a string token to the engine's call, and callInfo carries it to the credential port", async () => {
    const res = await call({ "seal/user_token": USER_TOKEN });
    expect(res.status).toBe(200);
    const ctx = tool.runs.at(-1);
    expect(ctx?.userToken).toBe(USER_TOKEN);
    expect(ctx && callInfo(ctx, "ut.echo").userToken).toBe(USER_TOKEN);
    expect(JSON.stringify(res.body)).not.toContain(USER_TOKEN);
    const rows = await eventsOf(t, agent.executionId);
    expect(rows.map((r) => r.event_type)).toContain("ToolCallCompleted");
    expect(JSON.stringify(rows)).not.toContain(USER_TOKEN);
    expect(t.logs.join("\n")).not.toContain(USER_TOKEN);
  });

  it("passes nothing when the call has no token, or one that is not a string", async () => {
    for (const meta of [undefined, { "seal/user_token": 42 }, { "seal/user_token": { sub: "u" } }]) {
      expect((await call(meta)).status).toBe(200);
      const ctx = tool.runs.at(-1);
      expect(ctx && "userToken" in ctx).toBe(false);
      expect(ctx && "userToken" in callInfo(ctx, "ut.echo")).toBe(false);
    }
  });

  it("passes nothing under a capability without delegated_credentials: the token stays in the pipeline", async () => {
    expect((await call({ "seal/user_token": USER_TOKEN }, "plain.echo")).status).toBe(200);
    const ctx = plain.runs.at(-1);
    expect(ctx && "userToken" in ctx).toBe(false);
  });
});
