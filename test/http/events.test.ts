import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventInput } from "../../src/audit/recorder.js";
import type { Decision, EventType } from "../../src/audit/vocabulary.js";
import { BACKENDS, startTestGateway, T0, type TestGateway } from "../support/gateway.js";
import { bearer, expectError, expectJson } from "./support.js";

interface EventItem {
  id: string;
  seq: number;
  created_at: string;
  event_type: string;
  tenant_id: string;
  execution_id: string | null;
  agent_id: string | null;
  tool_name: string | null;
  decision: string | null;
  stage: string | null;
  payload: Record<string, unknown>;
}
interface Page {
  items: EventItem[];
  next_cursor: string | null;
}

interface Seeded {
  id: string;
  createdAt: number;
  eventType: string;
  tenantId: string;
  executionId: string;
  agentId: string;
  toolName: string;
  decision: string;
  stage: string;
}

const TENANT = "ev-main";
const TYPES = ["ToolCallAuthorized", "PolicyDenied", "EnvelopeRejected"] as const;
const DECISION: Record<(typeof TYPES)[number], Decision> = {
  ToolCallAuthorized: "allow",
  PolicyDenied: "reject",
  EnvelopeRejected: "reject",
};
const STEP_MS = 10_000;

describe.each(BACKENDS)("control plane: GET /v1/events (%s)", (backend) => {
  let t: TestGateway;
  let viewer: string;
  const seeded: Seeded[] = [];
  // Refused requests of this file add their own ControlRequestRejected rows to the tenant.
  const seededRow = (e: { event_type: string }) => e.event_type !== "ControlRequestRejected";
  const get = (query: string, token = viewer) => t.request(`/v1/events${query}`, { headers: bearer(token) });
  /** The rows a filter must return for TENANT, newest first. */
  const expected = (keep: (s: Seeded) => boolean) =>
    seeded
      .filter((s) => s.tenantId === TENANT && keep(s))
      .reverse()
      .map((s) => s.id);

  beforeAll(async () => {
    t = await startTestGateway(backend);
    viewer = t.operatorToken("viewer", TENANT);
    for (let i = 0; i < 30; i++) {
      t.clock.set(T0 + i * STEP_MS);
      const eventType = TYPES[i % 3] ?? "ToolCallAuthorized";
      const type: EventType = i === 7 ? "ApprovalRequested" : eventType;
      const row = {
        eventType: type,
        tenantId: i % 10 === 9 ? "ev-other" : TENANT,
        executionId: `exec-${i % 5}`,
        callId: `call-${i}`,
        agentId: i % 2 === 0 ? "agent-even" : "agent-odd",
        toolName: `tool.${"abcd"[i % 4]}`,
        decision: i === 7 ? "escalate" : DECISION[eventType],
        stage: eventType === "EnvelopeRejected" ? "authenticate" : "authorize",
        code: null,
        requestId: `req-${i}`,
        // A field each seeded type allows (payloads are allow-listed per event type).
        payload: type === "EnvelopeRejected" ? { reason: `r-${i}` } : { rule: `r-${i}` },
      } satisfies EventInput;
      const id = await t.gw.audit.record(row);
      seeded.push({ id, createdAt: T0 + i * STEP_MS, ...row });
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it("returns the tenant's rows newest first, in the documented shape", async () => {
    const page = await expectJson<Page>(await get("?limit=1000"), 200);
    expect(page.items.filter(seededRow).map((e) => e.id)).toEqual(expected(() => true));
    expect(page.next_cursor).toBeNull();
    const seqs = page.items.map((e) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const first = page.items.filter(seededRow).at(-1);
    expect(first).toMatchObject({
      event_type: "ToolCallAuthorized",
      tenant_id: TENANT,
      execution_id: "exec-0",
      agent_id: "agent-even",
      tool_name: "tool.a",
      decision: "allow",
      stage: "authorize",
      created_at: new Date(T0).toISOString(),
      payload: { rule: "r-0" },
    });
  });

  const FILTERS: Array<[string, (s: Seeded) => boolean]> = [
    ["?type=PolicyDenied", (s) => s.eventType === "PolicyDenied"],
    ["?agent=agent-odd", (s) => s.agentId === "agent-odd"],
    ["?tool=tool.c", (s) => s.toolName === "tool.c"],
    ["?decision=reject", (s) => s.decision === "reject"],
    ["?decision=escalate", (s) => s.decision === "escalate"],
    ["?stage=authenticate", (s) => s.stage === "authenticate"],
    ["?execution_id=exec-3", (s) => s.executionId === "exec-3"],
    [
      "?type=EnvelopeRejected&agent=agent-even&stage=authenticate",
      (s) => s.eventType === "EnvelopeRejected" && s.agentId === "agent-even",
    ],
    // since is inclusive, until exclusive; both accept RFC 3339 or Unix seconds.
    [`?since=${new Date(T0 + 20 * STEP_MS).toISOString()}`, (s) => s.createdAt >= T0 + 20 * STEP_MS],
    [`?until=${(T0 + 5 * STEP_MS) / 1000}`, (s) => s.createdAt < T0 + 5 * STEP_MS],
    [
      `?since=${(T0 + 10 * STEP_MS) / 1000}&until=${encodeURIComponent(new Date(T0 + 15 * STEP_MS).toISOString())}`,
      (s) => s.createdAt >= T0 + 10 * STEP_MS && s.createdAt < T0 + 15 * STEP_MS,
    ],
    ["?type=NoSuchType", () => false],
  ];
  for (const [query, keep] of FILTERS) {
    it(`filters ${query}`, async () => {
      const want = expected(keep);
      const page = await expectJson<Page>(await get(`${query}&limit=1000`), 200);
      expect(page.items.map((e) => e.id)).toEqual(want);
      if (!query.includes("NoSuchType")) expect(want.length).toBeGreaterThan(0);
    });
  }

  it("keeps tenants apart; only an admin with tenant * reads other tenants", async () => {
    const other = seeded.filter((s) => s.tenantId === "ev-other").map((s) => s.id);
    const mine = await expectJson<Page>(await get("?limit=1000"), 200);
    expect(mine.items.some((e) => other.includes(e.id))).toBe(false);
    await expectError(await get("?tenant_id=ev-other"), 403, "wrong_tenant");
    const admin = t.adminToken();
    const theirs = await expectJson<Page>(await get("?tenant_id=ev-other&limit=1000", admin), 200);
    expect(theirs.items.map((e) => e.id)).toEqual([...other].reverse());
    const everything = await expectJson<Page>(await get("?limit=1000", admin), 200);
    expect(everything.items.map((e) => e.id)).toEqual(expect.arrayContaining(seeded.map((s) => s.id)));
  });

  async function walk(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const q: string = `${query}${query ? "&" : "?"}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await expectJson<Page>(await get(q), 200);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.filter(seededRow).map((e) => e.id));
      if (page.next_cursor === null) return ids;
      expect(page.items.length).toBe(limit);
      cursor = page.next_cursor;
    }
    throw new Error("pagination did not end");
  }

  for (const limit of [1, 4, 7, 27, 28]) {
    it(`walks every row exactly once with limit=${limit}`, async () => {
      const ids = await walk("", limit);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expected(() => true));
    });
  }

  it("walks a filtered listing exactly once", async () => {
    const ids = await walk("?decision=reject", 3);
    expect(ids).toEqual(expected((s) => s.decision === "reject"));
  });

  it("limit=1 returns one row and a cursor; the default limit is 100", async () => {
    const one = await expectJson<Page>(await get("?limit=1"), 200);
    expect(one.items).toHaveLength(1);
    expect(typeof one.next_cursor).toBe("string");
    const dflt = await expectJson<Page>(await get(""), 200);
    expect(dflt.items.filter(seededRow)).toHaveLength(expected(() => true).length);
  });

  for (const limit of ["0", "1001", "-1", "abc", "1.5", ""]) {
    it(`refuses limit=${JSON.stringify(limit)}`, async () => {
      const err = await expectError(await get(`?limit=${limit}`), 400, "invalid_query");
      expect(err.error.details.problems?.map((p) => p.path)).toEqual(["limit"]);
    });
  }

  const BAD_CURSORS = [
    "!!!",
    Buffer.from("seq:abc").toString("base64url"),
    Buffer.from("seq:0").toString("base64url"),
    Buffer.from("seq:-5").toString("base64url"),
    "x".repeat(200),
  ];
  for (const cursor of BAD_CURSORS) {
    it(`refuses cursor ${JSON.stringify(cursor.slice(0, 20))}`, async () => {
      const res = await get(`?cursor=${encodeURIComponent(cursor)}`);
      const err = await expectError(res, 400);
      expect(["bad_cursor", "invalid_query"]).toContain(err.error.details.reason);
    });
  }

  it("refuses unknown and malformed query parameters, naming them", async () => {
    const unknown = await expectError(await get("?types=PolicyDenied&agnt=x"), 400, "invalid_query");
    expect(unknown.error.details.problems?.map((p) => p.path).sort()).toEqual(["agnt", "types"]);
    for (const [q, path] of [
      ["?decision=maybe", "decision"],
      ["?since=yesterday", "since"],
      ["?until=2026-13-45T00:00:00Z", "until"],
    ] as const) {
      const err = await expectError(await get(q), 400, "invalid_query");
      expect(err.error.details.problems?.map((p) => p.path)).toEqual([path]);
    }
  });
});
