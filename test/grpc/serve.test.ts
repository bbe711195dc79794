/**
 * The composition root's wiring: `serveGateway` with config `grpc.enabled` (as `start` passes
 * it) opens the gRPC listener beside HTTP, reflection lists the services, and stopping the
 * gateway closes both before the store.
 */
import { join } from "node:path";
import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveGrpc } from "../../src/grpc/server.js";
import { serveGateway } from "../../src/http/server.js";
import { packageRoot } from "../../src/paths.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { HealthClient } from "./health-client.js";

type Stream = {
  write(m: unknown): void;
  end(): void;
  on(e: "data", f: (m: { list_services_response?: { service: { name: string }[] } }) => void): void;
  on(e: "error" | "end", f: (e?: Error) => void): void;
};

function listServices(port: number): Promise<string[]> {
  const proto = join(
    packageRoot(),
    "node_modules",
    "@grpc",
    "reflection",
    "build",
    "proto",
    "grpc",
    "reflection",
    "v1",
    "reflection.proto",
  );
  const pkg = loadPackageDefinition(loadSync(proto, { keepCase: true })) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (a: string, c: unknown) => { ServerReflectionInfo(): Stream; close(): void };
        };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
  );
  return new Promise((resolve, reject) => {
    const s = client.ServerReflectionInfo();
    s.on("data", (m) => {
      resolve((m.list_services_response?.service ?? []).map((x) => x.name).sort());
      s.end();
      client.close();
    });
    s.on("error", (e) => reject(e));
    s.write({ list_services: "" });
  });
}

describe("grpc.enabled through serveGateway", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway("sqlite", { SEAL_GATEWAY_GRPC_ENABLED: "true", SEAL_GATEWAY_GRPC_PORT: "0" });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
  });

  it("reads SEAL_GATEWAY_GRPC_ENABLED / _PORT, serves health and reflection, and stops with the gateway", async () => {
    expect(t.config.grpc).toMatchObject({ enabled: true, port: 0, host: "127.0.0.1" });
    const gw = { ...t.gw, close: async () => undefined };
    const server = await serveGateway(gw, {
      host: "127.0.0.1",
      port: 0,
      graceMs: 200,
      grpc: () => serveGrpc(t.gw, t.config),
    });
    const port = server.grpcPort;
    expect(port).toBeGreaterThan(0);
    const h = new HealthClient(port as number);
    expect(await h.check("aegis.seal_gateway.v1.ToolWorkflowService")).toBe("SERVING");
    h.close();
    expect(await listServices(port as number)).toEqual([
      "aegis.seal_gateway.v1.GatewayInvocationService",
      "aegis.seal_gateway.v1.ToolWorkflowService",
      "grpc.health.v1.Health",
    ]);
    await server.stop();
    const after = new HealthClient(port as number);
    await expect(after.check("")).rejects.toThrow();
    after.close();
  });
});
