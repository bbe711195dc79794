/**
 * DESIGN §2 rows 4 and 4b: the security token. Every token rejection happens before the
 * token verified, so it belongs to the `system` tenant and names no agent: unverified claims
 * are never trusted for anything but choosing a key.
 */
import { createPublicKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  agentClaims,
  ed25519Key,
  foreignToken,
  gatewayToken,
  hmacToken,
  rsaKey,
  sessionAgent,
  unsignedToken,
} from "./agents.js";
import { expectPolicyDenied, expectRejected, uid } from "./helpers.js";
import { tokenCases } from "./token-cases.js";

describe.each(BACKENDS)("security token (%s)", (backend) => {
  let t: TestGateway;
  let c: ReturnType<typeof tokenCases>;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    c = tokenCases(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a well-formed gateway token with a cnf key passes (the baseline every case below breaks)", async () => {
    const { pair, claims } = c.cnfClaims();
    const token = gatewayToken(t, claims);
    await expectPolicyDenied(t, c.envelopeWith(token, pair).body, {
      tenant: "default",
      agentId: String(claims.sub),
      binding: "cnf",
      secrets: [token],
    });
  });

  it("garbage tokens are bad_token", async () => {
    for (const token of [
      "garbage",
      "a.b.c",
      "a.b",
      "...",
      "eyJhbGciOiJFZERTQSJ9.e30.",
      `${gatewayToken(t, agentClaims(t))}.x`,
    ])
      await c.badToken(token);
  });

  it("alg none and HS256 (even keyed with the gateway's public key) are alg_not_allowed", async () => {
    const claims = agentClaims(t);
    const kid = t.gw.services.tokens.signingKey.kid;
    await c.badToken(unsignedToken(claims), "alg_not_allowed");
    await c.badToken(foreignToken({ alg: "None", kid }, claims, ed25519Key()), "alg_not_allowed");
    const pub = createPublicKey(t.gw.services.tokens.signingKey.privateKey);
    for (const secret of [
      pub.export({ format: "der", type: "spki" }),
      Buffer.from(pub.export({ format: "pem", type: "spki" })),
    ]) {
      await c.badToken(hmacToken({ alg: "HS256", typ: "JWT", kid }, claims, secret), "alg_not_allowed");
    }
  });

  it("RS256 and EdDSA tokens signed by keys the gateway does not trust are bad_token", async () => {
    const kid = t.gw.services.tokens.signingKey.kid;
    await c.badToken(foreignToken({ alg: "RS256", typ: "JWT", kid: uid("kid") }, agentClaims(t), rsaKey()));
    await c.badToken(
      foreignToken({ alg: "RS256", typ: "JWT" }, agentClaims(t, { iss: undefined }), rsaKey()),
    );
    await c.badToken(foreignToken({ alg: "EdDSA", typ: "JWT", kid }, agentClaims(t), ed25519Key()));
    const { claims } = c.cnfClaims();
    await c.badToken(foreignToken({ alg: "EdDSA", typ: "JWT", kid }, claims, ed25519Key()));
  });

  it("alg confusion: a header naming another algorithm than the gateway key's is bad_token", async () => {
    const kid = t.gw.services.tokens.signingKey.kid;
    await c.badToken(foreignToken({ alg: "RS256", typ: "JWT", kid }, agentClaims(t), rsaKey()));
    const real = gatewayToken(t, agentClaims(t));
    const [, payload, sig] = real.split(".");
    const relabelled = `${Buffer.from(JSON.stringify({ alg: "ES256", typ: "JWT", kid })).toString("base64url")}.${payload}.${sig}`;
    await c.badToken(relabelled);
  });

  it("the RFC 9864 spelling Ed25519 verifies like EdDSA", async () => {
    const { pair, claims } = c.cnfClaims();
    const { kid, privateKey } = t.gw.services.tokens.signingKey;
    const token = foreignToken({ alg: "Ed25519", typ: "JWT", kid }, claims, privateKey);
    await expectPolicyDenied(t, c.envelopeWith(token, pair).body, {
      tenant: "default",
      agentId: String(claims.sub),
      binding: "cnf",
    });
  });

  it("a wrong or missing audience, or an untrusted issuer, is bad_token; an audience list naming the gateway passes", async () => {
    await c.badToken(gatewayToken(t, agentClaims(t, { aud: "some-other-service" })));
    await c.badToken(gatewayToken(t, agentClaims(t, { aud: undefined })));
    await c.badToken(gatewayToken(t, agentClaims(t, { aud: t.config.operator.audience })));
    await c.badToken(gatewayToken(t, agentClaims(t, { iss: "https://idp.example.com" })));
    const ok = c.cnfClaims({ aud: ["other", t.config.seal.agent_audience] });
    await expectPolicyDenied(t, c.envelopeWith(gatewayToken(t, ok.claims), ok.pair).body, {
      tenant: "default",
      agentId: String(ok.claims.sub),
    });
  });

  it("operator tokens are never agent tokens", async () => {
    await c.badToken(t.adminToken());
    await c.badToken(t.operatorToken("operator", "default"));
    // Even with the agent audience and every agent claim, typ operator+jwt is refused.
    await c.badToken(gatewayToken(t, c.cnfClaims().claims, { typ: "operator+jwt" }));
  });

  it("a token over 16 KiB is refused by the shape check", async () => {
    const token = gatewayToken(t, agentClaims(t, { pad: "p".repeat(20_000) }));
    const { body, id } = c.envelopeWith(token);
    await expectRejected(t, body, {
      status: 400,
      code: 1000,
      reason: "bad_field:security_token",
      stage: "parse",
      tenant: "system",
      requestId: id,
    });
  });

  it("claims of a token that failed are not trusted: the row names neither agent nor tenant", async () => {
    const claims = agentClaims(t, { tenant_id: "victim", sub: "admin-agent" });
    const { body, id } = c.envelopeWith(
      foreignToken(
        { alg: "EdDSA", typ: "JWT", kid: t.gw.services.tokens.signingKey.kid },
        claims,
        ed25519Key(),
      ),
    );
    const { row } = await expectRejected(t, body, {
      status: 401,
      code: 1004,
      reason: "bad_token",
      stage: "authenticate",
      tenant: "system",
      requestId: id,
    });
    expect(row.agentId).toBeNull();
    expect(row.executionId).toBeNull();
  });
});

describe.each(BACKENDS)("algorithms allow-list naming Ed25519 only (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend, { SEAL_GATEWAY_SEAL_ALGORITHMS: "Ed25519" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the gateway's own EdDSA tokens still verify; RS256 is alg_not_allowed", async () => {
    expect(t.config.seal.algorithms).toEqual(["Ed25519"]);
    const agent = await sessionAgent(t);
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }), {
      tenant: "default",
      agentId: agent.sub,
      binding: "session",
    });
    const kid = t.gw.services.tokens.signingKey.kid;
    const token = foreignToken({ alg: "RS256", typ: "JWT", kid }, agentClaims(t), rsaKey());
    const id = uid("req");
    const body = envelopeBody(
      t,
      { token, privateKeyB64: generateKeyPair().privateKeyB64 },
      "demo.tool",
      { q: "x" },
      { id },
    );
    await expectRejected(t, body, {
      status: 401,
      code: 1004,
      reason: "alg_not_allowed",
      stage: "authenticate",
      tenant: "system",
      requestId: id,
    });
  });
});
