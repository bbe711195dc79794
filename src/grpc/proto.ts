import { join } from "node:path";
import { type GrpcObject, loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { packageRoot } from "../paths.js";

/**
 * The gRPC contract, loaded from `proto/seal_gateway.proto` at start (proto-loader, no
 * generated code: docs/decisions.md). The same definition feeds the server, reflection and
 * the tests' client, so the three cannot drift apart.
 */

export const PACKAGE = "aegis.seal_gateway.v1";
export const SERVICES = ["ToolWorkflowService", "GatewayInvocationService"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Field names as written, 64-bit numbers as strings, defaults filled, enums by name. */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

export function sealProtoPath(): string {
  return join(packageRoot(), "proto", "seal_gateway.proto");
}

/** The gateway's services and the standard health service, as one definition (for reflection). */
export function loadDefinition(): PackageDefinition {
  return loadSync([sealProtoPath(), healthProtoPath], LOADER_OPTIONS);
}

export function serviceDefinition(def: PackageDefinition, name: ServiceName): ServiceDefinition {
  const pkg = loadPackageDefinition(def) as unknown as Record<string, GrpcObject>;
  const ns = PACKAGE.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], pkg) as
    | Record<string, { service?: ServiceDefinition }>
    | undefined;
  const service = ns?.[name]?.service;
  if (!service) throw new Error(`proto/seal_gateway.proto has no service ${name}`);
  return service;
}
