/**
 * The tracing port (docs/operations.md "Traces"). Nothing here imports OpenTelemetry: when
 * `tracing.enabled` is false the composition root never loads src/tracing/otel.ts, so a gateway
 * without tracing runs no SDK code at all — no middleware, no wrappers, no propagation.
 */
import type { EgressClient } from "../egress/types.js";
import type { ContainerRuntime } from "../engines/cli/runtime.js";
import type { StageObserver } from "../pipeline/run-stage.js";

/** A request a transport received: what its server span is named and continued from. */
export interface InboundRequest {
  /** Low-cardinality span name: `POST /v1/invoke`, `POST /mcp`, `<grpc service>/<method>`. */
  name: string;
  transport: "http" | "mcp" | "grpc";
  /** HTTP method and route pattern (never the URL: a query could carry a value). */
  http?: { method: string; route: string };
  /** gRPC full method name. */
  rpcMethod?: string;
  /** Reads one incoming header / metadata value (only `traceparent` and `tracestate` are read). */
  header(name: string): string | undefined;
}

/** What a transport tells the server span once it answered. */
export interface InboundSpan {
  httpStatus(status: number): void;
}

export interface Tracing {
  /**
   * Runs a transport's handling of one request inside a server span, the root of the gateway's
   * part of the trace: a child of the caller's `traceparent` when it sent a valid one, else a new
   * trace (a malformed header is ignored, never an error).
   */
  inbound<T>(req: InboundRequest, fn: (span: InboundSpan) => Promise<T>): Promise<T>;
  /** A span per pipeline stage (children of the server span); the call's facts on the root. */
  readonly observer: StageObserver;
  /** A client span per upstream request; `traceparent` injected when configured. */
  egress(inner: EgressClient): EgressClient;
  /** A span per container run, from start to exit. */
  runtime(inner: ContainerRuntime): ContainerRuntime;
  /** Ends the exporter after flushing every span still buffered. */
  shutdown(): Promise<void>;
}
