/**
 * Group commit (src/store/group-commit.ts): what one event-loop turn writes goes to the store
 * as one batch; every caller settles only with its own batch; a failed batch fails every
 * caller in it, and the next batch is independent of it.
 */
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/store/group-commit.js";
import type { WriteBatch, WriteBatchResult } from "../../src/store/types.js";
import { newEvent } from "./fixtures.js";

function fakeStore(answer: (batch: WriteBatch, n: number) => WriteBatchResult | Promise<WriteBatchResult>) {
  const batches: WriteBatch[] = [];
  let seq = 0;
  return {
    batches,
    nextSeqs: (n: number) => Array.from({ length: n }, () => ++seq),
    writeBatch: async (batch: WriteBatch) => {
      batches.push(batch);
      return answer(batch, batches.length);
    },
  };
}

const ok = (store: { nextSeqs(n: number): number[] }) => (b: WriteBatch) => ({
  seqs: store.nextSeqs(b.events.length),
  fresh: b.replays.map((r) => !r.key.startsWith("seen")),
});

const turn = () => new Promise((r) => setImmediate(r));

describe("group commit", () => {
  it("writes the rows and claims of one turn as one batch, answering each caller its own", async () => {
    const store = fakeStore((b) => ok(store)(b));
    const gc = new GroupCommit(store);
    const events = [newEvent(), newEvent(), newEvent()];
    const answers = await Promise.all([
      gc.appendEvent(events[0] as never),
      gc.recordReplay("fresh-1", 1),
      gc.appendEvent(events[1] as never),
      gc.recordReplay("seen-2", 1),
      gc.appendEvent(events[2] as never),
    ]);
    expect(answers).toEqual([1, true, 2, false, 3]);
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]?.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(store.batches[0]?.replays.map((r) => r.key)).toEqual(["fresh-1", "seen-2"]);
  });

  it("a caller does not continue before its batch committed", async () => {
    let commit: (() => void) | undefined;
    const store = fakeStore(
      (b) =>
        new Promise((resolve) => {
          commit = () => resolve(ok(store)(b));
        }),
    );
    const gc = new GroupCommit(store);
    let settled = false;
    const pending = gc.appendEvent(newEvent()).then((seq) => {
      settled = true;
      return seq;
    });
    for (let i = 0; i < 5; i++) await turn();
    expect(store.batches).toHaveLength(1);
    expect(settled).toBe(false);
    commit?.();
    expect(await pending).toBe(1);
  });

  it("a failed batch fails every caller in it with the store's error; the next batch is independent", async () => {
    const failure = new Error("store appendEvent failed");
    const store = fakeStore((b, n) => {
      if (n === 1) throw failure;
      return ok(store)(b);
    });
    const gc = new GroupCommit(store);
    const first = await Promise.allSettled([
      gc.appendEvent(newEvent()),
      gc.recordReplay("k", 1),
      gc.appendEvent(newEvent()),
    ]);
    expect(first.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const r of first) expect(r.status === "rejected" && r.reason).toBe(failure);
    // The next turn's rows are a batch of their own and commit.
    expect(await Promise.all([gc.appendEvent(newEvent()), gc.recordReplay("k", 1)])).toEqual([1, true]);
    expect(store.batches).toHaveLength(2);
  });

  it("fails every caller when the store answers the wrong number of results", async () => {
    const store = fakeStore(() => ({ seqs: [1], fresh: [] }));
    const gc = new GroupCommit(store);
    const out = await Promise.allSettled([gc.appendEvent(newEvent()), gc.appendEvent(newEvent())]);
    expect(out.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("splits a queue longer than maxBatch into batches in order, each within the bound", async () => {
    const store = fakeStore((b) => ok(store)(b));
    const gc = new GroupCommit(store, { maxBatch: 4 });
    const seqs = await Promise.all(Array.from({ length: 10 }, () => gc.appendEvent(newEvent())));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(store.batches.map((b) => b.events.length)).toEqual([4, 4, 2]);
  });

  it("writes rows of separate turns in separate batches (a lone call waits for nobody)", async () => {
    const store = fakeStore((b) => ok(store)(b));
    const gc = new GroupCommit(store);
    expect(await gc.appendEvent(newEvent())).toBe(1);
    expect(await gc.appendEvent(newEvent())).toBe(2);
    expect(store.batches.map((b) => b.events.length)).toEqual([1, 1]);
  });

  it("a call's rows never travel in two batches in flight: the later ones wait for the first", async () => {
    const commits: Array<() => void> = [];
    const store = fakeStore(
      (b) =>
        new Promise((resolve) => {
          commits.push(() => resolve(ok(store)(b)));
        }),
    );
    const gc = new GroupCommit(store);
    const first = gc.appendEvent(newEvent({ callId: "call_a" }));
    for (let i = 0; i < 3; i++) await turn();
    const later = [
      gc.appendEvent(newEvent({ callId: "call_a" })),
      gc.appendEvent(newEvent({ callId: "call_a" })),
    ];
    // Another call's row does not wait: its batch goes at once, beside the first.
    const other = gc.appendEvent(newEvent({ callId: "call_b" }));
    for (let i = 0; i < 5; i++) await turn();
    expect(store.batches.map((b) => b.events.map((e) => e.callId))).toEqual([["call_a"], ["call_b"]]);
    commits[1]?.();
    expect(await other).toBe(1);
    commits[0]?.();
    expect(await first).toBe(2);
    for (let i = 0; i < 3; i++) await turn();
    // Queued while call_a's first batch was in flight: the next batch, in order.
    expect(store.batches.map((b) => b.events.length)).toEqual([1, 1, 2]);
    commits[2]?.();
    expect(await Promise.all(later)).toEqual([3, 4]);
  });

  it("a row written after a row whose batch failed is refused with that failure and never written", async () => {
    const failure = new Error("store writeBatch failed");
    let failing = true;
    const store = fakeStore((b) => {
      if (failing) throw failure;
      return ok(store)(b);
    });
    const gc = new GroupCommit(store);
    const authorized = newEvent();
    const first = gc.appendEvent(authorized);
    await expect(first).rejects.toBe(failure);
    failing = false;
    // Queued once the earlier row's batch failed: refused without being written, as is a
    // row after it in turn; an independent row in the same turn commits.
    const started = newEvent();
    const [dependent, next, independent] = await Promise.allSettled([
      gc.appendEvent(started, { after: authorized.id }),
      gc.appendEvent(newEvent(), { after: started.id }),
      gc.appendEvent(newEvent()),
    ]);
    expect(dependent).toEqual({ status: "rejected", reason: failure });
    expect(next).toEqual({ status: "rejected", reason: failure });
    expect(independent).toEqual({ status: "fulfilled", value: 1 });
    expect(store.batches.flatMap((b) => b.events.map((e) => e.id))).not.toContain(started.id);
  });

  it("a row written after a committed row, or after one in its own batch, is written", async () => {
    const store = fakeStore((b) => ok(store)(b));
    const gc = new GroupCommit(store);
    const a = newEvent();
    expect(await gc.appendEvent(a)).toBe(1);
    const b = newEvent();
    expect(
      await Promise.all([gc.appendEvent(b, { after: a.id }), gc.appendEvent(newEvent(), { after: b.id })]),
    ).toEqual([2, 3]);
    expect(store.batches.map((x) => x.events.length)).toEqual([1, 2]);
  });
});
