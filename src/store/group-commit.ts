import type { AppendOptions, NewEvent, ReplayClaim, Store, WriteBatch } from "./types.js";

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

interface QueuedEvent {
  event: NewEvent;
  after: string | undefined;
  waiter: Waiter<number>;
}

interface QueuedReplay {
  claim: ReplayClaim;
  waiter: Waiter<boolean>;
}

export interface GroupCommitOptions {
  /** Rows per transaction at most; a larger queue is written as several batches in turn. */
  maxBatch?: number;
}

const DEFAULT_MAX_BATCH = 512;
/**
 * How many rows of failed batches are remembered for the rows written `after` them. A call
 * queues such a row within the same few milliseconds, so this only has to outlast a burst of
 * failures; past it, the call itself still stops (it awaits the earlier row before any effect).
 */
const FAILED_MEMORY = 4096;

export class GroupCommit {
  private events: QueuedEvent[] = [];
  /** Ids of rows whose batch failed, with the failure (oldest first, bounded). */
  private readonly failedRows = new Map<string, unknown>();
  private replays: QueuedReplay[] = [];
  private scheduled = false;
  /** Calls with a batch in flight (at most one each): their next rows wait for it. */
  private readonly callsInFlight = new Set<string>();
  private readonly maxBatch: number;

  constructor(
    private readonly store: Pick<Store, "writeBatch">,
    opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /**
   * Resolves with the event's sequence number once its batch committed. With `after`, rejects
   * instead when that row's batch failed (see AppendOptions).
   */
  readonly appendEvent = (event: NewEvent, opts: AppendOptions = {}): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      this.events.push({ event, after: opts.after, waiter: { resolve, reject } });
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
      this.flush();
    });
  }

  /**
   * Writes what is queued, as batches of at most `maxBatch`, each in flight on its own (on
   * PostgreSQL, on its own connection). A call's rows never travel in two batches in flight at
   * once: a row whose call already has a batch in flight waits in the queue until that batch
   * settled, so a call's rows keep their order even when written without waiting for each
   * other (on two connections the later batch could otherwise commit first), and a row
   * written `after` another is only taken once that row's fate is known.
   */
  private flush(): void {
    for (;;) {
      const events = this.takeEvents();
      const replays = this.replays.splice(0, Math.max(0, this.maxBatch - events.length));
      if (events.length === 0 && replays.length === 0) return;
      void this.write(events, replays);
    }
  }

  /**
   * Up to `maxBatch` queued rows whose call has no batch in flight, in queue order, less the
   * orphans (which fail here); the rest stay queued. The calls taken are now in flight.
   */
  private takeEvents(): QueuedEvent[] {
    const taken: QueuedEvent[] = [];
    const kept: QueuedEvent[] = [];
    for (const e of this.events) {
      const call = e.event.callId;
      if (taken.length >= this.maxBatch || (call !== null && this.callsInFlight.has(call))) kept.push(e);
      else taken.push(e);
    }
    this.events = kept;
    const sent = this.withoutOrphans(taken);
    for (const e of sent) if (e.event.callId !== null) this.callsInFlight.add(e.event.callId);
    return sent;
  }

  private async write(events: QueuedEvent[], replays: QueuedReplay[]): Promise<void> {
    const batch: WriteBatch = { events: events.map((e) => e.event), replays: replays.map((r) => r.claim) };
    try {
      const result = await this.store.writeBatch(batch);
      if (result.seqs.length !== events.length || result.fresh.length !== replays.length)
        throw new Error("the store answered a batch with the wrong number of results");
      events.forEach((e, i) => {
        e.waiter.resolve(result.seqs[i] as number);
      });
      replays.forEach((r, i) => {
        r.waiter.resolve(result.fresh[i] as boolean);
      });
    } catch (err) {
      this.fail(events, replays, err);
    } finally {
      this.settled(events);
    }
  }

  /** A batch settled: its calls may send their next rows. */
  private settled(events: QueuedEvent[]): void {
    for (const e of events) if (e.event.callId !== null) this.callsInFlight.delete(e.event.callId);
    if (this.events.length > 0 || this.replays.length > 0) this.schedule();
  }

  /** Every caller of a failed batch fails with its error; its rows are remembered as failed. */
  private fail(events: QueuedEvent[], replays: QueuedReplay[], err: unknown): void {
    for (const e of events) {
      this.rememberFailed(e.event.id, err);
      e.waiter.reject(err);
    }
    for (const r of replays) r.waiter.reject(err);
  }

  /**
   * The rows of a batch about to be written, less those written `after` a row that failed:
   * those fail with it (and are remembered, for rows after them in turn). The earlier row is
   * the same call's, and a call's rows wait for its batch in flight, so its fate is known here.
   */
  private withoutOrphans(events: QueuedEvent[]): QueuedEvent[] {
    if (this.failedRows.size === 0) return events;
    return events.filter((e) => {
      if (e.after === undefined || !this.failedRows.has(e.after)) return true;
      const cause = this.failedRows.get(e.after);
      this.rememberFailed(e.event.id, cause);
      e.waiter.reject(cause);
      return false;
    });
  }

  private rememberFailed(id: string, err: unknown): void {
    this.failedRows.set(id, err);
    if (this.failedRows.size > FAILED_MEMORY) {
      const oldest = this.failedRows.keys().next().value;
      if (oldest !== undefined) this.failedRows.delete(oldest);
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
