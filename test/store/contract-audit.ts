/** Contract: audit events, the sealing step and checkpoints. */
import { describe, expect, it } from "vitest";
import type { EventRow, NewEvent, SealedUpdate, Store } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { checkpoint, hashOf, newEvent, T0, uid } from "./fixtures.js";
import { eventsAfter, latestCheckpoint } from "./test-methods.js";

async function append(store: Store, events: NewEvent[]): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  for (const e of events) {
    const seq = await store.appendEvent(e);
    rows.push({ ...e, seq, chainSeq: null, prevHash: null, hash: null });
  }
  return rows;
}

function chainUpdates(rows: EventRow[], fromChainSeq: number): SealedUpdate[] {
  return rows.map((r, i) => ({
    seq: r.seq,
    chainSeq: fromChainSeq + i + 1,
    prevHash: hashOf(fromChainSeq + i),
    hash: hashOf(fromChainSeq + i + 1),
  }));
}

function sealed(rows: EventRow[], updates: SealedUpdate[]): EventRow[] {
  return rows.map((r, i) => {
    const u = updates[i];
    if (u === undefined) throw new Error("update missing");
    return { ...r, chainSeq: u.chainSeq, prevHash: u.prevHash, hash: u.hash };
  });
}

export function auditContract(ctx: ContractContext): void {
  describe("audit events", () => {
    it("appends rows with increasing seq and reads every field back", async () => {
      const store = ctx.store();
      const rows = await append(store, [
        newEvent(),
        newEvent({
          executionId: null,
          callId: null,
          agentId: null,
          toolName: null,
          decision: null,
          stage: null,
          code: 5030,
          requestId: null,
          createdAt: Number.MAX_SAFE_INTEGER,
        }),
      ]);
      const [a, b] = rows;
      if (a === undefined || b === undefined) throw new Error("rows missing");
      expect(b.seq).toBeGreaterThan(a.seq);
      expect(await eventsAfter(store, 0, 10)).toEqual(rows);
    });

    it("stores payload text byte for byte: unicode, escapes, spacing and big numbers", async () => {
      const store = ctx.store();
      const payloads = [
        '{"big":123456789012345678901234567890,"neg":-0.000000000000000000001e-400,"f":1.0}',
        '{ "spaced" :\t[ 1 , 2 ]\n}',
        '{"emoji":"👩‍💻","nfd":"e\u0301","nfc":"é","ls":"\u2028\u2029","esc":"\\u0000\\ud800","bmp":"中文"}',
        '{"k":"\'; DROP TABLE gateway_events; --"}',
        `{"long":"${"x".repeat(100_000)}"}`,
        "",
      ];
      for (const payload of payloads) {
        const seq = await store.appendEvent(newEvent({ payload }));
        const [row] = await eventsAfter(store, seq - 1, 1);
        expect(row?.payload).toBe(payload);
        expect(Buffer.from(row?.payload ?? "x", "utf8").equals(Buffer.from(payload, "utf8"))).toBe(true);
      }
    });

    it("gives concurrent appends distinct sequence numbers and loses none", async () => {
      const store = ctx.store();
      const events = Array.from({ length: 60 }, () => newEvent());
      const seqs = await Promise.all(events.map((e) => store.appendEvent(e)));
      expect(new Set(seqs).size).toBe(events.length);
      const stored = await eventsAfter(store, 0, 1000);
      expect(stored.map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
      expect(stored.map((r) => r.seq)).toEqual([...seqs].sort((x, y) => x - y));
    });

    it("refuses a duplicate event id", async () => {
      const store = ctx.store();
      const e = newEvent();
      await store.appendEvent(e);
      await expect(store.appendEvent(newEvent({ id: e.id }))).rejects.toMatchObject({ conflict: true });
      expect((await store.countEvents()).total).toBe(1);
    });
  });

  describe("writing a batch (group commit)", () => {
    it("writes every event and claim, answering in the order given", async () => {
      const store = ctx.store();
      await store.recordReplay("held", T0 + 60_000);
      const events = Array.from({ length: 5 }, () => newEvent());
      const out = await store.writeBatch({
        events,
        replays: [
          { key: "k1", expiresAt: T0 + 60_000 },
          { key: "held", expiresAt: T0 + 60_000 },
          { key: "k2", expiresAt: T0 + 60_000 },
          // The same key twice in one batch: only the first claim is fresh.
          { key: "k1", expiresAt: T0 + 90_000 },
        ],
      });
      expect(out.fresh).toEqual([true, false, true, false]);
      expect(out.seqs).toHaveLength(5);
      expect([...out.seqs].sort((a, b) => a - b)).toEqual(out.seqs);
      const stored = await eventsAfter(store, 0, 100);
      expect(stored.map((r) => [r.id, r.seq])).toEqual(events.map((e, i) => [e.id, out.seqs[i]]));
      expect(await store.recordReplay("k2", T0 + 60_000)).toBe(false);
      expect(await store.countReplay()).toBe(3);
    });

    it("answers an empty batch, and a batch of one kind", async () => {
      const store = ctx.store();
      expect(await store.writeBatch({ events: [], replays: [] })).toEqual({ seqs: [], fresh: [] });
      expect(await store.writeBatch({ events: [], replays: [{ key: "only", expiresAt: T0 }] })).toEqual({
        seqs: [],
        fresh: [true],
      });
      const one = await store.writeBatch({ events: [newEvent()], replays: [] });
      expect(one.seqs).toHaveLength(1);
      expect((await store.countEvents()).total).toBe(1);
    });

    it("writes nothing of a batch that fails: no event, no replay record", async () => {
      const store = ctx.store();
      const taken = newEvent();
      await store.appendEvent(taken);
      await expect(
        store.writeBatch({
          events: [newEvent(), newEvent({ id: taken.id }), newEvent()],
          replays: [{ key: "lost", expiresAt: T0 + 60_000 }],
        }),
      ).rejects.toMatchObject({ conflict: true });
      expect((await store.countEvents()).total).toBe(1);
      expect(await store.countReplay()).toBe(0);
      // The key was never taken, so a later claim of it is fresh.
      expect(await store.recordReplay("lost", T0 + 60_000)).toBe(true);
    });
  });

  describe("recorded calls (what-if, suggest)", () => {
    const call = (tenantId: string, context: string, at: number, eventType = "ToolCallAuthorized") =>
      newEvent({
        tenantId,
        createdAt: T0 + at,
        eventType,
        payload: JSON.stringify({
          rule: "capabilities[0]",
          security_context: context,
          arguments: { path: "/a" },
        }),
      });

    it("reads one tenant's decision rows of one context, oldest first, by window and keyset", async () => {
      const store = ctx.store();
      const acme = uid("acme");
      const rows = await append(store, [
        call(acme, "ctx", 1),
        call(acme, "other", 2),
        call(uid("globex"), "ctx", 3),
        call(acme, "ctx", 4, "PolicyDenied"),
        // The context named in another event type's payload is not a recorded call.
        call(acme, "ctx", 5, "SessionCreated"),
        call(acme, "ctx", 6, "ApprovalRequested"),
        call(acme, "ctx%", 7),
      ]);
      const [a, , , d, , f] = rows;
      const q = { tenantId: acme, securityContext: "ctx", limit: 10 };
      expect(await store.listRecordedCalls(q)).toEqual([a, d, f]);
      expect(await store.listRecordedCalls({ ...q, limit: 2 })).toEqual([a, d]);
      expect(await store.listRecordedCalls({ ...q, afterSeq: d?.seq })).toEqual([f]);
      expect(await store.listRecordedCalls({ ...q, since: T0 + 4, until: T0 + 6 })).toEqual([d]);
      // Matched exactly, never as a pattern.
      expect(await store.listRecordedCalls({ ...q, securityContext: "ct_" })).toEqual([]);
      expect(await store.listRecordedCalls({ ...q, tenantId: "nobody" })).toEqual([]);
    });
  });

  describe("listing events", () => {
    async function fixture(store: Store) {
      return append(store, [
        newEvent({ tenantId: "acme", createdAt: T0 + 1, eventType: "SessionCreated", executionId: "exe_a" }),
        newEvent({ tenantId: "acme", createdAt: T0 + 2, decision: "deny", stage: "replay", code: 1003 }),
        newEvent({ tenantId: "globex", createdAt: T0 + 3, agentId: "agent-9", toolName: "cli:rm" }),
        newEvent({ tenantId: "acme", createdAt: T0 + 4, executionId: "exe_a", toolName: "cli:rm" }),
        newEvent({ tenantId: "system", createdAt: T0 + 5, eventType: "EnvelopeRejected", stage: "parse" }),
      ]);
    }

    it("returns newest first, one tenant, or every tenant with '*'", async () => {
      const store = ctx.store();
      const [e1, e2, e3, e4, e5] = await fixture(store);
      expect(await store.listEvents({ tenantId: "acme", limit: 10 })).toEqual([e4, e2, e1]);
      expect(await store.listEvents({ tenantId: "*", limit: 10 })).toEqual([e5, e4, e3, e2, e1]);
      expect(await store.listEvents({ tenantId: "nobody", limit: 10 })).toEqual([]);
      // A tenant name is matched exactly, never as a pattern.
      expect(await store.listEvents({ tenantId: "%", limit: 10 })).toEqual([]);
      expect(await store.listEvents({ tenantId: "acm_", limit: 10 })).toEqual([]);
    });

    it("applies each filter, and several together", async () => {
      const store = ctx.store();
      const [e1, e2, e3, e4, e5] = await fixture(store);
      const all = { tenantId: "*", limit: 10 };
      expect(await store.listEvents({ ...all, type: "SessionCreated" })).toEqual([e1]);
      expect(await store.listEvents({ ...all, agent: "agent-9" })).toEqual([e3]);
      expect(await store.listEvents({ ...all, tool: "cli:rm" })).toEqual([e4, e3]);
      expect(await store.listEvents({ ...all, decision: "deny" })).toEqual([e2]);
      expect(await store.listEvents({ ...all, stage: "parse" })).toEqual([e5]);
      expect(await store.listEvents({ ...all, executionId: "exe_a" })).toEqual([e4, e1]);
      expect(await store.listEvents({ ...all, tenantId: "acme", tool: "cli:rm" })).toEqual([e4]);
      expect(await store.listEvents({ ...all, tenantId: "globex", executionId: "exe_a" })).toEqual([]);
    });

    it("treats since as inclusive and until as exclusive", async () => {
      const store = ctx.store();
      const [, e2, e3, e4] = await fixture(store);
      const all = { tenantId: "*", limit: 10 };
      expect(await store.listEvents({ ...all, since: T0 + 2, until: T0 + 5 })).toEqual([e4, e3, e2]);
      expect(await store.listEvents({ ...all, since: T0 + 6 })).toEqual([]);
      expect(await store.listEvents({ ...all, until: T0 + 1 })).toEqual([]);
    });

    it("pages with beforeSeq without gaps or repeats", async () => {
      const store = ctx.store();
      const rows = await append(
        store,
        Array.from({ length: 23 }, (_, i) => newEvent({ tenantId: i % 3 === 0 ? "other" : "acme" })),
      );
      const expected = rows.filter((r) => r.tenantId === "acme").reverse();
      const seen: EventRow[] = [];
      let before: number | undefined;
      for (let page = 0; page < 20; page++) {
        const batch = await store.listEvents({ tenantId: "acme", limit: 4, beforeSeq: before });
        expect(batch.length).toBeLessThanOrEqual(4);
        seen.push(...batch);
        const last = batch[batch.length - 1];
        if (batch.length < 4 || last === undefined) break;
        before = last.seq;
      }
      expect(seen).toEqual(expected);
    });

    it("honours limit 0 and rejects nonsensical limits", async () => {
      const store = ctx.store();
      await fixture(store);
      expect(await store.listEvents({ tenantId: "*", limit: 0 })).toEqual([]);
      expect(await store.listEvents({ tenantId: "*", limit: 2 })).toHaveLength(2);
      for (const limit of [-1, 2.5, Number.NaN]) {
        await expect(store.listEvents({ tenantId: "*", limit })).rejects.toThrow(/limit/);
        await expect(store.unsealedEvents(limit)).rejects.toThrow(/limit/);
        await expect(store.chainAfter(0, limit)).rejects.toThrow(/limit/);
      }
    });

    it("reads unsealed rows in seq order, bounded by limit", async () => {
      const store = ctx.store();
      const rows = await fixture(store);
      expect(await store.unsealedEvents(100)).toEqual(rows);
      expect(await store.unsealedEvents(2)).toEqual(rows.slice(0, 2));
      expect(await store.unsealedEvents(0)).toEqual([]);
    });
  });

  describe("sealing and checkpoints", () => {
    it("seals a batch: chain fields, checkpoint, head and counts move together", async () => {
      const store = ctx.store();
      expect(await store.chainHead()).toBeNull();
      expect(await latestCheckpoint(store)).toBeNull();
      expect(await store.listCheckpoints()).toEqual([]);
      const rows = await append(store, [newEvent(), newEvent(), newEvent(), newEvent()]);
      expect(await store.unsealedEvents(10)).toEqual(rows);
      expect(await store.unsealedEvents(2)).toEqual(rows.slice(0, 2));

      const first = rows.slice(0, 3);
      const updates = chainUpdates(first, 0);
      const cp = checkpoint({ lastChainSeq: 3, rowCount: 3, headHash: hashOf(3) });
      expect(await store.sealBatch(updates, cp, 0)).toBe(true);

      const done = sealed(first, updates);
      expect(await store.chainHead()).toEqual(done[2]);
      expect(await store.unsealedEvents(10)).toEqual(rows.slice(3));
      expect(await store.chainAfter(0, 10)).toEqual(done);
      expect(await store.chainAfter(1, 1)).toEqual(done.slice(1, 2));
      expect(await latestCheckpoint(store)).toEqual(cp);
      expect(await store.listCheckpoints()).toEqual([cp]);
      expect(await store.countEvents()).toEqual({ total: 4, sealed: 3 });
    });

    it("writes nothing when the head moved (stale expected head)", async () => {
      const store = ctx.store();
      const rows = await append(store, [newEvent(), newEvent(), newEvent()]);
      const [r1, r2, r3] = rows;
      if (r1 === undefined || r2 === undefined || r3 === undefined) throw new Error("rows missing");
      expect(await store.sealBatch(chainUpdates([r1], 0), checkpoint({ lastChainSeq: 1 }), 0)).toBe(true);
      // A second sealer that still believes the chain is empty:
      expect(await store.sealBatch(chainUpdates([r2], 0), checkpoint(), 0)).toBe(false);
      // One that believes the head is further ahead than it is:
      expect(await store.sealBatch(chainUpdates([r2], 5), checkpoint(), 5)).toBe(false);
      expect(await store.countEvents()).toEqual({ total: 3, sealed: 1 });
      expect(await store.listCheckpoints()).toHaveLength(1);
      expect(await store.unsealedEvents(10)).toEqual([r2, r3]);
    });

    it("abandons the whole batch if any row is already sealed or missing", async () => {
      const store = ctx.store();
      const rows = await append(store, [newEvent(), newEvent(), newEvent()]);
      const [r1, r2, r3] = rows;
      if (r1 === undefined || r2 === undefined || r3 === undefined) throw new Error("rows missing");
      expect(await store.sealBatch(chainUpdates([r1], 0), checkpoint({ lastChainSeq: 1 }), 0)).toBe(true);
      // r1 again (already sealed) in the middle of an otherwise valid batch.
      const resealing = chainUpdates([r2, r1, r3], 1);
      expect(await store.sealBatch(resealing, checkpoint(), 1)).toBe(false);
      const missing = chainUpdates([r2, { ...r3, seq: r3.seq + 1000 }], 1);
      expect(await store.sealBatch(missing, checkpoint(), 1)).toBe(false);
      const duplicated = chainUpdates([r2, r2], 1);
      expect(await store.sealBatch(duplicated, checkpoint(), 1)).toBe(false);
      expect(await store.unsealedEvents(10)).toEqual([r2, r3]);
      expect(await store.listCheckpoints()).toHaveLength(1);
      expect(await store.chainHead()).toEqual(sealed([r1], chainUpdates([r1], 0))[0]);
    });

    it("refuses a chain position that is already taken, writing nothing", async () => {
      const store = ctx.store();
      const [r1, r2] = await append(store, [newEvent(), newEvent()]);
      if (r1 === undefined || r2 === undefined) throw new Error("rows missing");
      expect(await store.sealBatch(chainUpdates([r1], 0), checkpoint({ lastChainSeq: 1 }), 0)).toBe(true);
      await expect(store.sealBatch(chainUpdates([r2], 0), checkpoint(), 1)).rejects.toThrow();
      expect(await store.unsealedEvents(10)).toEqual([r2]);
      expect(await store.listCheckpoints()).toHaveLength(1);
    });

    it("lets exactly one of two sealers racing from the same head win", async () => {
      const store = ctx.store();
      const rows = await append(store, [newEvent(), newEvent()]);
      const results = await Promise.all([
        store.sealBatch(chainUpdates(rows, 0), checkpoint({ lastChainSeq: 2 }), 0),
        store.sealBatch(chainUpdates(rows, 0), checkpoint({ lastChainSeq: 2 }), 0),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.listCheckpoints()).toHaveLength(1);
      expect(await store.countEvents()).toEqual({ total: 2, sealed: 2 });
    });

    it("finds the checkpoint whose batch covers a chain position, and null past the head", async () => {
      const store = ctx.store();
      const rows = await append(store, [newEvent(), newEvent(), newEvent(), newEvent(), newEvent()]);
      const cp1 = checkpoint({ lastChainSeq: 2, rowCount: 2, firstChainSeq: 1, batchRoot: hashOf(12) });
      const cp2 = checkpoint({ lastChainSeq: 5, rowCount: 5, firstChainSeq: 3, batchRoot: hashOf(35) });
      expect(await store.checkpointCovering(1)).toBeNull();
      expect(await store.sealBatch(chainUpdates(rows.slice(0, 2), 0), cp1, 0)).toBe(true);
      expect(await store.sealBatch(chainUpdates(rows.slice(2), 2), cp2, 2)).toBe(true);
      // A later checkpoint at the same head (an empty batch) never displaces the one that sealed it.
      expect(await store.sealBatch([], checkpoint({ lastChainSeq: 5, rowCount: 5 }), 5)).toBe(true);
      expect(await store.checkpointCovering(1)).toEqual(cp1);
      expect(await store.checkpointCovering(2)).toEqual(cp1);
      expect(await store.checkpointCovering(3)).toEqual(cp2);
      expect(await store.checkpointCovering(5)).toEqual(cp2);
      expect(await store.checkpointCovering(6)).toBeNull();
    });

    it("accepts an empty batch at the current head and orders checkpoints by insertion", async () => {
      const store = ctx.store();
      const rows = await append(store, [newEvent()]);
      const big = 2 ** 40;
      const cp1 = checkpoint({ lastChainSeq: 1, rowCount: 1 });
      const cp2 = checkpoint({ lastChainSeq: 1, rowCount: 1, createdAt: T0 - 1 });
      const cp3 = checkpoint({ lastChainSeq: 1, rowCount: big, createdAt: Number.MAX_SAFE_INTEGER });
      expect(await store.sealBatch(chainUpdates(rows, 0), cp1, 0)).toBe(true);
      expect(await store.sealBatch([], cp2, 1)).toBe(true);
      expect(await store.sealBatch([], cp3, 1)).toBe(true);
      expect(await store.sealBatch([], checkpoint(), 0)).toBe(false);
      expect(await store.listCheckpoints()).toEqual([cp1, cp2, cp3]);
      expect(await latestCheckpoint(store)).toEqual(cp3);
    });

    it("refuses a checkpoint id twice, rolling back the chain writes with it", async () => {
      const store = ctx.store();
      const [r1, r2] = await append(store, [newEvent(), newEvent()]);
      if (r1 === undefined || r2 === undefined) throw new Error("rows missing");
      const cp = checkpoint({ lastChainSeq: 1 });
      expect(await store.sealBatch(chainUpdates([r1], 0), cp, 0)).toBe(true);
      await expect(store.sealBatch(chainUpdates([r2], 1), { ...cp, lastChainSeq: 2 }, 1)).rejects.toThrow();
      expect(await store.unsealedEvents(10)).toEqual([r2]);
      expect(await store.countEvents()).toEqual({ total: 2, sealed: 1 });
    });

    it("seals a large batch in one call", async () => {
      const store = ctx.store();
      const events = Array.from({ length: 2500 }, () => newEvent());
      const seqs = await Promise.all(events.map((e) => store.appendEvent(e)));
      const rows = events
        .map((e, i): EventRow => ({ ...e, seq: seqs[i] ?? -1, chainSeq: null, prevHash: null, hash: null }))
        .sort((a, b) => a.seq - b.seq);
      const updates = chainUpdates(rows, 0);
      expect(await store.sealBatch(updates, checkpoint({ lastChainSeq: 2500, rowCount: 2500 }), 0)).toBe(
        true,
      );
      expect(await store.countEvents()).toEqual({ total: 2500, sealed: 2500 });
      expect((await store.chainHead())?.chainSeq).toBe(2500);
      expect(await store.chainAfter(2498, 10)).toEqual(sealed(rows.slice(2498), updates.slice(2498)));
    });
  });
}
