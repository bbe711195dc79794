/**
 * DESIGN §2 rows 4 and 4b, the token's claims: required claims, claim types, the 24 h lifetime
 * cap, nbf/iat in the future and expiry (1003). All before the token verified: `system` tenant.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { agentClaims, gatewayToken, sessionAgent } from "./agents.js";
import { expectPolicyDenied, expectRejected, nowSeconds, uid } from "./helpers.js";
import { tokenCases } from "./token-cases.js";

describe.each(BACKENDS)("security token claims (%s)", (backend) => {
  let t: TestGateway;
  let c: ReturnType<typeof tokenCases>;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    c = tokenCases(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("each required claim missing is missing_claim:<claim>", async () => {
    for (const claim of ["sub", "scp", "wid", "jti", "iat", "exp"]) {
      await c.rejectsToken(
        gatewayToken(t, agentClaims(t, { [claim]: undefined })),
        1004,
        `missing_claim:${claim}`,
      );
    }
    await c.rejectsToken(gatewayToken(t, agentClaims(t, { wid: "" })), 1004, "missing_claim:wid");
  });

  it("claims of the wrong type are bad_token", async () => {
    for (const over of [
      { sub: 7 },
      { scp: ["default"] },
      { exp: String(nowSeconds(t) + 60) },
      { iat: "now" },
      { exec_id: 5 },
      { tenant_id: "" },
      { cnf: "key" },
    ]) {
      await c.badToken(gatewayToken(t, agentClaims(t, over)));
    }
  });

  it("a lifetime of 24 h passes, 24 h + 1 s is lifetime_too_long", async () => {
    const now = nowSeconds(t);
    const ok = c.cnfClaims({ iat: now, exp: now + 86_400 });
    await expectPolicyDenied(t, c.envelopeWith(gatewayToken(t, ok.claims), ok.pair).body, {
      tenant: "default",
      agentId: String(ok.claims.sub),
    });
    await c.rejectsToken(
      gatewayToken(t, agentClaims(t, { iat: now, exp: now + 86_401 })),
      1004,
      "lifetime_too_long",
    );
  });

  it("nbf or iat beyond the clock tolerance is not_yet_valid; within it passes", async () => {
    const now = nowSeconds(t);
    const tol = t.config.seal.clock_tolerance_seconds;
    await c.rejectsToken(gatewayToken(t, agentClaims(t, { nbf: now + 60 })), 1004, "not_yet_valid");
    await c.rejectsToken(gatewayToken(t, agentClaims(t, { nbf: now + tol + 1 })), 1004, "not_yet_valid");
    await c.rejectsToken(
      gatewayToken(t, agentClaims(t, { iat: now + 60, exp: now + 600 })),
      1004,
      "not_yet_valid",
    );
    const ok = c.cnfClaims({ nbf: now + tol });
    await expectPolicyDenied(t, c.envelopeWith(gatewayToken(t, ok.claims), ok.pair).body, {
      tenant: "default",
      agentId: String(ok.claims.sub),
    });
  });

  it("an expired token is 1003 token_expired (within the tolerance it still passes)", async () => {
    const now = nowSeconds(t);
    const tol = t.config.seal.clock_tolerance_seconds;
    await c.rejectsToken(
      gatewayToken(t, agentClaims(t, { iat: now - 600, exp: now - tol })),
      1003,
      "token_expired",
    );
    await c.rejectsToken(
      gatewayToken(t, agentClaims(t, { iat: now - 7200, exp: now - 3600 })),
      1003,
      "token_expired",
    );
    const ok = c.cnfClaims({ iat: now - 600, exp: now - tol + 1 });
    await expectPolicyDenied(t, c.envelopeWith(gatewayToken(t, ok.claims), ok.pair).body, {
      tenant: "default",
      agentId: String(ok.claims.sub),
    });
  });

  it("a session token expires with the gateway clock", async () => {
    const agent = await sessionAgent(t);
    t.clock.advance((t.config.seal.token_ttl + t.config.seal.clock_tolerance_seconds) * 1000);
    const id = uid("req");
    await expectRejected(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id }), {
      status: 401,
      code: 1003,
      reason: "token_expired",
      stage: "authenticate",
      tenant: "system",
      requestId: id,
      secrets: [agent.token],
    });
  });
});
