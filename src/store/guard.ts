import { GatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Store } from "./types.js";

/**
 * Wraps a Store so any driver failure (connection refused, disk full, lock timeout) becomes
 * one classified error: 5030 unavailable, fail closed. The driver's message (which may hold
 * SQL) goes to the log only.
 */
export function guardStore(store: Store, log: Logger): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "close") return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          if (err instanceof GatewayError) throw err;
          log.error("store operation failed", { op: String(prop), error: err });
          throw new GatewayError("UNAVAILABLE", "the gateway's store is unavailable; nothing was run", {
            reason: "unavailable",
          });
        }
      };
    },
  });
}
