/**
 * GET /v1/tools admits the agent's security token through the same admission as envelopes, so
 * its refusals are audited the same way: in the token's tenant once the token verified, in
 * `system` (through the pre-authentication budget) before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putContext, sessionAgent } from "../authorization/support.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventsSince, freshSource, maxSeq } from "./helpers.js";

describe.each(BACKENDS)("agent bearer admission (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    await putContext(t, { name: "lister", capabilities: [{ tool_pattern: "*" }] });
  });
  afterAll(async () => {
    await t?.close();
  });
  const list = (authorization?: string) =>
    t.gw.app.request("/v1/tools", authorization ? { headers: { authorization } } : {}, {
      incoming: { socket: { remoteAddress: freshSource() } },
    });

  it("a missing token is refused and audited in system", async () => {
    const before = await maxSeq(t);
    expect((await list()).status).toBe(401);
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.tenantId, r.stage, r.code])).toEqual([
      ["EnvelopeRejected", "system", "authenticate", 1004],
    ]);
    expect(JSON.parse(rows[0]?.payload ?? "{}")).toMatchObject({
      reason: "missing_token",
      surface: "GET /v1/tools",
      transport: "http",
    });
  });

  it("a revoked session's token is refused (1006) and audited in its tenant, naming the agent", async () => {
    const agent = await sessionAgent(t, { context: "lister" });
    expect((await list(`Bearer ${agent.token}`)).status).toBe(200);
    const revoked = await t.request(`/v1/seal/sessions/${agent.executionId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${t.adminToken()}` },
    });
    expect(revoked.status).toBe(200);
    const before = await maxSeq(t);
    const res = await list(`Bearer ${agent.token}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(1006);
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.tenantId, r.agentId, r.executionId])).toEqual([
      ["EnvelopeRejected", "default", agent.sub, agent.executionId],
    ]);
  });
});
