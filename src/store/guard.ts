import { GatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { StoreError, storeFailure } from "./adapter-common.js";

/**
 * The one guard over store methods, generic over every method of an object instead of a named
 * wrapper per method. Adapters write their methods plainly (better-sqlite3 ones synchronously,
 * postgres ones returning a drizzle query or a promise); `guardMethods` turns each into an async
 * method whose failures are StoreErrors named after the method (no bound value in the message),
 * and `guardStore` in the composition root turns those into the gateway's classified errors.
 */

type Method = (...args: never[]) => unknown;

/** A port as an adapter implements it: each method may answer directly or with a thenable. */
export type Impl<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R | PromiseLike<R>
    : T[K];
};

/** A port as better-sqlite3 implements it: every method answers synchronously. */
export type SyncImpl<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K];
};

/** `close` is left as it is: closing must never be turned into a classified failure. */
const UNGUARDED = new Set<PropertyKey>(["close"]);

function wrapMethods<T extends object>(
  target: object,
  onError: (operation: string, err: unknown) => Error,
): T {
  const out: Record<PropertyKey, unknown> = {};
  for (const key of Reflect.ownKeys(target)) {
    const value: unknown = Reflect.get(target, key);
    if (typeof value !== "function" || UNGUARDED.has(key)) {
      out[key] = value;
      continue;
    }
    const method = value as Method;
    const operation = String(key);
    out[key] = async (...args: never[]) => {
      try {
        return await method.apply(target, args);
      } catch (err) {
        throw onError(operation, err);
      }
    };
  }
  return out as T;
}

/** At the adapter boundary: any driver failure becomes a StoreError naming the method. */
export function guardMethods<T extends object>(impl: Impl<T>): T {
  return wrapMethods<T>(impl, storeFailure);
}

/**
 * At the composition root: a store conflict (a unique or foreign-key violation the caller did
 * not handle itself, i.e. a lost race) is 409 CONFLICT; any other failure (connection refused,
 * disk full, lock timeout) is 503 unavailable, fail closed. The classification reads the
 * driver's code (StoreError.conflict), never its message; the message (which may name SQL
 * objects) goes to the log only.
 */
export function guardStore<T extends object>(store: T, log: Logger): T {
  return wrapMethods<T>(store, (operation, err) => {
    if (err instanceof GatewayError) return err;
    if (err instanceof StoreError && err.conflict) {
      log.warn("store conflict", { op: operation, error: err });
      return new GatewayError("CONFLICT", "the change conflicts with a concurrent one; nothing was changed", {
        reason: "conflict",
      });
    }
    log.error("store operation failed", { op: operation, error: err });
    return new GatewayError("UNAVAILABLE", "the gateway's store is unavailable; nothing was run", {
      reason: "unavailable",
    });
  });
}
