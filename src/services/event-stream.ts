import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { EventFilter, EventRow, Store } from "../store/types.js";
import { parseInput, requireRole, type VerbCall } from "./context.js";
import { Watermark } from "./event-watermark.js";
import { EventQuery, eventFilter, eventView } from "./events.js";

/**
 * GET /v1/events/stream: the rows of GET /v1/events as Server-Sent Events, oldest first, each
 * with its `seq` as the SSE id. The store is the bus: every instance polls it for rows after a
 * client's cursor, so an event written on any instance reaches every console, and a client
 * resuming with `Last-Event-ID` gets exactly the rows after it (see Watermark for why rows are
 * delivered only up to a settled sequence number).
 */

/** The listing's query without its paging: the stream pages by Last-Event-ID. */
export const StreamQuery = EventQuery.omit({ limit: true, cursor: true });
export type StreamQuery = typeof StreamQuery._output;

export interface StreamSettings {
  pollMs: number;
  heartbeatMs: number;
  /** Bytes queued for one client; nothing more is queued while it holds this much. */
  bufferBytes: number;
  maxClients: number;
  /** How long a missing sequence number may still commit (PostgreSQL); 0 on SQLite. */
  settleMs: number;
}

export interface StreamDeps {
  store: Store;
  log: Logger;
  /** The gateway clock (token expiry); heartbeats and settling use `monotonicMs`. */
  nowMs: () => number;
  monotonicMs?: () => number;
  settings: StreamSettings;
}

/** Rows read for one client per poll; bounds what a poll can add to a client's buffer. */
const BATCH = 200;
const encoder = new TextEncoder();

/** Parses Last-Event-ID: the seq of the last event the client holds. */
export function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new GatewayError("BAD_REQUEST", "Last-Event-ID must be the id of an event of this stream", {
      reason: "bad_last_event_id",
    });
  return n;
}

export function sseEvent(row: EventRow): string {
  // JSON text never holds a raw CR or LF, so one data line carries the whole event.
  return `id: ${row.seq}\ndata: ${JSON.stringify(eventView(row))}\n\n`;
}

