/**
 * DESIGN §2 row 3: the timestamp forms a client may send and the freshness window
 * (|now − timestamp| ≤ freshness_seconds, default 30, configurable up to 60).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { independentSign } from "../support/independent-signer.js";
import { type Caller, sessionAgent } from "./agents.js";
import { type ExpectedRejection, expectPolicyDenied, expectRejected, nowSeconds, uid } from "./helpers.js";

/** RFC 3339 with a numeric offset, e.g. 2026-01-01T02:00:00+02:00 for 00:00:00Z. */
function withOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function signedAt(agent: Caller, timestamp: string | number, id = uid("req")): string {
  return independentSign({
    securityToken: agent.token,
    payload: {
      json: {
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "demo.tool", arguments: { q: "x" } },
      },
    },
    timestamp,
    privateKeyB64: agent.privateKeyB64,
  }).body;
}

describe.each(BACKENDS)("timestamp forms and freshness (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const expired = (reason: string, requestId: string): ExpectedRejection => ({
    status: 401,
    code: 1003,
    reason,
    stage: "authenticate",
    tenant: "system",
    requestId,
  });

  it("accepts RFC 3339 with Z (with and without fraction), with an offset, and integer seconds", async () => {
    const now = t.clock.nowMs();
    const forms: Array<string | number> = [
      new Date(now).toISOString(),
      new Date(now).toISOString().replace(".000Z", "Z"),
      withOffset(now, 120),
      withOffset(now, -330),
      nowSeconds(t),
    ];
    for (const ts of forms) {
      const agent = await sessionAgent(t);
      await expectPolicyDenied(t, signedAt(agent, ts), {
        tenant: "default",
        agentId: agent.sub,
        binding: "session",
      });
    }
    const agent = await sessionAgent(t);
    const sdkUnix = signEnvelope({
      securityToken: agent.token,
      payload: toolCallPayload({ name: "demo.tool", id: uid("req") }),
      privateKeyB64: agent.privateKeyB64,
      now: new Date(now),
      timestampFormat: "unix",
    });
    expect(sdkUnix.body).toContain(`"timestamp":${nowSeconds(t)}`);
    await expectPolicyDenied(t, sdkUnix.body, { tenant: "default", agentId: agent.sub });
  });

  it("an offset timestamp means the instant it names (+02:00 two hours ahead in wall time is now)", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    // The wall-clock time of now, labelled as UTC: two hours off the real instant.
    const mislabelled = withOffset(t.clock.nowMs(), 120).replace("+02:00", "Z");
    await expectRejected(t, signedAt(agent, mislabelled, id), {
      ...expired("future_timestamp", id),
      secrets: [agent.token],
    });
  });

  it("31 s old is stale_timestamp, 31 s ahead is future_timestamp", async () => {
    const agent = await sessionAgent(t);
    const now = t.clock.nowMs();
    const id1 = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: id1, at: now - 31_000 }),
      expired("stale_timestamp", id1),
    );
    const id2 = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: id2, at: now + 31_000 }),
      expired("future_timestamp", id2),
    );
    const id3 = uid("req");
    await expectRejected(t, signedAt(agent, nowSeconds(t) - 31, id3), expired("stale_timestamp", id3));
  });

  it("exactly 30 s either way passes", async () => {
    const now = t.clock.nowMs();
    for (const at of [now - 30_000, now + 30_000]) {
      const agent = await sessionAgent(t);
      await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { at }), {
        tenant: "default",
        agentId: agent.sub,
      });
    }
  });

  it("the window follows the gateway clock, not the signing time", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    t.clock.advance(31_000);
    await expectRejected(t, body, expired("stale_timestamp", id));
  });
});

describe.each(BACKENDS)("freshness_seconds 60 (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend, { SEAL_GATEWAY_SEAL_FRESHNESS_SECONDS: "60" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("60 s either way passes, 61 s is rejected", async () => {
    expect(t.config.seal.freshness_seconds).toBe(60);
    const now = t.clock.nowMs();
    for (const at of [now - 60_000, now + 60_000, now - 45_000]) {
      const agent = await sessionAgent(t);
      await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { at }), {
        tenant: "default",
        agentId: agent.sub,
      });
    }
    const agent = await sessionAgent(t);
    for (const [at, reason] of [
      [now - 61_000, "stale_timestamp"],
      [now + 61_000, "future_timestamp"],
    ] as const) {
      const id = uid("req");
      await expectRejected(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at }), {
        status: 401,
        code: 1003,
        reason,
        stage: "authenticate",
        tenant: "system",
        requestId: id,
      });
    }
  });
});
