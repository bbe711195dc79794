/**
 * Decorators that measure the gateway's ports without the ports knowing: the egress client,
 * the container runtime, the credential resolver and the store. Each forwards every call
 * unchanged (same arguments, same result, same error) and only counts and times it.
 */
import { CREDENTIAL_VARIANTS } from "../credentials/path.js";
import type { CredentialResolver } from "../credentials/types.js";
import type { EgressClient } from "../egress/types.js";
import { type ContainerRuntime, isRuntimeError } from "../engines/cli/runtime.js";
import { isGatewayError } from "../errors.js";
import type { Store } from "../store/types.js";
import type { GatewayMetrics } from "./metrics.js";

const seconds = (started: number) => (performance.now() - started) / 1000;

export function instrumentEgress(inner: EgressClient, metrics: GatewayMetrics): EgressClient {
  return {
    async request(req) {
      const started = performance.now();
      try {
        const res = await inner.request(req);
        metrics.upstreamRequest(req.method, res.status, seconds(started));
        return res;
      } catch (err) {
        metrics.upstreamRequest(req.method, null, seconds(started));
        throw err;
      }
    },
    close: () => inner.close(),
  };
}

export function instrumentRuntime(inner: ContainerRuntime, metrics: GatewayMetrics): ContainerRuntime {
  const startedAt = new Map<string, number>();
  return {
    ping: () => inner.ping(),
    imageExists: (image) => inner.imageExists(image),
    // Optional on the port: forwarded only where the adapter has it (absent means "the
    // platform pulls by itself"), so the engine sees the same capabilities through the decorator.
    ...(inner.pull
      ? { pull: (image: string, auth) => (inner.pull as NonNullable<ContainerRuntime["pull"]>)(image, auth) }
      : {}),
    create: (spec) => inner.create(spec),
    attach: (id, options) => inner.attach(id, options),
    async start(id) {
      await inner.start(id);
      startedAt.set(id, performance.now());
      metrics.containerStarted();
    },
    async wait(id) {
      try {
        const exit = await inner.wait(id);
        const began = startedAt.get(id);
        if (began !== undefined)
          metrics.containerStopped(exit.exitCode === 0 ? "exit_zero" : "exit_nonzero", seconds(began));
        return exit;
      } catch (err) {
        const began = startedAt.get(id);
        if (began !== undefined)
          metrics.containerStopped(
            isRuntimeError(err) && err.kind === "not_found" ? "gone" : "error",
            seconds(began),
          );
        throw err;
      } finally {
        startedAt.delete(id);
      }
    },
    kill: (id, signal) => inner.kill(id, signal),
    async remove(id) {
      startedAt.delete(id);
      try {
        await inner.remove(id);
        metrics.containerRemoved("ok");
      } catch (err) {
        metrics.containerRemoved("error");
        throw err;
      }
    },
    listByLabel: (labels) => inner.listByLabel(labels),
    inspect: (id) => inner.inspect(id),
  };
}

/** The variant of an externally tagged credential path, from the fixed set; else "other". */
export function credentialPathLabel(path: unknown): string {
  if (path === null || path === undefined) return "none";
  if (typeof path !== "object" || Array.isArray(path)) return "other";
  const keys = Object.keys(path);
  const key = keys.length === 1 ? keys[0] : undefined;
  return key !== undefined && (CREDENTIAL_VARIANTS as readonly string[]).includes(key) ? key : "other";
}

function outcomeOf(err: unknown): string {
  return isGatewayError(err) ? err.code.toLowerCase() : "internal";
}

export function instrumentCredentials(
  inner: CredentialResolver,
  metrics: GatewayMetrics,
): CredentialResolver {
  const counted = async <T>(path: unknown, run: () => Promise<T>): Promise<T> => {
    const label = credentialPathLabel(path);
    try {
      const out = await run();
      metrics.credentialResolved(label, "ok");
      return out;
    } catch (err) {
      metrics.credentialResolved(label, outcomeOf(err));
      throw err;
    }
  };
  return {
    obtain: (input) => counted(input.credentialPath, () => inner.obtain(input)),
    ...(inner.builtin ? { builtin: inner.builtin } : {}),
  };
}

/**
 * Counts store operations in flight (running, or waiting for a pooled connection). Every
 * function member is wrapped; everything else (the dialect) passes through.
 */
export function instrumentStore(inner: Store, metrics: GatewayMetrics): Store {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const original = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]) => {
          metrics.dbOperationStarted();
          let result: unknown;
          try {
            result = original.apply(target, args);
          } catch (err) {
            metrics.dbOperationEnded();
            throw err;
          }
          if (result instanceof Promise) return result.finally(() => metrics.dbOperationEnded());
          metrics.dbOperationEnded();
          return result;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
