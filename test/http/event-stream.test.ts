import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventInput } from "../../src/audit/recorder.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { readSse, type SseReader } from "../support/sse.js";
import { bearer, expectError } from "./support.js";

/**
 * GET /v1/events/stream: live rows as SSE, the same filters and tenant scoping as
 * GET /v1/events, resume by Last-Event-ID without gaps or duplicates, heartbeats, slow
 * clients dropped, the stream ending with its token — on SQLite and PostgreSQL.
 */

const TENANT = "st-main";
const OTHER = "st-other";

interface StreamItem {
  id: string;
  seq: number;
  event_type: string;
  tenant_id: string;
  tool_name: string | null;
  decision: string | null;
  payload: Record<string, unknown>;
}

function row(n: number, over: Partial<EventInput> = {}): EventInput {
  return {
    eventType: "ToolCallAuthorized",
    tenantId: TENANT,
    executionId: `exec-${n % 3}`,
    callId: `call-${n}`,
    agentId: "agent-s",
    toolName: n % 2 === 0 ? "tool.even" : "tool.odd",
    decision: "allow",
    stage: "authorize",
    code: null,
    requestId: `req-${n}`,
    payload: { rule: `capabilities[${n}]` },
    ...over,
  };
}

const items = (msgs: Array<{ data: string }>) => msgs.map((m) => JSON.parse(m.data) as StreamItem);

