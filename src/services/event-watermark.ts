import type { Store } from "../store/types.js";

/**
 * The highest event sequence number below which every row that will ever exist is visible.
 *
 * On PostgreSQL a row takes its seq when it is inserted but becomes visible when its
 * transaction commits, so seq 41 may appear after seq 42. A stream that delivered 42 and moved
 * its cursor past 41 would lose 41 for good. So rows are delivered only up to this watermark:
 * it advances over consecutive numbers at once, and over a missing number only once that
 * number has been missing for `settleMs` (a rolled-back insert leaves a hole that never
 * fills). This is the same window the sealer waits (`audit.seal_settle_ms`); on SQLite there
 * is one writer, sequence order is commit order, and the window is 0.
 */

const PAGE = 1000;

export interface WatermarkDeps {
  store: Store;
  settleMs: number;
  /** The gateway clock, compared with rows' created_at when the watermark starts. */
  nowMs: () => number;
  /** Real elapsed time, for how long a number has been missing (commit latency is physical). */
  monotonicMs: () => number;
}

export class Watermark {
  private high: number | null = null;
  private gap: { seq: number; sinceMs: number } | null = null;

  constructor(private readonly deps: WatermarkDeps) {}

  async current(): Promise<number> {
    return this.high ?? (await this.advance());
  }

  async advance(): Promise<number> {
    const { store, settleMs, monotonicMs } = this.deps;
    let high = this.high ?? (await this.start());
    try {
      for (;;) {
        const rows = await store.listEvents({ tenantId: "*", afterSeq: high, limit: PAGE });
        for (const row of rows) {
          if (row.seq !== high + 1) {
            const missing = high + 1;
            if (this.gap?.seq !== missing) this.gap = { seq: missing, sinceMs: monotonicMs() };
            if (monotonicMs() - this.gap.sinceMs < settleMs) return high;
            this.gap = null;
          }
          high = row.seq;
        }
        if (rows.length < PAGE) return high;
      }
    } finally {
      // Two overlapping advances (a tick and a new client) may finish out of order.
      this.high = Math.max(this.high ?? 0, high);
    }
  }

  /**
   * Where to start: the newest row older than the settle window. Rows after it are walked
   * (a few seconds' worth) so that numbers still in flight at start are waited for too.
   */
  private async start(): Promise<number> {
    const until = this.deps.nowMs() - this.deps.settleMs;
    const [row] = await this.deps.store.listEvents({ tenantId: "*", until, limit: 1 });
    return row?.seq ?? 0;
  }
}
