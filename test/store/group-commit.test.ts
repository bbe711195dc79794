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
});
