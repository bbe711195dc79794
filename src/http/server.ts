import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { GatewayMetrics } from "../metrics/metrics.js";
import { serveMetrics } from "./metrics-route.js";

/** What the server needs of a gateway (src/app.ts's Gateway satisfies it). */
export interface Servable {
  app: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> };
  /** The live event streams, ended first at shutdown (they never go idle). */
  streams: { close(): void };
  /** This instance's metrics, served on `metrics.listen` when that is set; null when off. */
  metrics: GatewayMetrics | null;
  /** Seals the audit chain and closes the store. */
  close(): Promise<void>;
}

/**
 * Serves the gateway and shuts down gracefully: stop accepting, let in-flight calls finish
 * (up to the grace period), then seal the audit chain and close the store.
 */
export async function serveGateway(
  gw: Servable,
  opts: {
    host: string;
    port: number;
    graceMs: number;
    metricsListen?: string;
    /** Starts the gRPC listener (config `grpc.enabled`); it stops with the HTTP server. */
    grpc?: () => Promise<{ port: number; stop(graceMs: number): Promise<void> }>;
  },
): Promise<{ port: number; metricsPort?: number; grpcPort?: number; stop(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: gw.app.fetch, hostname: opts.host, port: opts.port }, () =>
      resolve(s as Server),
    );
    (s as Server).once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let grpcServer: Awaited<ReturnType<NonNullable<typeof opts.grpc>>> | undefined;
  try {
    if (opts.metricsListen && gw.metrics) metricsServer = await serveMetrics(gw.metrics, opts.metricsListen);
    if (opts.grpc) grpcServer = await opts.grpc();
  } catch (err) {
    server.close();
    await metricsServer?.stop();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      // Event streams never go idle: end them first, or each would hold shutdown for the grace.
      gw.streams.close();
      await metricsServer?.stop();
      // Both listeners drain at once, within the same grace, before the store closes.
      const grpcStopped = grpcServer?.stop(opts.graceMs);
      await new Promise<void>((resolve) => {
        // A keep-alive connection whose call was still running at close() turns idle only after
        // its answer; close those as they go idle, or each would hold shutdown for its keep-alive.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        sweep.unref();
        const timer = setTimeout(() => {
          clearInterval(sweep);
          server.closeAllConnections();
          resolve();
        }, opts.graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      await grpcStopped;
      await gw.close();
    })();
    return stopping;
  };
  return {
    port,
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    ...(grpcServer ? { grpcPort: grpcServer.port } : {}),
    stop,
  };
}
