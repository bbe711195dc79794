/**
 * The expiry sweeper's own rules, over a scripted store: a pass drains until a slice comes back
 * short, calls run between slices, one table's failure leaves the other swept, passes never
 * overlap, and stop() waits for the pass in progress. (Both real stores drain through it in
 * the store contract, test/store/contract-records.ts.)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";
import { startExpirySweeper, sweepExpired } from "../../src/services/expiry-sweep.js";

/** A table of `rows` expired rows that deletes up to `limit` per call, each after `delayMs`. */
function table(rows: number, delayMs = 0) {
  let left = rows;
  const calls: number[] = [];
  return {
    calls,
    get left() {
      return left;
    },
    sweep: async (_now: number, limit: number) => {
      if (delayMs) await sleep(delayMs);
      const n = Math.min(left, limit);
      left -= n;
      calls.push(n);
      return n;
    },
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger("info", {}, (line) => lines.push(JSON.parse(line))) };
}

describe("sweepExpired", () => {
  it("deletes slice after slice until one comes back short, letting other work run between", async () => {
    const replay = table(1_050);
    const counters = table(500);
    let turns = 0;
    let sweeping = true;
    const other = () => {
      if (!sweeping) return;
      turns += 1;
      setImmediate(other);
    };
    setImmediate(other);
    const result = await sweepExpired({
      store: { sweepReplay: replay.sweep, sweepCounters: counters.sweep },
      nowMs: () => 1,
      log: capture().log,
      slice: 500,
    });
    sweeping = false;
    expect(result).toEqual({ replay: 1_050, counters: 500 });
    // A full slice is followed by another: 500 + 500 + 50, and 500 + 0 for the exact multiple.
    expect(replay.calls).toEqual([500, 500, 50]);
    expect(counters.calls).toEqual([500, 0]);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it("logs a table's failure, leaves its rows for the next pass and still sweeps the other", async () => {
    const { lines, log } = capture();
    const counters = table(3);
    const result = await sweepExpired({
      store: {
        sweepReplay: async () => {
          throw new Error("database is locked");
        },
        sweepCounters: counters.sweep,
      },
      nowMs: () => 1,
      log,
    });
    expect(result).toEqual({ replay: 0, counters: 3 });
    expect(lines.map((l) => l.msg)).toEqual(["replay sweep failed"]);
  });

  it("sweeps what had expired when the pass started, not what expires during it", async () => {
    const nows: number[] = [];
    let clock = 100;
    await sweepExpired({
      store: {
        sweepReplay: async (now, limit) => {
          nows.push(now);
          clock += 1;
          return nows.length < 3 ? limit : 0;
        },
        sweepCounters: async (now) => {
          nows.push(now);
          return 0;
        },
      },
      nowMs: () => clock,
      log: capture().log,
      slice: 10,
    });
    expect(nows).toEqual([100, 100, 100, 100]);
  });
});

describe("startExpirySweeper", () => {
  it("never runs two passes at once, and stop() waits for the one in progress", async () => {
    const replay = table(2_000, 15);
    const sweeper = startExpirySweeper(
      {
        store: { sweepReplay: replay.sweep, sweepCounters: table(0).sweep },
        nowMs: () => 1,
        log: capture().log,
        slice: 500,
      },
      5,
    );
    // Each slice takes 15 ms and the interval is 5 ms: a doubled pass would delete in parallel.
    await sleep(25);
    await sweeper.stop();
    expect(replay.left).toBe(0);
    expect(replay.calls).toEqual([500, 500, 500, 500, 0]);
    const after = replay.calls.length;
    await sleep(20);
    expect(replay.calls).toHaveLength(after);
  });
});
