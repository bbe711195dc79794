/**
 * Child spans for the gateway's ports, as decorators that forward every call unchanged (same
 * arguments, result and error), like the metrics' (src/metrics/instrument.ts). Work that runs
 * outside a traced request (an operator's spec fetch, the reaper) is passed through untraced.
 */
import { type Context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { TRACE_PARENT_HEADER, TRACE_STATE_HEADER, type W3CTraceContextPropagator } from "@opentelemetry/core";
import type { EgressClient } from "../egress/types.js";
import { type ContainerRuntime, isRuntimeError } from "../engines/cli/runtime.js";
import { methodLabel } from "../metrics/metrics.js";
import { ATTR, markFailed } from "./attributes.js";

export interface TraceScope {
  tracer: Tracer;
  /** The context of the request being handled; undefined outside one. */
  active(): Context | undefined;
}

/** The request's headers with the gateway's `traceparent` in place of any the tool set itself. */
function withTraceParent(
  headers: Readonly<Record<string, string>> | undefined,
  ctx: Context,
  propagator: W3CTraceContextPropagator,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== TRACE_PARENT_HEADER && lower !== TRACE_STATE_HEADER) out[name] = value;
  }
  propagator.inject(ctx, out, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  // The caller's tracestate is caller-chosen text: it does not ride along to third parties.
  delete out[TRACE_STATE_HEADER];
  return out;
}

export function traceEgress(
  inner: EgressClient,
  scope: TraceScope,
  propagator: W3CTraceContextPropagator | null,
): EgressClient {
  return {
    async request(req) {
      const parent = scope.active();
      if (!parent) return await inner.request(req);
      const method = methodLabel(req.method);
      const span = scope.tracer.startSpan(
        method,
        { kind: SpanKind.CLIENT, attributes: { [ATTR.httpMethod]: method } },
        parent,
      );
      try {
        const headers = propagator
          ? withTraceParent(req.headers, trace.setSpan(parent, span), propagator)
          : null;
        const res = await inner.request(headers ? { ...req, headers } : req);
        span.setAttribute(ATTR.httpStatus, res.status);
        if (res.status >= 400) {
          span.setAttribute(ATTR.errorType, String(res.status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return res;
      } catch (err) {
        markFailed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
    close: () => inner.close(),
  };
}

type Outcome = "exit_zero" | "exit_nonzero" | "gone" | "error" | "removed";

/** A span per container from `start` to its exit (or its removal, whichever comes first). */
export function traceRuntime(inner: ContainerRuntime, scope: TraceScope): ContainerRuntime {
  const runs = new Map<string, Span>();
  const end = (id: string, outcome: Outcome, err?: unknown) => {
    const span = runs.get(id);
    if (!span) return;
    runs.delete(id);
    span.setAttribute(ATTR.containerOutcome, outcome);
    if (err !== undefined) markFailed(span, err);
    span.end();
  };
  return {
    ping: () => inner.ping(),
    imageExists: (image) => inner.imageExists(image),
    ...(inner.pull
      ? { pull: (image: string, auth) => (inner.pull as NonNullable<ContainerRuntime["pull"]>)(image, auth) }
      : {}),
    create: (spec) => inner.create(spec),
    attach: (id, options) => inner.attach(id, options),
    async start(id) {
      const parent = scope.active();
      if (!parent) return await inner.start(id);
      runs.set(id, scope.tracer.startSpan("seal.container.run", { kind: SpanKind.INTERNAL }, parent));
      try {
        await inner.start(id);
      } catch (err) {
        end(id, "error", err);
        throw err;
      }
    },
    async wait(id) {
      try {
        const exit = await inner.wait(id);
        end(id, exit.exitCode === 0 ? "exit_zero" : "exit_nonzero");
        return exit;
      } catch (err) {
        end(id, isRuntimeError(err) && err.kind === "not_found" ? "gone" : "error", err);
        throw err;
      }
    },
    kill: (id, signal) => inner.kill(id, signal),
    async remove(id) {
      end(id, "removed");
      await inner.remove(id);
    },
    listByLabel: (labels) => inner.listByLabel(labels),
    inspect: (id) => inner.inspect(id),
  };
}
