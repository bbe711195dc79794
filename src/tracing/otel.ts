/**
 * Tracing with the official OpenTelemetry SDK, exported as OTLP/HTTP (JSON) to
 * `tracing.otlp_endpoint`. Loaded only when `tracing.enabled` (src/tracing/load.ts).
 *
 * No global provider, propagator or context manager is registered: libraries that trace
 * themselves through the global API (drizzle would put SQL text in spans) stay silent, and two
 * gateways in one process keep apart. The request's context travels in this module's own
 * AsyncLocalStorage, handed explicitly to every span it starts.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { GatewayConfig } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import { methodLabel } from "../metrics/metrics.js";
import type { CallEvent, StageName, StageObserver } from "../pipeline/run-stage.js";
import { ATTR, markFailed } from "./attributes.js";
import { type TraceScope, traceEgress, traceRuntime } from "./decorators.js";
import type { InboundRequest, Tracing } from "./types.js";

/** Export failures are logged at most this often (the collector being down must not flood the log). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** The exporter, telling the log (rate-limited) when a batch could not be delivered. */
function reporting(exporter: SpanExporter, log: Logger): SpanExporter {
  let lastLogged = 0;
  let dropped = 0;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          dropped += spans.length;
          const now = Date.now();
          if (now - lastLogged >= FAILURE_LOG_INTERVAL_MS) {
            lastLogged = now;
            log.warn("trace export failed; spans dropped", {
              spans_dropped: dropped,
              // About the HTTP exchange with the collector; spans hold no values to leak into it.
              error: result.error?.message.slice(0, 200) ?? "unknown",
            });
            dropped = 0;
          }
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => (exporter.forceFlush as () => Promise<void>)() } : {}),
  };
}

const headerGetter = {
  get: (carrier: Record<string, string | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | undefined>) => Object.keys(carrier),
};

export function otelTracing(
  settings: GatewayConfig["tracing"],
  info: { version: string; log: Logger },
): Tracing {
  const exporter = new OTLPTraceExporter({
    url: settings.otlp_endpoint,
    headers: { ...settings.headers },
    timeoutMillis: settings.export_timeout_ms,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.service_name,
      [ATTR_SERVICE_VERSION]: info.version,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sample_ratio) }),
    spanProcessors: [
      new BatchSpanProcessor(reporting(exporter, info.log), {
        maxQueueSize: 2048,
        maxExportBatchSize: 512,
        scheduledDelayMillis: settings.batch_delay_ms,
        exportTimeoutMillis: settings.export_timeout_ms,
      }),
    ],
  });
  const tracer = provider.getTracer("seal-gateway", info.version);
  const propagator = new W3CTraceContextPropagator();
  const current = new AsyncLocalStorage<Context>();
  const scope: TraceScope = { tracer, active: () => current.getStore() };

  const observer: StageObserver = {
    onStage() {
      // The stage's span timed it already (around).
    },
    onCall(event: CallEvent) {
      const ctx = current.getStore();
      const span = ctx ? trace.getSpan(ctx) : undefined;
      if (!span) return;
      span.setAttributes({
        [ATTR.callId]: event.callId,
        [ATTR.toolKind]: event.toolKind ?? "none",
        [ATTR.callStatus]: event.status,
        [ATTR.callStage]: event.stage,
        ...(event.sealCode !== null ? { [ATTR.sealCode]: event.sealCode } : {}),
      });
      if (event.status === "error")
        span.setStatus({ code: SpanStatusCode.ERROR, message: `SEAL ${event.sealCode}` });
    },
    async around<T>(stage: StageName, fn: () => Promise<T>): Promise<T> {
      const parent = current.getStore();
      // A call that no traced transport carried (tests driving the pipeline) gets no orphan spans.
      if (!parent) return await fn();
      const span = tracer.startSpan(`seal.stage ${stage}`, { attributes: { [ATTR.stage]: stage } }, parent);
      try {
        return await current.run(trace.setSpan(parent, span), fn);
      } catch (err) {
        markFailed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  };

  return {
    observer,
    async inbound(req: InboundRequest, fn) {
      // A malformed or absent traceparent extracts nothing: the span starts a new trace.
      const parent = propagator.extract(
        ROOT_CONTEXT,
        { traceparent: req.header("traceparent"), tracestate: req.header("tracestate") },
        headerGetter,
      );
      const span = tracer.startSpan(
        req.name,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR.transport]: req.transport,
            ...(req.http
              ? { [ATTR.httpMethod]: methodLabel(req.http.method), [ATTR.httpRoute]: req.http.route }
              : {}),
            ...(req.rpcMethod ? { [ATTR.rpcMethod]: req.rpcMethod } : {}),
          },
        },
        parent,
      );
      try {
        return await current.run(trace.setSpan(parent, span), () =>
          fn({
            httpStatus(status) {
              span.setAttribute(ATTR.httpStatus, status);
              if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
            },
          }),
        );
      } catch (err) {
        markFailed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
    egress: (inner) => traceEgress(inner, scope, settings.propagate_upstream ? propagator : null),
    runtime: (inner) => traceRuntime(inner, scope),
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (err) {
        info.log.warn("trace export at shutdown failed", {
          error: err instanceof Error ? err.name : "unknown",
        });
      }
    },
  };
}