interface Client {
  filter: Omit<EventFilter, "limit" | "beforeSeq" | "afterSeq">;
  cursor: number;
  expiresAtMs: number;
  lastWriteMs: number;
  /** When the client's buffer was first found full, while it still is. */
  fullSinceMs: number | null;
  busy: boolean;
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

export class EventStreamHub {
  private readonly clients = new Set<Client>();
  private readonly mono: () => number;
  private readonly watermark: Watermark;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly deps: StreamDeps) {
    // Heartbeats and settling run on real time; only token expiry follows the gateway clock.
    this.mono = deps.monotonicMs ?? (() => performance.now());
    this.watermark = new Watermark({
      store: deps.store,
      settleMs: deps.settings.settleMs,
      nowMs: deps.nowMs,
      monotonicMs: this.mono,
    });
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Opens a stream for one client. Without `afterSeq` it starts at the present: the console
   * reads the recent past from GET /v1/events and resumes from its newest id.
   */
  async open(input: {
    filter: Client["filter"];
    afterSeq?: number;
    expiresAtMs: number;
    signal?: AbortSignal;
  }): Promise<ReadableStream<Uint8Array>> {
    if (this.closed)
      throw new GatewayError("UNAVAILABLE", "the gateway is shutting down", { reason: "unavailable" });
    if (this.clients.size >= this.deps.settings.maxClients)
      throw new GatewayError("UNAVAILABLE", "too many open event streams on this instance", {
        reason: "too_many_streams",
      });
    const start = input.afterSeq ?? (await this.watermark.current());
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          client = {
            filter: input.filter,
            cursor: start,
            expiresAtMs: input.expiresAtMs,
            lastWriteMs: this.mono(),
            fullSinceMs: null,
            busy: false,
            controller,
            closed: false,
          };
          this.clients.add(client);
          // The retry hint and a first comment flush the headers to the client at once.
          this.write(client, `retry: 2000\n: stream open after ${start}\n\n`);
          this.startTimer();
        },
        cancel: () => {
          if (client) this.drop(client);
        },
      },
      { highWaterMark: this.deps.settings.bufferBytes, size: (chunk) => chunk.byteLength },
    );
    input.signal?.addEventListener("abort", () => client && this.end(client), { once: true });
    return stream;
  }

  /** Ends every stream (graceful shutdown): clients get an `end` event and reconnect elsewhere. */
  close(): void {
    this.closed = true;
    for (const c of this.clients) this.end(c, "shutdown");
    this.stopTimer();
  }

  /** One poll: settle the watermark, then feed each client; exported for tests. */
  async tick(): Promise<void> {
    if (this.ticking) return await this.ticking;
    this.ticking = this.runTick().finally(() => {
      this.ticking = null;
    });
    return await this.ticking;
  }

  private async runTick(): Promise<void> {
    let high: number;
    try {
      high = await this.watermark.advance();
    } catch (err) {
      // The database is down: clients keep their cursors and get heartbeats until it is back.
      this.deps.log.warn("event stream poll failed", { error: err });
      this.heartbeats();
      return;
    }
    await Promise.all([...this.clients].map((c) => this.feed(c, high)));
    this.heartbeats();
  }

  private async feed(c: Client, high: number): Promise<void> {
    if (c.closed || c.busy) return;
    if (this.deps.nowMs() >= c.expiresAtMs) {
      // The token that opened the stream has expired: the stream ends with it.
      this.end(c, "token_expired");
      return;
    }
    if (c.cursor >= high) return;
    c.busy = true;
    try {
      const rows = await this.deps.store.listEvents({ ...c.filter, afterSeq: c.cursor, limit: BATCH });
      for (const row of rows) {
        if (row.seq > high || c.closed) break;
        if (!this.write(c, sseEvent(row))) return; // full: the rest waits for the next poll
        c.cursor = row.seq;
      }
      const last = rows[rows.length - 1];
      // Rows come in seq order: unless the batch was full and still below the watermark,
      // nothing else matching the filter exists up to it.
      if (!(rows.length === BATCH && last && last.seq <= high)) c.cursor = Math.max(c.cursor, high);
    } catch (err) {
      this.deps.log.warn("event stream read failed", { error: err });
    } finally {
      c.busy = false;
    }
  }

  private heartbeats(): void {
    const now = this.mono();
    for (const c of this.clients)
      if (now - c.lastWriteMs >= this.deps.settings.heartbeatMs) this.write(c, ": heartbeat\n\n");
  }

  /**
   * Queues text for a client unless its buffer is full. Nothing more is queued while it is
   * full (its cursor waits in the database, not in memory), and a client whose buffer stays
   * full for a whole heartbeat interval — it has read nothing — is dropped; it can resume
   * from its Last-Event-ID.
   */
  private write(c: Client, text: string): boolean {
    if (c.closed) return false;
    const size = c.controller.desiredSize;
    if (size !== null && size <= 0) {
      c.fullSinceMs ??= this.mono();
      if (this.mono() - c.fullSinceMs >= this.deps.settings.heartbeatMs) {
        this.deps.log.info("event stream client too slow; dropped", { cursor: c.cursor });
        this.drop(c, new Error("event stream client too slow"));
      }
      return false;
    }
    c.fullSinceMs = null;
    c.controller.enqueue(encoder.encode(text));
    c.lastWriteMs = this.mono();
    return true;
  }

  private end(c: Client, reason?: string): void {
    if (c.closed) return;
    if (reason) this.write(c, `event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    try {
      c.controller.close();
    } catch {
      // already cancelled by the reader
    }
    if (this.clients.size === 0) this.stopTimer();
  }

  private drop(c: Client, error?: Error): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    if (error) {
      // Erroring discards what is queued, so a stalled reader frees its buffer at once.
      try {
        c.controller.error(error);
      } catch {
        // already closed
      }
    }
    if (this.clients.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.deps.log.warn("event stream tick failed", { error: err }));
    }, this.deps.settings.pollMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** `GET /v1/events/stream` input: the listing's filters and the SSE resume point. */
const StreamInput = StreamQuery.extend({ last_event_id: z.string().max(32).optional() });

/**
 * The event listing as a live stream (viewer): the same filters and tenant scoping as
 * `listEvents`, resumed after `Last-Event-ID`, ended when the operator token expires.
 */
export async function streamEvents({ ctx, input }: VerbCall): Promise<{ body: ReadableStream<Uint8Array> }> {
  const actor = requireRole(ctx, "viewer");
  const { last_event_id, ...q } = parseInput(StreamInput, input, "invalid_query");
  const afterSeq = parseLastEventId(last_event_id);
  const body = await ctx.deps.streams.open({
    filter: eventFilter(actor, q),
    ...(afterSeq === undefined ? {} : { afterSeq }),
    expiresAtMs: ctx.request?.tokenExpiresAtMs ?? 0,
    ...(ctx.request ? { signal: ctx.request.signal } : {}),
  });
  return { body };
}
