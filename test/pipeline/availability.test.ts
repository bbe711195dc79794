/**
 * The audit side of rejections: the per-source budget for unauthenticated rejections (with its
 * summary row), and fail-closed behaviour when the database is gone (5030, nothing runs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { sessionAgent } from "./agents.js";
import {
  eventsSince,
  expectPolicyDenied,
  expectRejected,
  freshSource,
  maxSeq,
  send,
  uid,
} from "./helpers.js";

describe.each(BACKENDS)("pre-authentication audit budget (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend, { SEAL_GATEWAY_AUDIT_PREAUTH_RATE_PER_MINUTE: "3" });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("10 garbage bodies from one source: every one answered, 3 rows, then one summary with dropped 7", async () => {
    const source = freshSource();
    const before = await maxSeq(t);
    for (let i = 0; i < 10; i++) {
      const res = await send(t, `garbage ${i}`, { source });
      expect([res.status, res.json.error.code, res.json.error.details.reason]).toEqual([
        400,
        1000,
        "malformed_json",
      ]);
    }
    const rows = await eventsSince(t, before);
    expect(rows.map((r) => [r.eventType, r.tenantId, r.code])).toEqual(
      Array.from({ length: 3 }, () => ["EnvelopeRejected", "system", 1000]),
    );
    await t.gw.audit.flushSummaries();
    const after = (await eventsSince(t, before)).slice(3);
    expect(after).toHaveLength(1);
    const summary = after[0];
    expect(summary).toMatchObject({ eventType: "EnvelopeRejectedSummary", tenantId: "system" });
    expect(JSON.parse(summary?.payload ?? "{}")).toMatchObject({
      source,
      dropped: 7,
      reasons: { malformed_json: 7 },
    });
  });

  it("the budget is per source, and rejections after the token verified are never dropped", async () => {
    const source = freshSource();
    for (let i = 0; i < 3; i++) await send(t, "{", { source });
    const otherSource = freshSource();
    await expectRejected(
      t,
      "{",
      { status: 400, code: 1000, reason: "malformed_json", stage: "parse", tenant: "system" },
      { source: otherSource },
    );
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub }, { source });
    for (let i = 0; i < 5; i++) {
      await expectRejected(
        t,
        body,
        {
          status: 401,
          code: 1003,
          reason: "replay",
          stage: "authenticate",
          tenant: "default",
          agentId: agent.sub,
          requestId: id,
        },
        { source },
      );
    }
    await t.gw.audit.flushSummaries();
  });

  it("a new minute restores the budget", async () => {
    const source = freshSource();
    for (let i = 0; i < 4; i++) await send(t, "{", { source });
    t.clock.advance(60_000);
    const before = await maxSeq(t);
    await send(t, "{", { source });
    const rows = await eventsSince(t, before);
    // The previous window's summary is written when the new window opens, then the row itself.
    expect(rows.map((r) => r.eventType)).toEqual(["EnvelopeRejectedSummary", "EnvelopeRejected"]);
    expect(JSON.parse(rows[0]?.payload ?? "{}")).toMatchObject({ source, dropped: 1 });
  });
});

describe.each(BACKENDS)("database down (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
  });

  it("fails closed: 503 5030 unavailable for valid and invalid envelopes, no internals leaked", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const ready = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await t.gw.store.close();
    const cases: Array<[string, unknown]> = [
      [ready, id],
      ["{", null],
      [
        envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: "stale", at: t.clock.nowMs() - 120_000 }),
        "stale",
      ],
    ];
    for (const [body, requestId] of cases) {
      const res = await send(t, body);
      expect({
        status: res.status,
        code: res.json.error?.code,
        reason: res.json.error?.details?.reason,
        requestId: res.json.error?.request_id,
      }).toEqual({
        status: 503,
        code: 5030,
        reason: "unavailable",
        requestId,
      });
      expect(res.text).not.toMatch(/sqlite|postgres|select|insert|ECONN|stack|at .*\.ts/i);
      expect(res.text).not.toContain(agent.token);
    }
  });
});
