/**
 * DESIGN §2: "checks run in this order; the first failure answers". Each case breaks two
 * checks at once and expects the earlier one, with the audit row of that stage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  agentClaims,
  type Caller,
  cnfAgent,
  ed25519Key,
  foreignToken,
  gatewayToken,
  keyAgent,
  sessionAgent,
  unsignedToken,
} from "./agents.js";
import { type ExpectedRejection, expectPolicyDenied, expectRejected, uid, withField } from "./helpers.js";

describe.each(BACKENDS)("verification order (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const sign = (who: { token: string; privateKeyB64: string }, id: string, at = t.clock.nowMs()) =>
    envelopeBody(t, who, "demo.tool", { q: "x" }, { id, at });
  const preToken = (code: number, reason: string, id: string): ExpectedRejection => ({
    status: code === 1000 ? 400 : 401,
    code,
    reason,
    stage: code === 1000 ? "parse" : "authenticate",
    tenant: "system",
    requestId: id,
  });
  const postToken = (agent: Caller, code: number, reason: string, id: string): ExpectedRejection => ({
    status: 401,
    code,
    reason,
    stage: "authenticate",
    tenant: agent.tenant,
    agentId: agent.sub,
    requestId: id,
    secrets: [agent.token],
  });
  const forged = () =>
    foreignToken(
      { alg: "EdDSA", typ: "JWT", kid: t.gw.services.tokens.signingKey.kid },
      agentClaims(t),
      ed25519Key(),
    );
  const revoke = async (path: string) =>
    expect(
      (await t.request(path, { method: "DELETE", headers: { authorization: `Bearer ${t.adminToken()}` } }))
        .status,
    ).toBe(200);

  it("a shape error beats a stale timestamp (parse before freshness)", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const stale = sign(agent, id, t.clock.nowMs() - 120_000);
    await expectRejected(t, withField(stale, "protocol", "seal/v0"), preToken(1000, "bad_protocol", id));
    await expectRejected(
      t,
      stale.replace('"method":"tools/call"', '"method":"tools/list"'),
      preToken(1000, "bad_method", id),
    );
  });

  it("a stale or future timestamp beats a bad, unsigned or expired token", async () => {
    const pair = generateKeyPair();
    const now = t.clock.nowMs();
    const expired = gatewayToken(
      t,
      agentClaims(t, { iat: Math.floor(now / 1000) - 7200, exp: Math.floor(now / 1000) - 3600 }),
    );
    for (const token of [forged(), unsignedToken(agentClaims(t)), "garbage", expired]) {
      const id1 = uid("req");
      await expectRejected(
        t,
        sign({ token, privateKeyB64: pair.privateKeyB64 }, id1, now - 31_000),
        preToken(1003, "stale_timestamp", id1),
      );
      const id2 = uid("req");
      await expectRejected(
        t,
        sign({ token, privateKeyB64: pair.privateKeyB64 }, id2, now + 31_000),
        preToken(1003, "future_timestamp", id2),
      );
    }
  });

  it("a bad token beats a bad signature, and an expired token beats a missing session", async () => {
    const pair = generateKeyPair();
    const id = uid("req");
    const body = sign({ token: forged(), privateKeyB64: pair.privateKeyB64 }, id);
    await expectRejected(t, withField(body, "signature", "%%%"), preToken(1004, "bad_token", id));
    const now = Math.floor(t.clock.nowMs() / 1000);
    const expired = gatewayToken(
      t,
      agentClaims(t, { exec_id: uid("ses"), iat: now - 7200, exp: now - 3600 }),
    );
    const id2 = uid("req");
    await expectRejected(
      t,
      withField(sign({ token: expired, privateKeyB64: pair.privateKeyB64 }, id2), "signature", "%%%"),
      preToken(1003, "token_expired", id2),
    );
  });

  it("claims of a forged token choose nothing: a forged exec_id of a revoked session is bad_token", async () => {
    const agent = await sessionAgent(t);
    await revoke(`/v1/seal/sessions/${agent.executionId}`);
    const token = foreignToken(
      { alg: "EdDSA", typ: "JWT", kid: t.gw.services.tokens.signingKey.kid },
      agentClaims(t, { sub: agent.sub, exec_id: agent.executionId }),
      ed25519Key(),
    );
    const id = uid("req");
    await expectRejected(
      t,
      sign({ token, privateKeyB64: agent.privateKeyB64 }, id),
      preToken(1004, "bad_token", id),
    );
  });

  it("no session beats a bad signature encoding", async () => {
    const pair = generateKeyPair();
    const claims = agentClaims(t, { exec_id: uid("ses") });
    const token = gatewayToken(t, claims);
    const id = uid("req");
    const agent = {
      token,
      privateKeyB64: pair.privateKeyB64,
      publicKeyB64: pair.publicKeyB64,
      sub: String(claims.sub),
      tenant: "default",
    };
    await expectRejected(
      t,
      withField(sign(agent, id), "signature", "%%%"),
      postToken(agent, 1005, "no_session", id),
    );
  });

  it("a binding mismatch beats a revoked session", async () => {
    const agent = await sessionAgent(t);
    await revoke(`/v1/seal/sessions/${agent.executionId}`);
    const other = { ...agent, sub: uid("agent") };
    other.token = t.gw.services.tokens.mintAgentToken({
      sub: other.sub,
      scp: "default",
      wid: uid("wid"),
      tenantId: "default",
      ttlSeconds: 600,
      nowSeconds: Math.floor(t.clock.nowMs() / 1000),
      execId: agent.executionId,
    }).token;
    const id = uid("req");
    await expectRejected(t, sign(other, id), postToken(other, 1005, "binding_mismatch", id));
  });

  it("a revoked session beats a bad signature (encoding or value)", async () => {
    const agent = await sessionAgent(t);
    await revoke(`/v1/seal/sessions/${agent.executionId}`);
    const id = uid("req");
    await expectRejected(
      t,
      withField(sign(agent, id), "signature", "%%%"),
      postToken(agent, 1006, "session_revoked", id),
    );
    const id2 = uid("req");
    await expectRejected(
      t,
      sign({ token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 }, id2),
      postToken(agent, 1006, "session_revoked", id2),
    );
  });

  it("a revoked agent key beats a bad signature", async () => {
    const agent = await keyAgent(t);
    await revoke(`/v1/agent-keys/${agent.keyId}`);
    const id = uid("req");
    await expectRejected(
      t,
      sign({ token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 }, id),
      postToken(agent, 1006, "key_revoked", id),
    );
  });

  it("an unusable cnf key beats a bad signature encoding", async () => {
    const agent = cnfAgent(t, Buffer.alloc(32).toString("base64url"));
    const id = uid("req");
    await expectRejected(
      t,
      withField(sign(agent, id), "signature", "%%%"),
      postToken(agent, 1001, "bad_key", id),
    );
  });

  it("a bad signature encoding beats a signature mismatch; a mismatch beats a replay", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = sign(agent, id);
    await expectRejected(
      t,
      withField(body, "signature", "%%%"),
      postToken(agent, 1001, "bad_signature_encoding", id),
    );
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub });
    const other = sign({ token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 }, id);
    await expectRejected(
      t,
      withField(body, "signature", JSON.parse(other).signature),
      postToken(agent, 1002, "signature_mismatch", id),
    );
    await expectRejected(t, body, postToken(agent, 1003, "replay", id));
  });
});
