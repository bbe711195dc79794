import { setImmediate as nextTurn } from "node:timers/promises";
import type { Logger } from "../log/logger.js";
import type { Store } from "../store/types.js";

/**
 * Deletes expired replay records and rate-limit windows. Each pass drains everything that had
 * expired when it started, in slices of `slice` rows: every slice is one short statement (one
 * brief hold of SQLite's write lock), with an event-loop turn between slices so calls run in
 * between. A pass that deleted at most one slice per interval would fall behind for good at
 * any rate above slice ÷ interval (5,000 per 30 s was 166 calls/s) and the tables would grow
 * without bound.
 */
export const SWEEP_SLICE = 500;

export interface ExpirySweepDeps {
  store: Pick<Store, "sweepReplay" | "sweepCounters">;
  nowMs: () => number;
  log: Logger;
  slice?: number;
}

/** Deletes by `sweep` until a slice comes back short; returns how many rows went. */
async function drain(sweep: (limit: number) => Promise<number>, slice: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await sweep(slice);
    total += n;
    if (n < slice) return total;
    await nextTurn();
  }
}

/**
 * One pass over both tables. A failure is logged and leaves its table's rows for the next
 * pass; the other table is still swept.
 */
export async function sweepExpired(deps: ExpirySweepDeps): Promise<{ replay: number; counters: number }> {
  const { store, log } = deps;
  const slice = deps.slice ?? SWEEP_SLICE;
  const now = deps.nowMs();
  const replay = await drain((limit) => store.sweepReplay(now, limit), slice).catch((err: unknown) => {
    log.warn("replay sweep failed", { error: err });
    return 0;
  });
  const counters = await drain((limit) => store.sweepCounters(now, limit), slice).catch((err: unknown) => {
    log.warn("counter sweep failed", { error: err });
    return 0;
  });
  return { replay, counters };
}

/** Sweeps every `intervalMs`; a pass still running when the next is due is not doubled. */
export function startExpirySweeper(deps: ExpirySweepDeps, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= sweepExpired(deps).finally(() => {
      running = null;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      // The store closes after this: let a pass in progress finish its slice first.
      await running;
    },
  };
}
