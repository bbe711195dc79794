/**
 * `revoke_after_denials`: a session that keeps probing what it may not do is revoked by policy
 * (SessionRevoked, actor policy), and its next call is 1006 session_revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectJson } from "../http/support.js";
import { BACKENDS, startTestGateway, T0, type TestGateway } from "../support/gateway.js";
import {
  bearer,
  call,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  sessionAgent,
  testTool,
} from "./support.js";

describe.each(BACKENDS)("revoke_after_denials (%s)", (backend) => {
  let t: TestGateway;
  const ok = testTool("ok.tool");

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [{ lookup: async (_t, n) => (n === ok.name ? ok : null), list: async () => [ok] }] },
    );
    await putContext(t, {
      name: "strict",
      deny_list: ["danger.*"],
      capabilities: [
        { tool_pattern: "ok.tool" },
        { tool_pattern: "fs.read", path_allowlist: ["/workspace/**"] },
      ],
      revoke_after_denials: { count: 3, per_seconds: 60 },
    });
    await putContext(t, { name: "lenient", capabilities: [{ tool_pattern: "ok.tool" }] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const status = async (a: SessionAgent) =>
    (
      await expectJson<{ session_status: string }>(
        await t.request(`/v1/seal/sessions/${a.executionId}`, { headers: bearer(t.adminToken()) }),
        200,
      )
    ).session_status;

  it("the third denial in the window revokes the session; the next call is 1006", async () => {
    t.clock.set(T0 + 3_600_000);
    const a = await sessionAgent(t, { context: "strict" });
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    // Allowed calls in between do not reset or add to the count.
    expect((await call(t, a, "ok.tool")).status).toBe(200);
    expectCode(await call(t, a, "danger.zone"), 403, 2001);
    expect(await status(a)).toBe("Active");
    expectCode(await call(t, a, "fs.read", { path: "/etc/passwd" }), 403, 2002);
    expect(await status(a)).toBe("Revoked");

    const rows = await eventsOf(t, a.executionId);
    const revoked = rows.filter((e) => e.event_type === "SessionRevoked");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({
      tenant_id: "default",
      agent_id: a.sub,
      payload: { actor: "policy:revoke_after_denials", denials: 3, per_seconds: 60, context: "strict" },
    });
    const denied = rows.filter((e) => e.event_type === "PolicyDenied");
    expect(denied).toHaveLength(3);
    expect((revoked[0]?.seq ?? 0) > (denied[2]?.seq ?? Number.POSITIVE_INFINITY)).toBe(true);

    const next = await call(t, a, "ok.tool");
    expectCode(next, 401, 1006);
    expect(next.body.error?.details.reason).toBe("session_revoked");
    expect(ok.runs).toHaveLength(1);
    const tools = await t.request("/v1/tools", { headers: bearer(a.token) });
    expect(tools.status).toBe(401);
  });

  it("denials in separate windows do not add up; other sessions have their own count", async () => {
    t.clock.set(T0 + 7_200_000);
    const a = await sessionAgent(t, { context: "strict" });
    const b = await sessionAgent(t, { context: "strict", sub: a.sub });
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expectCode(await call(t, b, "nope.tool"), 403, 2006);
    expectCode(await call(t, b, "nope.tool"), 403, 2006);
    t.clock.advance(60_000);
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expect(await status(a)).toBe("Active");
    expect(await status(b)).toBe("Active");
    expect((await call(t, a, "ok.tool")).status).toBe(200);
    expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expect(await status(a)).toBe("Revoked");
    expect(await status(b)).toBe("Active");
    expect((await call(t, b, "ok.tool")).status).toBe(200);
  });

  it("rate-limited refusals count as denials too", async () => {
    await putContext(t, {
      name: "strict-rate",
      capabilities: [{ tool_pattern: "ok.tool", rate_limit: { calls: 1, per_seconds: 60 } }],
      revoke_after_denials: { count: 3, per_seconds: 60 },
    });
    t.clock.set(T0 + 10_800_000);
    const a = await sessionAgent(t, { context: "strict-rate" });
    expect((await call(t, a, "ok.tool")).status).toBe(200);
    for (let i = 0; i < 3; i++) expectCode(await call(t, a, "ok.tool"), 429, 2005);
    expect(await status(a)).toBe("Revoked");
    expectCode(await call(t, a, "ok.tool"), 401, 1006);
  });

  it("concurrent denials past the count revoke once", async () => {
    t.clock.set(T0 + 14_400_000);
    const a = await sessionAgent(t, { context: "strict" });
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(t, a, "nope.tool")));
    // Each either was denied by policy or, arriving after the revocation, by authentication.
    for (const r of answers) expect([2006, 1006]).toContain(r.body.error?.code);
    expect(await status(a)).toBe("Revoked");
    const revoked = (await eventsOf(t, a.executionId)).filter((e) => e.event_type === "SessionRevoked");
    expect(revoked).toHaveLength(1);
  });

  it("a context without the directive never revokes", async () => {
    const a = await sessionAgent(t, { context: "lenient" });
    for (let i = 0; i < 8; i++) expectCode(await call(t, a, "nope.tool"), 403, 2006);
    expect(await status(a)).toBe("Active");
    expect((await eventsOf(t, a.executionId)).some((e) => e.event_type === "SessionRevoked")).toBe(false);
  });
});
