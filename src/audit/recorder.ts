import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import type { NewEvent, Store } from "../store/types.js";

export const SYSTEM_TENANT = "system";
const MAX_SOURCES = 100_000;
const OVERFLOW_SOURCE = "(other addresses)";

export type EventInput = Omit<NewEvent, "id" | "createdAt" | "payload"> & {
  payload?: Record<string, unknown>;
};

/**
 * Writes gateway_events rows. A failed write is a failed call ("no audit, no action"): the
 * error surfaces as 5030 and the caller's call does not run.
 *
 * Rejections before a token verified belong to the `system` tenant and are rate-limited per
 * source address, so unauthenticated traffic cannot flood the store; what is dropped is
 * counted and written as one EnvelopeRejectedSummary per address per interval.
 */
export class AuditRecorder {
  private readonly buckets = new Map<
    string,
    { windowStart: number; count: number; dropped: number; reasons: Record<string, number> }
  >();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: { preauthPerMinute: number; summaryIntervalMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async record(input: EventInput): Promise<string> {
    const id = newId("evt");
    const event: NewEvent = {
      id,
      createdAt: this.now(),
      eventType: input.eventType,
      tenantId: input.tenantId,
      executionId: input.executionId,
      callId: input.callId,
      agentId: input.agentId,
      toolName: input.toolName,
      decision: input.decision,
      stage: input.stage,
      code: input.code,
      requestId: input.requestId,
      payload: JSON.stringify(input.payload ?? {}),
    };
    try {
      await this.store.appendEvent(event);
    } catch (err) {
      this.log.error("audit write failed", { error: err, event_type: input.eventType });
      throw new GatewayError("UNAVAILABLE", "the audit store is unavailable; nothing was run", {
        reason: "unavailable",
      });
    }
    return id;
  }

  /**
   * Records a pre-authentication rejection unless `source` is over its per-minute budget.
   * Returns the event id, or null when the row was folded into the summary.
   */
  async recordPreauth(sourceAddress: string, input: EventInput): Promise<string | null> {
    const now = this.now();
    // Many distinct addresses share one overflow budget, so the map itself stays bounded.
    const source =
      this.buckets.has(sourceAddress) || this.buckets.size < MAX_SOURCES ? sourceAddress : OVERFLOW_SOURCE;
    let b = this.buckets.get(source);
    if (!b || now - b.windowStart >= 60_000) {
      if (b && b.dropped > 0) await this.flushOne(source, b);
      b = { windowStart: now, count: 0, dropped: 0, reasons: {} };
      this.buckets.set(source, b);
    }
    if (b.count < this.opts.preauthPerMinute) {
      b.count += 1;
      return await this.record({ ...input, tenantId: SYSTEM_TENANT });
    }
    b.dropped += 1;
    const reason = String(input.payload?.reason ?? "unknown");
    b.reasons[reason] = (b.reasons[reason] ?? 0) + 1;
    return null;
  }

  private async flushOne(
    source: string,
    b: { windowStart: number; dropped: number; reasons: Record<string, number> },
  ) {
    const dropped = b.dropped;
    const reasons = { ...b.reasons };
    b.dropped = 0;
    b.reasons = {};
    await this.record({
      eventType: "EnvelopeRejectedSummary",
      tenantId: SYSTEM_TENANT,
      executionId: null,
      callId: null,
      agentId: null,
      toolName: null,
      decision: "reject",
      stage: "authenticate",
      code: null,
      requestId: null,
      payload: { source, dropped, reasons, window_start: new Date(b.windowStart).toISOString() },
    });
  }

  /** Writes summaries for every address with dropped rows; also evicts idle buckets. */
  async flushSummaries(): Promise<void> {
    const now = this.now();
    for (const [source, b] of this.buckets) {
      if (b.dropped > 0) await this.flushOne(source, b);
      if (now - b.windowStart >= 60_000) this.buckets.delete(source);
    }
  }

  start(): void {
    this.timer = setInterval(() => {
      this.flushSummaries().catch((err: unknown) =>
        this.log.warn("audit summary write failed", { error: err }),
      );
    }, this.opts.summaryIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushSummaries().catch(() => undefined);
  }
}
