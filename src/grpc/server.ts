import { readFileSync } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { GatewayConfig } from "../config/schema.js";
import type { CallPipeline } from "../pipeline/index.js";
import type { ServiceDeps } from "../services/context.js";
import type { Tracing } from "../tracing/types.js";
import { guardDecoding } from "./decode.js";
import { reflectionDefinition } from "./descriptors.js";
import { invocationService } from "./invocation.js";
import { loadDefinition, PACKAGE, SERVICES, serviceDefinition } from "./proto.js";
import { workflowService } from "./workflows.js";

/**
 * The gRPC listener (config `grpc`): the two services of proto/seal_gateway.proto, the
 * standard health service (grpc.health.v1) and server reflection, on a port of their own.
 * Message size, concurrent streams and keepalive come from the config; the envelope's size is
 * checked by the invocation service (grpc-js has no metadata limit of its own).
 */

export interface GrpcServing {
  port: number;
  /** Stops accepting, lets running calls finish for up to `graceMs`, then cancels the rest. */
  stop(graceMs: number): Promise<void>;
}

function credentials(tls: GatewayConfig["grpc"]["tls"]): ServerCredentials {
  if (tls.cert_file === undefined || tls.key_file === undefined) return ServerCredentials.createInsecure();
  const ca = tls.client_ca_file === undefined ? null : readFileSync(tls.client_ca_file);
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.cert_file), private_key: readFileSync(tls.key_file) }],
    ca !== null,
  );
}

export async function serveGrpc(
  deps: { services: ServiceDeps; calls: CallPipeline; tracing?: Pick<Tracing, "inbound"> | null },
  config: Pick<GatewayConfig, "grpc" | "server">,
): Promise<GrpcServing> {
  const g = config.grpc;
  const settings = {
    maxMessageBytes: g.max_message_bytes,
    maxMetadataBytes: g.max_metadata_bytes,
    maxDepth: config.server.max_depth,
  };
  const server = new Server({
    // grpc-js refuses only past twice the limit: up to that the gateway's decoder guard refuses
    // with an audit row (src/grpc/decode.ts).
    "grpc.max_receive_message_length": g.max_message_bytes * 2,
    "grpc.max_send_message_length": g.max_message_bytes,
    "grpc.max_concurrent_streams": g.max_concurrent_streams,
    "grpc.keepalive_time_ms": g.keepalive_time_ms,
    "grpc.keepalive_timeout_ms": g.keepalive_timeout_ms,
  });
  const definition = loadDefinition();
  const [workflows, invocation] = SERVICES.map((s) =>
    guardDecoding(serviceDefinition(definition, s), g.max_message_bytes, definition),
  ) as [ReturnType<typeof guardDecoding>, ReturnType<typeof guardDecoding>];
  server.addService(workflows, workflowService(deps.services, settings));
  server.addService(invocation, invocationService({ ...deps, settings }));
  const health = new HealthImplementation({ "": "SERVING" });
  for (const s of SERVICES) health.setStatus(`${PACKAGE}.${s}`, "SERVING");
  health.addToServer(server);
  new ReflectionService(reflectionDefinition(definition)).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${g.host.includes(":") ? `[${g.host}]` : g.host}:${g.port}`,
      credentials(g.tls),
      (err, p) => (err ? reject(err) : resolve(p)),
    );
  });
  return {
    port,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        for (const s of ["", ...SERVICES.map((n) => `${PACKAGE}.${n}`)]) health.setStatus(s, "NOT_SERVING");
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
