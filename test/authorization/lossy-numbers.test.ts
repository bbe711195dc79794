/**
 * A signed number that JavaScript cannot carry unchanged (beyond 2^53) is verified as sent,
 * but the tool is never handed a different value: 4000 lossy_number, audited, nothing run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { independentSign } from "../support/independent-signer.js";
import { expectCode, putContext, type SessionAgent, send, sessionAgent, testTool } from "./support.js";

describe.each(BACKENDS)("lossy argument numbers (%s)", (backend) => {
  let t: TestGateway;
  let agent: SessionAgent;
  const tool = testTool("num.echo");

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [{ lookup: async (_t, n) => (n === tool.name ? tool : null), list: async () => [tool] }] },
    );
    await putContext(t, { name: "num-ctx", capabilities: [{ tool_pattern: "num.*" }] });
    agent = await sessionAgent(t, { context: "num-ctx" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const body = (literal: string, id: string) =>
    independentSign({
      securityToken: agent.token,
      payload: `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"num.echo","arguments":{"n":${literal}}}}`,
      timestamp: new Date(t.clock.nowMs()).toISOString(),
      privateKeyB64: agent.privateKeyB64,
    }).body;

  it("refuses 18446744073709551616 with 4000 lossy_number and runs nothing", async () => {
    const before = tool.runs.length;
    const r = await send(t, body("18446744073709551616", "lossy-1"));
    expectCode(r, 400, 4000);
    expect(r.body.error?.details.reason).toBe("lossy_number");
    expect(tool.runs.length).toBe(before);
    const rows = await t.gw.store.listEvents({
      tenantId: "default",
      executionId: agent.executionId,
      limit: 10,
    });
    expect(rows[0]).toMatchObject({ eventType: "EnvelopeRejected", code: 4000, requestId: "lossy-1" });
  });

  it("passes numbers that keep their value (1.0, 1e+16, 9007199254740991)", async () => {
    for (const [i, literal] of ["1.0", "1e+16", "9007199254740991"].entries()) {
      const r = await send(t, body(literal, `exact-${i}`));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    expect(tool.runs.at(-1)?.arguments).toEqual({ n: 9007199254740991 });
  });
});
