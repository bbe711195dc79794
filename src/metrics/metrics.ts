/**
 * The gateway's Prometheus metrics (DESIGN §7 `/metrics`), on a registry of its own so that two
 * gateways in one process (tests) never share counters. Every label takes its values from a
 * fixed set — transports, tool kinds, audit stages, SEAL codes, status classes — never an
 * agent, a tool name, an argument or an address, so the series count stays bounded.
 *
 * Counters and histograms are fed by decorators (src/metrics/instrument.ts) and the pipeline's
 * observer seam; gauges that describe the database (replay records, the unsealed tail) are read
 * at scrape time, at most once per `refreshMs`, so a scrape storm cannot load the database.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CallEvent, StageEvent, StageObserver } from "../pipeline/run-stage.js";

/** Seconds: from 1 ms to 30 s, the span of a stage and of an upstream call. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Container runs last longer: 50 ms to 10 min. */
const RUN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface DatabaseFacts {
  replayRecords(): Promise<number>;
  unsealed(): Promise<{ count: number; oldestCreatedAt: number | null }>;
  /** Connections one instance may open (PostgreSQL `database.pool_size`; 1 for SQLite). */
  poolSize: number;
}

export interface MetricsOptions {
  db: DatabaseFacts;
  now: () => number;
  /** Database gauges are re-read at most this often (ms). */
  refreshMs?: number;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A request method as a bounded label value. */
export function methodLabel(method: string): string {
  const m = method.toUpperCase();
  return METHODS.has(m) ? m : "OTHER";
}

/** An HTTP status as its class ("2xx"…), the bounded label of upstream answers. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

export class GatewayMetrics implements StageObserver {
  readonly registry = new Registry();
  private readonly calls: Counter<"transport" | "tool_kind" | "status" | "stage" | "code">;
  private readonly stages: Histogram<"stage" | "result">;
  private readonly upstream: Histogram<"method" | "status_class">;
  private readonly containerRuns: Histogram<"outcome">;
  private readonly containerStarts: Counter;
  private readonly containerRemovals: Counter<"result">;
  private readonly credentials: Counter<"path" | "outcome">;
  private readonly dbInFlight: Gauge;
  private readonly dbReadFailures: Counter;
  private dbFacts: { at: number; replay: number; unsealed: number; oldestAge: number } | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly opts: MetricsOptions) {
    const registers = [this.registry];
    // process_* and nodejs_* (event-loop lag among them), the client library's own set.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.calls = new Counter({
      name: "seal_gateway_calls_total",
      help: "Tool calls answered, by transport, tool kind, status, audit stage and SEAL code.",
      labelNames: ["transport", "tool_kind", "status", "stage", "code"],
      registers,
    });
    this.stages = new Histogram({
      name: "seal_gateway_stage_duration_seconds",
      help: "Time spent in each pipeline stage of a call.",
      labelNames: ["stage", "result"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstream = new Histogram({
      name: "seal_gateway_upstream_request_duration_seconds",
      help: "Outbound HTTP requests to upstream APIs, by method and status class (error: no answer).",
      labelNames: ["method", "status_class"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.containerRuns = new Histogram({
      name: "seal_gateway_container_run_duration_seconds",
      help: "CLI tool containers from start to stop, by outcome.",
      labelNames: ["outcome"],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.containerStarts = new Counter({
      name: "seal_gateway_container_starts_total",
      help: "CLI tool containers started.",
      registers,
    });
    this.containerRemovals = new Counter({
      name: "seal_gateway_container_removals_total",
      help: "CLI tool containers removed (after a call, or by the reaper), by result.",
      labelNames: ["result"],
      registers,
    });
    this.credentials = new Counter({
      name: "seal_gateway_credential_resolutions_total",
      help: "Credential resolutions, by credential path kind and outcome (ok or the error code).",
      labelNames: ["path", "outcome"],
      registers,
    });
    this.dbInFlight = new Gauge({
      name: "seal_gateway_db_operations_in_flight",
      help: "Store operations running or waiting for a connection now.",
      registers,
    });
    new Gauge({
      name: "seal_gateway_db_pool_size",
      help: "Database connections this instance may open.",
      registers,
      collect() {
        this.set(opts.db.poolSize);
      },
    });
    const facts = () => this.databaseFacts();
    new Gauge({
      name: "seal_gateway_replay_records",
      help: "Replay records held in the database (shared by every instance).",
      registers,
      async collect() {
        this.set((await facts()).replay);
      },
    });
    new Gauge({
      name: "seal_gateway_audit_unsealed_rows",
      help: "Audit rows written but not yet sealed into the chain.",
      registers,
      async collect() {
        this.set((await facts()).unsealed);
      },
    });
    new Gauge({
      name: "seal_gateway_audit_oldest_unsealed_age_seconds",
      help: "Age of the oldest audit row not yet sealed (0 when every row is sealed).",
      registers,
      async collect() {
        this.set((await facts()).oldestAge);
      },
    });
    this.dbReadFailures = new Counter({
      name: "seal_gateway_metrics_db_read_failures_total",
      help: "Scrapes whose database gauges could not be read (they kept their last values).",
      registers,
    });
  }

  onStage(event: StageEvent): void {
    this.stages.observe({ stage: event.stage, result: event.result }, event.durationMs / 1000);
  }

  onCall(event: CallEvent): void {
    this.calls.inc({
      transport: event.transport,
      tool_kind: event.toolKind ?? "none",
      status: event.status,
      stage: event.stage,
      code: event.sealCode === null ? "none" : String(event.sealCode),
    });
  }

  upstreamRequest(method: string, status: number | null, seconds: number): void {
    this.upstream.observe(
      { method: methodLabel(method), status_class: status === null ? "error" : statusClass(status) },
      seconds,
    );
  }

  containerStarted(): void {
    this.containerStarts.inc();
  }

  containerStopped(outcome: "exit_zero" | "exit_nonzero" | "gone" | "error", seconds: number): void {
    this.containerRuns.observe({ outcome }, seconds);
  }

  containerRemoved(result: "ok" | "error"): void {
    this.containerRemovals.inc({ result });
  }

  credentialResolved(path: string, outcome: string): void {
    this.credentials.inc({ path, outcome });
  }

  dbOperationStarted(): void {
    this.dbInFlight.inc();
  }

  dbOperationEnded(): void {
    this.dbInFlight.dec();
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    // Read first: the registry collects its metrics concurrently, and the failure counter must
    // already count this scrape's failed read when it is written.
    await this.databaseFacts();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async databaseFacts() {
    const now = this.opts.now();
    const cached = this.dbFacts;
    if (cached && now - cached.at < (this.opts.refreshMs ?? 5000)) return cached;
    this.refreshing ??= (async () => {
      try {
        const [replay, unsealed] = await Promise.all([this.opts.db.replayRecords(), this.opts.db.unsealed()]);
        const oldestAge =
          unsealed.oldestCreatedAt === null ? 0 : Math.max(0, (now - unsealed.oldestCreatedAt) / 1000);
        this.dbFacts = { at: now, replay, unsealed: unsealed.count, oldestAge };
      } catch {
        // The database does not answer: the gauges keep their last values, the failure is
        // counted, and the scrape itself still answers (/ready tells the rest).
        this.dbReadFailures.inc();
        this.dbFacts = { ...(this.dbFacts ?? { replay: 0, unsealed: 0, oldestAge: 0 }), at: now };
      } finally {
        this.refreshing = null;
      }
    })();
    await this.refreshing;
    return this.dbFacts ?? { at: now, replay: 0, unsealed: 0, oldestAge: 0 };
  }
}
