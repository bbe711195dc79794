import type { CounterStore } from "../store/types.js";

/**
 * Fixed-window counting on the shared store: every instance on one PostgreSQL increments
 * the same row, so a limit holds across instances. A window starts at a multiple of its
 * length; the answer's Retry-After is the time left in the current window.
 */
export async function countInWindow(
  store: Pick<CounterStore, "incrementCounter">,
  key: string,
  perSeconds: number,
  nowMs: number,
): Promise<{ count: number; retryAfterSeconds: number }> {
  const windowMs = perSeconds * 1000;
  const windowStart = Math.floor(nowMs / windowMs) * windowMs;
  const count = await store.incrementCounter(key, windowStart, windowStart + windowMs);
  return { count, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - nowMs) / 1000)) };
}
