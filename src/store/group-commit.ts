import type { NewEvent, ReplayClaim, Store, WriteBatch, WriteBatchResult } from "./types.js";

/**
 * Group commit for the hot path (DESIGN §6 "the chain must not serialize the hot path"). The
 * audit rows and replay records that calls write in the same event-loop turn are collected and
 * written in one store transaction (`writeBatch`) once the turn's I/O callbacks have run
 * (setImmediate). Each caller's promise settles only after its own batch committed, so "no
 * audit, no action" holds exactly: a call continues past its row only once the row is durable
 * to the configured level, and a failed batch fails every call in it — none of them runs.
 *
 * A lone call pays no wait (its batch is flushed in the same loop iteration); under load one
 * commit serves many calls, which is what SQLite's single writer and PostgreSQL's commit
 * latency need.
 */

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  /** Rows per transaction at most; a larger queue is written as several batches in turn. */
  maxBatch?: number;
}

const DEFAULT_MAX_BATCH = 512;

export class GroupCommit {
  private events: Array<{ event: NewEvent; waiter: Waiter<number> }> = [];
  private replays: Array<{ claim: ReplayClaim; waiter: Waiter<boolean> }> = [];
  private scheduled = false;
  private readonly maxBatch: number;

  constructor(
    private readonly store: Pick<Store, "writeBatch">,
    opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /** Resolves with the event's sequence number once its batch committed. */
  readonly appendEvent = (event: NewEvent): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      this.events.push({ event, waiter: { resolve, reject } });
      this.schedule();
    });

  /** Resolves true when the key was fresh, once its batch committed. */
  readonly recordReplay = (key: string, expiresAt: number): Promise<boolean> =>
    new Promise<boolean>((resolve, reject) => {
      this.replays.push({ claim: { key, expiresAt }, waiter: { resolve, reject } });
      this.schedule();
    });

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.events.length > 0 || this.replays.length > 0) {
      const events = this.events.splice(0, this.maxBatch);
      const replays = this.replays.splice(0, Math.max(0, this.maxBatch - events.length));
      const batch: WriteBatch = { events: events.map((e) => e.event), replays: replays.map((r) => r.claim) };
      let result: WriteBatchResult;
      try {
        result = await this.store.writeBatch(batch);
      } catch (err) {
        for (const e of events) e.waiter.reject(err);
        for (const r of replays) r.waiter.reject(err);
        continue;
      }
      if (result.seqs.length !== events.length || result.fresh.length !== replays.length) {
        const err = new Error("the store answered a batch with the wrong number of results");
        for (const e of events) e.waiter.reject(err);
        for (const r of replays) r.waiter.reject(err);
        continue;
      }
      events.forEach((e, i) => {
        e.waiter.resolve(result.seqs[i] as number);
      });
      replays.forEach((r, i) => {
        r.waiter.resolve(result.fresh[i] as boolean);
      });
    }
  }
}

/** The store with its hot-path writes (events, replay records) group-committed. */
export function withGroupCommit(inner: Store, opts: GroupCommitOptions = {}): Store {
  const group = new GroupCommit(inner, opts);
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "appendEvent") return group.appendEvent;
      if (prop === "recordReplay") return group.recordReplay;
      return Reflect.get(target, prop, receiver);
    },
  });
}
