import { ERROR_TABLE, type ErrorCode, GatewayError } from "../errors.js";
import { newTimeOrderedId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import type { AppendOptions, AuditStore, NewEvent } from "../store/types.js";
import {
  allowListedPayload,
  type Decision,
  type EventType,
  type Stage,
  type UnknownFieldPolicy,
} from "./vocabulary.js";

export const SYSTEM_TENANT = "system";
const MAX_SOURCES = 100_000;
const OVERFLOW_SOURCE = "(other addresses)";

/** An event as its emitter describes it, in the audit vocabulary (src/audit/vocabulary.ts). */
export interface EventInput {
  eventType: EventType;
  tenantId: string;
  executionId: string | null;
  callId: string | null;
  agentId: string | null;
  toolName: string | null;
  decision: Decision | null;
  stage: Stage | null;
  /** The error's code in the one table (src/errors.ts); the row stores its SEAL number. */
  code: ErrorCode | null;
  requestId: string | null;
  /** Allow-listed per event type (EVENT_PAYLOADS); never secret values. */
  payload?: Record<string, unknown>;
}

export interface AuditRecorderOptions {
  preauthPerMinute: number;
  summaryIntervalMs: number;
  now?: () => number;
  /** What an unknown payload field does: stripped and logged (default), or thrown (tests). */
  unknownPayloadFields?: UnknownFieldPolicy;
}

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
    private readonly store: Pick<AuditStore, "appendEvent">,
    private readonly log: Logger,
    private readonly opts: AuditRecorderOptions,
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * The row for `input`, not yet written: `record` appends it on its own, a control-plane
   * change hands it to the store to write in the change's own transaction (Store.audited).
   */
  event(input: EventInput): NewEvent {
    const payload = allowListedPayload(
      input.eventType,
      input.payload ?? {},
      this.opts.unknownPayloadFields ?? "strip",
      (fields) =>
        this.log.warn("audit payload field outside the event's schema dropped", {
          event_type: input.eventType,
          fields,
        }),
    );
    const createdAt = this.now();
    return {
      id: newTimeOrderedId("evt", createdAt),
      createdAt,
      eventType: input.eventType,
      tenantId: input.tenantId,
      executionId: input.executionId,
      callId: input.callId,
      agentId: input.agentId,
      toolName: input.toolName,
      decision: input.decision,
      stage: input.stage,
      code: input.code === null ? null : ERROR_TABLE[input.code].seal,
      requestId: input.requestId,
      payload: JSON.stringify(payload),
    };
  }

  /** Appends one event on its own ("audit before effect" for calls); returns its id. */
  async record(input: EventInput, opts: AppendOptions = {}): Promise<string> {
    return await this.write(input, opts).written;
  }

  /**
   * Appends one event: its id at once, `written` once it committed. A failed write rejects
   * `written` with 5030 UNAVAILABLE, the store's error going to the log only.
   */
  write(input: EventInput, opts: AppendOptions = {}): { id: string; written: Promise<string> } {
    const event = this.event(input);
    const written = this.store.appendEvent(event, opts).then(
      () => event.id,
      (err: unknown) => {
        this.log.error("audit write failed", { error: err, event_type: input.eventType });
        throw new GatewayError("UNAVAILABLE", "the audit store is unavailable; nothing was run", {
          reason: "unavailable",
        });
      },
    );
    return { id: event.id, written };
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
