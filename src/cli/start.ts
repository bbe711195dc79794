import { parseArgs } from "node:util";
import { buildGateway } from "../app.js";
import { serveGrpc } from "../grpc/server.js";
import { serveGateway } from "../http/server.js";
import { configOrExit } from "./common.js";

/** `start [--config FILE]`: runs the gateway until SIGTERM or SIGINT, then seals and exits. */
export async function startCommand(argv: string[]): Promise<undefined> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string" } } });
  const config = configOrExit(values.config);
  const gw = await buildGateway(config);
  let server: Awaited<ReturnType<typeof serveGateway>>;
  try {
    server = await serveGateway(gw, {
      host: config.server.host,
      port: config.server.port,
      graceMs: config.server.shutdown_grace_ms,
      ...(config.metrics.listen ? { metricsListen: config.metrics.listen } : {}),
      ...(config.grpc.enabled ? { grpc: () => serveGrpc(gw, config) } : {}),
    });
  } catch (err) {
    // The open database pool (PostgreSQL) would otherwise keep a process that cannot listen alive.
    await gw.close().catch(() => undefined);
    throw err;
  }
  gw.log.info("seal-gateway listening", {
    host: config.server.host,
    port: server.port,
    database: gw.store.dialect,
    ...(server.metricsPort === undefined ? {} : { metrics_port: server.metricsPort }),
    ...(server.grpcPort === undefined ? {} : { grpc_port: server.grpcPort }),
  });
  const shutdown = (signal: string) => {
    gw.log.info("shutting down", { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gw.log.error("shutdown failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  return undefined;
}
