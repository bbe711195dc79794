/**
 * DESIGN §2 row 7: replay protection. Only envelopes whose signature verified are recorded;
 * `replay_scope: token` makes every jti single-use.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type Caller, keyAgent, sessionAgent } from "./agents.js";
import {
  type ExpectedRejection,
  expectPolicyDenied,
  expectRejected,
  fieldOf,
  uid,
  withField,
} from "./helpers.js";

const replayOf = (agent: Caller, requestId: string, executionId?: string): ExpectedRejection => ({
  status: 401,
  code: 1003,
  reason: "replay",
  stage: "authenticate",
  tenant: agent.tenant,
  agentId: agent.sub,
  requestId,
  secrets: [agent.token],
  ...(executionId ? { executionId } : {}),
});

/** The same envelope with a signature by another key: identical signed bytes, unverifiable. */
function forgedTwin(t: TestGateway, agent: Caller, id: string, at: number): string {
  const good = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at });
  const other = envelopeBody(
    t,
    { token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 },
    "demo.tool",
    { q: "x" },
    { id, at },
  );
  return withField(good, "signature", fieldOf(other, "signature"));
}

describe.each(BACKENDS)("replay, scope envelope (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the same body twice: the second (and every later one) is 1003 replay", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub });
    await expectRejected(t, body, replayOf(agent, id, agent.executionId));
    await expectRejected(t, body, replayOf(agent, id, agent.executionId));
  });

  it("a replay through the alias route is still a replay", async () => {
    const agent = await keyAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub }, { path: "/v1/seal/invoke" });
    await expectRejected(t, body, replayOf(agent, id, agent.jti));
  });

  it("a re-spelled copy of a verified envelope (same signed bytes) is a replay", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub });
    const sig = String(fieldOf(body, "signature"));
    const respelled = JSON.stringify(JSON.parse(body), null, 2).replace(
      sig,
      Buffer.from(sig, "base64").toString("base64url"),
    );
    await expectRejected(t, respelled, replayOf(agent, id));
  });

  it("distinct envelopes under one token all pass (a session token is not single-use by default)", async () => {
    const agent = await sessionAgent(t);
    for (let i = 0; i < 3; i++)
      await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }), {
        tenant: "default",
        agentId: agent.sub,
      });
    const id = uid("req");
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id }), {
      tenant: "default",
      agentId: agent.sub,
    });
    t.clock.advance(1000);
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id }), {
      tenant: "default",
      agentId: agent.sub,
    });
  });

  it("a rejected, unverified envelope is never recorded: the genuine one after it passes", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const at = t.clock.nowMs();
    await expectRejected(t, forgedTwin(t, agent, id, at), {
      ...replayOf(agent, id),
      code: 1002,
      reason: "signature_mismatch",
    });
    const good = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at });
    await expectPolicyDenied(t, good, { tenant: "default", agentId: agent.sub });
    await expectRejected(t, good, replayOf(agent, id));
  });

  it("a replayed body with a tampered signature is a signature failure, not a replay", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const at = t.clock.nowMs();
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at }), {
      tenant: "default",
      agentId: agent.sub,
    });
    await expectRejected(t, forgedTwin(t, agent, id, at), {
      ...replayOf(agent, id),
      code: 1002,
      reason: "signature_mismatch",
    });
  });
});

describe.each(BACKENDS)("replay, scope token (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend, { SEAL_GATEWAY_SEAL_REPLAY_SCOPE: "token" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("any second envelope under the same token is 1003 replay; a fresh token works", async () => {
    expect(t.config.seal.replay_scope).toBe("token");
    const agent = await sessionAgent(t);
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }), {
      tenant: "default",
      agentId: agent.sub,
    });
    const id = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "other.tool", { q: "y" }, { id }),
      replayOf(agent, id, agent.executionId),
    );
    t.clock.advance(120_000);
    const id2 = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "z" }, { id: id2 }),
      replayOf(agent, id2, agent.executionId),
    );
    const fresh = t.gw.services.tokens.mintAgentToken({
      sub: agent.sub,
      scp: "default",
      wid: uid("wid"),
      tenantId: "default",
      ttlSeconds: 600,
      nowSeconds: Math.floor(t.clock.nowMs() / 1000),
      execId: agent.executionId,
    }).token;
    await expectPolicyDenied(
      t,
      envelopeBody(
        t,
        { token: fresh, privateKeyB64: agent.privateKeyB64 },
        "demo.tool",
        { q: "x" },
        { id: uid("req") },
      ),
      { tenant: "default", agentId: agent.sub },
    );
  });

  it("an unverified envelope does not use up the token", async () => {
    const agent = await keyAgent(t);
    const id = uid("req");
    const at = t.clock.nowMs();
    await expectRejected(t, forgedTwin(t, agent, id, at), {
      ...replayOf(agent, id),
      code: 1002,
      reason: "signature_mismatch",
    });
    const idBadEnc = uid("req");
    const badEncoding = withField(
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: idBadEnc }),
      "signature",
      "***",
    );
    await expectRejected(t, badEncoding, {
      ...replayOf(agent, idBadEnc),
      code: 1001,
      reason: "bad_signature_encoding",
    });
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }), {
      tenant: "default",
      agentId: agent.sub,
    });
    const id2 = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: id2 }),
      replayOf(agent, id2),
    );
  });
});
