/**
 * Refused control-plane requests are audited like refused envelopes: in the operator's tenant
 * once the token verified, in `system` (rate-limited per address) before that.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("control-plane refusals are audited (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const rows = async (tenantId: string) =>
    (await t.gw.store.listEvents({ tenantId, type: "ControlRequestRejected", limit: 100 })).map((r) => ({
      ...r,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
    }));

  it("an invalid body from an operator is a row in the operator's tenant, without the body", async () => {
    const before = (await rows("audit-t")).length;
    const res = await t.request(
      "/v1/security-contexts",
      jsonInit(
        "POST",
        { name: "Bad Name", capabilities: [], secret_field: "do-not-log-me" },
        t.operatorToken("operator", "audit-t"),
      ),
    );
    expect(res.status).toBe(400);
    const after = await rows("audit-t");
    expect(after).toHaveLength(before + 1);
    expect(after[0]).toMatchObject({
      decision: "reject",
      stage: "control",
      code: 4000,
      agentId: "test-operator",
    });
    expect(after[0]?.payload).toMatchObject({
      method: "POST",
      route: "/v1/security-contexts",
      reason: "invalid_body",
      status: 400,
    });
    expect(JSON.stringify(after)).not.toContain("do-not-log-me");
  });

  it("a request without a valid token is a row in the system tenant", async () => {
    const before = (await rows("system")).length;
    const res = await t.request("/v1/seal/sessions", { headers: { authorization: "Bearer not-a-token" } });
    expect(res.status).toBe(401);
    const after = await rows("system");
    expect(after).toHaveLength(before + 1);
    expect(after[0]).toMatchObject({ code: 1004, agentId: null });
    expect(after[0]?.payload).toMatchObject({
      method: "GET",
      route: "/v1/seal/sessions",
      reason: "bad_token",
      status: 401,
    });
  });
});
