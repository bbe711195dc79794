/**
 * Helpers of the key-binding suites: binding failures happen after the token verified, so
 * each lands in the token's tenant, names the token's sub and never echoes the token.
 */
import { envelopeBody, type TestGateway } from "../support/gateway.js";
import { type ExpectedRejection, nowSeconds, uid } from "./helpers.js";

export const jwkOf = (publicKeyB64: string) => ({
  kty: "OKP",
  crv: "Ed25519",
  x: Buffer.from(publicKeyB64, "base64").toString("base64url"),
});

export function bindingCases(t: TestGateway) {
  const fails = (
    code: number,
    reason: string,
    who: { sub: string; tenant?: string; token: string },
    executionId?: string,
  ): ExpectedRejection => ({
    status: 401,
    code,
    reason,
    stage: "authenticate",
    tenant: who.tenant ?? "default",
    agentId: who.sub,
    secrets: [who.token],
    ...(executionId ? { executionId } : {}),
  });
  const body = (who: { token: string; privateKeyB64: string }) =>
    envelopeBody(t, who, "demo.tool", { q: "x" }, { id: uid("req") });
  const withId = (exp: ExpectedRejection, b: string) => ({
    ...exp,
    requestId: (JSON.parse(b) as { payload: { id: string } }).payload.id,
  });

  function mint(over: {
    sub: string;
    scp?: string;
    tenantId?: string;
    execId?: string;
    ttlSeconds?: number;
    cnfJwk?: Record<string, unknown>;
  }) {
    return t.gw.services.tokens.mintAgentToken({
      scp: "default",
      tenantId: "default",
      wid: uid("wid"),
      ttlSeconds: 600,
      nowSeconds: nowSeconds(t),
      ...over,
    });
  }

  return { fails, body, withId, mint };
}
