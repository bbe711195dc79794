/**
 * Capability limits are enforced, not just configured (DESIGN §11): rate_limit answers 2005
 * with Retry-After once the window is used up, and max_response_size answers 4013.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { call, events, eventsOf, expectCode, putContext, sessionAgent, testTool } from "./support.js";

describe.each(BACKENDS)("rate limit and response cap (%s)", (backend) => {
  let t: TestGateway;
  const limited = testTool("rl.tool");
  const other = testTool("rl.other");
  const big = testTool("big.tool", {
    result: (ctx) => ({ data: "x".repeat(Number(ctx.arguments.size ?? 0)) }),
  });
  const rogue = testTool("web.rogue", { info: { kind: "workflow", upstreamHosts: ["evil.com"] } });

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      {
        tools: [
          {
            lookup: async (_t, n) => [limited, other, big, rogue].find((x) => x.name === n) ?? null,
            list: async () => [limited, other, big, rogue],
          },
        ],
      },
    );
    await putContext(t, {
      name: "rate-ctx",
      capabilities: [
        { tool_pattern: "rl.tool", rate_limit: { calls: 3, per_seconds: 60 } },
        { tool_pattern: "rl.other" },
      ],
    });
    await putContext(t, {
      name: "late-ctx",
      capabilities: [
        {
          tool_pattern: "web.*",
          domain_allowlist: ["example.com"],
          rate_limit: { calls: 100, per_seconds: 60 },
        },
        { tool_pattern: "web.*", rate_limit: { calls: 1, per_seconds: 60 }, max_response_size: 64 },
      ],
    });
    await putContext(t, {
      name: "cap-ctx",
      capabilities: [{ tool_pattern: "big.tool", max_response_size: 1000 }],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the 4th call in a window is 429 / 2005 with Retry-After ≤ 60; the next window is open again", async () => {
    // Start mid-window so Retry-After is measurably less than the whole window.
    t.clock.advance(15_000);
    const agent = await sessionAgent(t, { context: "rate-ctx" });
    for (let i = 0; i < 3; i++) {
      const r = await call(t, agent, "rl.tool", { i });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const r4 = await call(t, agent, "rl.tool", { i: 3 });
    const body = expectCode(r4, 429, 2005);
    expect(body.error?.details.reason).toBe("rate_limited");
    const retry = Number(r4.headers.get("retry-after"));
    expect(Number.isInteger(retry)).toBe(true);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(retry).toBe(45);
    expect(limited.runs).toHaveLength(3);
    const denied = (await eventsOf(t, agent.executionId)).filter((e) => e.event_type === "PolicyDenied");
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ code: 2005, payload: { rule: "capabilities[0].rate_limit" } });

    // Another capability of the same context is not limited by this one.
    expect((await call(t, agent, "rl.other", {})).status).toBe(200);

    // Still inside the window: refused again, and a refused call does not run.
    t.clock.advance((retry - 1) * 1000);
    expectCode(await call(t, agent, "rl.tool", { i: 4 }), 429, 2005);
    t.clock.advance(1000);
    const again = await call(t, agent, "rl.tool", { i: 5 });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(limited.runs).toHaveLength(4);
  });

  it("the limit is per agent: another sub has its own budget; a second session of the same sub shares it", async () => {
    const a1 = await sessionAgent(t, { context: "rate-ctx", sub: "shared-sub" });
    const a2 = await sessionAgent(t, { context: "rate-ctx", sub: "shared-sub" });
    const b = await sessionAgent(t, { context: "rate-ctx", sub: "other-sub" });
    expect((await call(t, a1, "rl.tool", {})).status).toBe(200);
    expect((await call(t, a2, "rl.tool", {})).status).toBe(200);
    expect((await call(t, a1, "rl.tool", {})).status).toBe(200);
    expectCode(await call(t, a2, "rl.tool", {}), 429, 2005);
    expect((await call(t, b, "rl.tool", {})).status).toBe(200);
  });

  it("concurrent calls cannot overshoot the limit", async () => {
    t.clock.advance(60_000);
    const agent = await sessionAgent(t, { context: "rate-ctx" });
    const before = limited.runs.length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(t, agent, "rl.tool", { c: i })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    expect(limited.runs.length - before).toBe(3);
  });

  it("max_response_size: over the cap is 502 / 4013, under it is 200", async () => {
    const agent = await sessionAgent(t, { context: "cap-ctx" });
    // {"data":"…"} is 11 bytes of framing around the string.
    const ok = await call(t, agent, "big.tool", { size: 1000 - 11 });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 300)).toBe(200);
    const over = await call(t, agent, "big.tool", { size: 1000 - 10 });
    const body = expectCode(over, 502, 4013);
    expect(body.error?.details).toMatchObject({
      reason: "response_too_large",
      bytes: 1001,
      max_response_size: 1000,
    });
    expect(JSON.stringify(body)).not.toContain("x".repeat(100));
    const huge = await call(t, agent, "big.tool", { size: 5_000_000 });
    expectCode(huge, 502, 4013);
    const rows = await events(t, { execution_id: agent.executionId });
    expect(rows.filter((e) => e.code === 4013)).toHaveLength(2);
    // The tool ran all three times: each run is recorded, the capped ones say so.
    const completed = rows.filter((e) => e.event_type === "ToolCallCompleted");
    expect(completed).toHaveLength(3);
    const capped = completed.filter(
      (e) => (e.payload as { over_max_response_size?: boolean }).over_max_response_size === true,
    );
    expect(capped).toHaveLength(2);
  });

  it("the limit of the capability that decides after lookup is enforced too", async () => {
    // Before lookup capabilities[0] allows (the tool's upstream host is not known yet); after
    // lookup the host fails it and capabilities[1], limited to 1 call, decides.
    t.clock.advance(60_000);
    const agent = await sessionAgent(t, { context: "late-ctx" });
    const first = await call(t, agent, "web.rogue", {});
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await call(t, agent, "web.rogue", {});
    const body = expectCode(second, 429, 2005);
    expect(body.error?.details.rule).toBe("capabilities[1].rate_limit");
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(rogue.runs).toHaveLength(1);
    // Its response cap applies as well.
    const capped = await call(t, await sessionAgent(t, { context: "late-ctx" }), "web.rogue", {
      pad: "y".repeat(100),
    });
    expectCode(capped, 502, 4013);
  });
});