describe.each(BACKENDS)("GET /v1/events/stream (%s)", (backend) => {
  let t: TestGateway;
  const open: SseReader[] = [];
  const stream = async (query = "", headers: Record<string, string> = {}, token?: string) => {
    const res = await t.request(`/v1/events/stream${query}`, {
      headers: { ...bearer(token ?? t.operatorToken("viewer", TENANT)), ...headers },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const r = readSse(res);
    open.push(r);
    return r;
  };
  const record = (n: number, over: Partial<EventInput> = {}) => t.gw.audit.record(row(n, over));

  beforeAll(async () => {
    t = await startTestGateway(backend, {
      SEAL_GATEWAY_AUDIT_STREAM_POLL_MS: "50",
      SEAL_GATEWAY_AUDIT_STREAM_HEARTBEAT_MS: "1000",
      SEAL_GATEWAY_AUDIT_STREAM_BUFFER_BYTES: "65536",
      SEAL_GATEWAY_AUDIT_STREAM_MAX_CLIENTS: "8",
      SEAL_GATEWAY_AUDIT_SEAL_SETTLE_MS: "1000",
    });
    for (let i = 0; i < 3; i++) await record(100 + i); // history before any stream
  });
  afterAll(async () => {
    for (const r of open) await r.cancel();
    await t?.close();
  });

  it("starts at the present and delivers new rows oldest first, with seq as the SSE id", async () => {
    const s = await stream();
    await s.quiet(300); // the rows written before it opened are GET /v1/events' business
    const ids = [await record(1), await record(2), await record(3)];
    const got = await s.take(3);
    expect(items(got).map((e) => e.id)).toEqual(ids);
    expect(got.map((m) => m.id)).toEqual(items(got).map((e) => String(e.seq)));
    expect(items(got)[0]).toMatchObject({
      event_type: "ToolCallAuthorized",
      tenant_id: TENANT,
      payload: { rule: "capabilities[1]" },
    });
    await s.cancel();
  });

  it("applies the listing's filters and the token's tenant", async () => {
    const odd = await stream("?tool=tool.odd");
    const denied = await stream("?decision=reject&agent=agent-s");
    const all = await stream();
    await record(11, { tenantId: OTHER });
    const a = await record(12, { toolName: "tool.odd" });
    const b = await record(13, { decision: "reject", eventType: "PolicyDenied", toolName: "tool.even" });
    const c = await record(14, { toolName: "tool.even" });
    expect(items(await odd.take(1)).map((e) => e.id)).toEqual([a]);
    expect(items(await denied.take(1)).map((e) => e.id)).toEqual([b]);
    expect(items(await all.take(3)).map((e) => e.id)).toEqual([a, b, c]);
    await Promise.all([odd.quiet(200), denied.quiet(10), all.quiet(10)]);
    for (const s of [odd, denied, all]) await s.cancel();
  });

  it("lets an admin `*` token follow one tenant, or all of them", async () => {
    const one = await stream(`?tenant_id=${OTHER}`, {}, t.adminToken());
    const every = await stream("", {}, t.adminToken());
    const x = await record(21, { tenantId: OTHER });
    const y = await record(22);
    expect(items(await one.take(1)).map((e) => e.id)).toEqual([x]);
    expect(items(await every.take(2)).map((e) => e.id)).toEqual([x, y]);
    await one.cancel();
    await every.cancel();
  });

  it("resumes after Last-Event-ID with no gap and no duplicate", async () => {
    const first = await stream();
    const written = [];
    for (let i = 0; i < 4; i++) written.push(await record(30 + i));
    const seen = await first.take(2);
    await first.cancel();
    const lastId = seen[1]?.id ?? "";
    for (let i = 4; i < 8; i++) written.push(await record(30 + i));
    const resumed = await stream("", { "last-event-id": lastId });
    const rest = await resumed.take(6);
    expect([...items(seen), ...items(rest)].map((e) => e.id)).toEqual(written);
    await resumed.quiet(200);
    await resumed.cancel();
  });

  it("sends a comment heartbeat when idle", async () => {
    const s = await stream("?tool=nothing.matches");
    await s.quiet(1300);
    expect(s.comments).toContain("heartbeat");
    await s.cancel();
  });

  it("drops a client that stops reading; the gateway keeps serving the others", async () => {
    const res = await t.request("/v1/events/stream", { headers: bearer(t.operatorToken("viewer", TENANT)) });
    const live = await stream();
    const before = t.gw.streams.size;
    const big = "x".repeat(4096);
    const reading = live.take(40, 10_000); // a reader that keeps up
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(await record(40 + i, { payload: { rule: big } }));
    const got = await reading;
    expect(items(got).map((e) => e.id)).toEqual(ids);
    await expect.poll(() => t.gw.streams.size, { timeout: 5000 }).toBe(before - 1);
    // The stalled reader's buffer was discarded: reading now fails instead of replaying 160 KiB.
    const reader = res.body?.getReader();
    await expect(
      (async () => {
        for (;;) if ((await reader?.read())?.done) return;
      })(),
    ).rejects.toThrow(/too slow/);
    await live.cancel();
  });

  it("ends the stream when the token that opened it expires", async () => {
    const s = await stream("", {}, t.operatorToken("viewer", TENANT, 60));
    t.clock.advance(61_000);
    const end = await s.next(3000);
    expect(end).toMatchObject({ event: "end", data: JSON.stringify({ reason: "token_expired" }) });
    expect(await s.next(1000)).toBeNull();
  });

  it("refuses more open streams than stream_max_clients (503), and frees slots on close", async () => {
    const extra: SseReader[] = [];
    while (t.gw.streams.size < 8) extra.push(await stream("?tool=none"));
    await expectError(
      await t.request("/v1/events/stream", { headers: bearer(t.operatorToken("viewer", TENANT)) }),
      503,
      "too_many_streams",
    );
    for (const s of extra) await s.cancel();
    await expect.poll(() => t.gw.streams.size).toBeLessThan(8);
  });

  describe("refusals", () => {
    const REFUSED: Array<[string, string, Record<string, string> | null, number, string]> = [
      ["no token", "", null, 401, "missing_token"],
      ["malformed decision", "?decision=maybe", {}, 400, "invalid_query"],
      ["malformed since", "?since=yesterday", {}, 400, "invalid_query"],
      ["unknown filter", "?colour=red", {}, 400, "invalid_query"],
      ["paging is the listing's, not the stream's", "?limit=10", {}, 400, "invalid_query"],
      ["a cursor instead of Last-Event-ID", "?cursor=abc", {}, 400, "invalid_query"],
      ["Last-Event-ID that is no id", "", { "last-event-id": "evt_123" }, 400, "bad_last_event_id"],
      ["negative Last-Event-ID", "", { "last-event-id": "-1" }, 400, "bad_last_event_id"],
      ["another tenant's events", `?tenant_id=${OTHER}`, {}, 403, "wrong_tenant"],
    ];
    for (const [name, query, headers, status, reason] of REFUSED) {
      it(`${status}: ${name}`, async () => {
        const res = await t.request(`/v1/events/stream${query}`, {
          headers: headers === null ? {} : { ...bearer(t.operatorToken("viewer", TENANT)), ...headers },
        });
        await expectError(res, status, reason);
      });
    }

    it("401 for an agent's security token (the other plane)", async () => {
      const agent = t.gw.services.tokens.mintAgentToken({
        sub: "a",
        scp: "default",
        wid: "w",
        tenantId: TENANT,
        ttlSeconds: 600,
        nowSeconds: Math.floor(t.clock.nowMs() / 1000),
      }).token;
      await expectError(await t.request("/v1/events/stream", { headers: bearer(agent) }), 401);
    });

    it("never takes the token from the URL", async () => {
      const token = t.operatorToken("viewer", TENANT);
      await expectError(await t.request(`/v1/events/stream?access_token=${token}`), 401, "missing_token");
    });

    it("every role may read the stream of its own tenant", async () => {
      for (const role of ["viewer", "operator", "approver", "admin"] as const) {
        const s = await stream("?tool=none", {}, t.operatorToken(role, TENANT));
        await s.cancel();
      }
    });
  });

  if (backend === "postgres") {
    it("holds back a row whose earlier sequence number has not committed yet, then sends both in order", async () => {
      const s = await stream("?agent=gap-agent");
      const sql = postgres(t.config.database.url ?? "", { max: 1, onnotice: () => {} });
      try {
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let inserted: () => void = () => {};
        const insertedP = new Promise<void>((resolve) => {
          inserted = resolve;
        });
        const early = `evt_${randomBytes(8).toString("hex")}`;
        const tx = sql.begin(async (q) => {
          await q`insert into gateway_events (id, created_at, event_type, tenant_id, agent_id, payload)
                  values (${early}, ${t.clock.nowMs()}, 'ToolCallAuthorized', ${TENANT}, 'gap-agent', '{}')`;
          inserted();
          await held;
        });
        await insertedP;
        const late = await record(90, { agentId: "gap-agent" });
        await s.quiet(400); // the later row waits for the earlier number
        release();
        await tx;
        expect(items(await s.take(2)).map((e) => e.id)).toEqual([early, late]);

        // A rolled-back insert leaves a number that never fills: it is given up after the settle window.
        await sql
          .begin(async (q) => {
            await q`insert into gateway_events (id, created_at, event_type, tenant_id, agent_id, payload)
                    values (${`evt_${randomBytes(8).toString("hex")}`}, ${t.clock.nowMs()}, 'X', ${TENANT}, 'gap-agent', '{}')`;
            throw new Error("roll back");
          })
          .catch(() => undefined);
        const after = await record(91, { agentId: "gap-agent" });
        const started = Date.now();
        expect(items(await s.take(1, 5000)).map((e) => e.id)).toEqual([after]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      } finally {
        await sql.end({ timeout: 5 });
        await s.cancel();
      }
    });
  }
});
