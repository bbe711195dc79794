import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { GatewayMetrics } from "../metrics/metrics.js";

/** The Prometheus text exposition as an HTTP answer. */
export async function metricsResponse(metrics: GatewayMetrics): Promise<Response> {
  const { contentType, body } = await metrics.render();
  return new Response(body, { status: 200, headers: { "content-type": contentType } });
}

/**
 * `metrics.listen`: GET /metrics without a token on an address of its own (DESIGN §7), for a
 * scraper on a private network. Nothing else is served there.
 */
export async function serveMetrics(
  metrics: GatewayMetrics,
  listen: string,
): Promise<{ port: number; stop(): Promise<void> }> {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const app = new Hono();
  app.get("/metrics", () => metricsResponse(metrics));
  app.notFound((c) => c.json({ error: "not found" }, 404));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: Number(listen.slice(colon + 1)) }, () =>
      resolve(s as Server),
    );
    (s as Server).once("error", reject);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
