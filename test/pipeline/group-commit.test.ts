/**
 * "No audit, no action" under group commit (DESIGN §6): calls whose rows share a failed batch
 * are all answered 5030 and none of them runs; a replay claim in a failed batch was never
 * taken, so the same envelope runs once the store is back; batches after a failure commit.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import type { WriteBatch } from "../../src/store/types.js";
import { staticTools } from "../../src/tools/registry.js";
import { putContext, sessionAgent, testTool } from "../authorization/support.js";
import { batchTap } from "../support/batch-tap.js";
import { BACKENDS, invoke, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("group commit in the call path (%s)", (backend) => {
  const tool = testTool("gc.echo");
  const tap = batchTap();
  const failed = tap.failed;
  let t: TestGateway;
  let agent: Awaited<ReturnType<typeof sessionAgent>>;

  beforeAll(async () => {
    t = await startTestGateway(backend, {}, { tools: [staticTools([tool])], interceptStore: tap.intercept });
    await putContext(t, { name: "gc", capabilities: [{ tool_pattern: "gc.*" }] });
    agent = await sessionAgent(t, { context: "gc" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const envelope = () =>
    signEnvelope({
      securityToken: agent.token,
      payload: toolCallPayload({
        name: "gc.echo",
        arguments: {},
        id: `gc-${randomBytes(4).toString("hex")}`,
      }),
      privateKeyB64: agent.privateKeyB64,
      now: new Date(t.clock.nowMs()),
    }).body;

  async function callsWhileFailing(when: (batch: WriteBatch) => boolean, bodies: string[]) {
    tap.failWhen = when;
    failed.length = 0;
    try {
      return await Promise.all(bodies.map((b) => invoke(t, b)));
    } finally {
      tap.failWhen = null;
    }
  }

  it("a failed batch of replay claims: every call in it 5030, none runs, and the claims were never taken", async () => {
    const bodies = Array.from({ length: 6 }, envelope);
    const runsBefore = tool.runs.length;
    const answers = await callsWhileFailing((b) => b.replays.length > 0, bodies);
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: { code: 5030, details: { reason: "unavailable" } } });
      expect(JSON.stringify(res.body)).not.toContain("injected");
    }
    expect(tool.runs.length).toBe(runsBefore);
    expect(failed.flatMap((b) => b.replays)).toHaveLength(6);
    if (backend === "sqlite") expect(failed.some((b) => b.replays.length > 1)).toBe(true);
    // The same envelopes now run: their claims rolled back with the batch.
    const again = await Promise.all(bodies.map((b) => invoke(t, b)));
    expect(again.map((r) => r.status)).toEqual(bodies.map(() => 200));
    expect(tool.runs.length).toBe(runsBefore + 6);
  });

  it("a failed batch holding the calls' ToolCallAuthorized rows: 5030, none runs", async () => {
    const runsBefore = tool.runs.length;
    const answers = await callsWhileFailing(
      (b) => b.events.some((e) => e.eventType === "ToolCallAuthorized"),
      Array.from({ length: 4 }, envelope),
    );
    expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    expect(tool.runs.length).toBe(runsBefore);
    // Each call is stopped by exactly one failed batch: its ToolCallAuthorized row's, or — when
    // its replay claim shared a batch with another call's row (verification finishes in the
    // thread pool, so calls reach the store in different turns) — its claim's.
    const authorizedRows = failed
      .flatMap((b) => b.events)
      .filter((e) => e.eventType === "ToolCallAuthorized");
    expect(authorizedRows.length).toBeGreaterThan(0);
    expect(authorizedRows.length + failed.flatMap((b) => b.replays).length).toBe(4);
    // Nothing of the failed batches reached the table.
    const ids = new Set(failed.flatMap((b) => b.events.map((e) => e.id)));
    const rows = await t.gw.store.listEvents({ tenantId: "*", limit: 1000 });
    expect(rows.filter((r) => ids.has(r.id))).toEqual([]);
  });
});
