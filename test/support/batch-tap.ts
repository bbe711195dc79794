/**
 * A store whose group-commit batches (`writeBatch`) are recorded, and failed with an injected
 * disk error while `failWhen` says so: the write-fault tests of the call path pass `intercept`
 * as the test gateway's `interceptStore`.
 */
import type { Store, WriteBatch } from "../../src/store/types.js";

export interface BatchTap {
  /** Batches that reached the store. */
  batches: WriteBatch[];
  /** Batches refused by `failWhen`. */
  failed: WriteBatch[];
  failWhen: ((batch: WriteBatch) => boolean) | null;
  intercept(store: Store): Store;
}

export function batchTap(): BatchTap {
  const tap: BatchTap = {
    batches: [],
    failed: [],
    failWhen: null,
    intercept: (store) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop !== "writeBatch") return Reflect.get(target, prop, receiver);
          return async (batch: WriteBatch) => {
            if (tap.failWhen?.(batch)) {
              tap.failed.push(batch);
              throw new Error("disk I/O error (injected)");
            }
            tap.batches.push(batch);
            return target.writeBatch(batch);
          };
        },
      }),
  };
  return tap;
}

/** A batch holding a row of this event type. */
export const hasRow = (type: string) => (b: WriteBatch) => b.events.some((e) => e.eventType === type);
