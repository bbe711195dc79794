/**
 * A gateway with its gRPC listener on an ephemeral port, and a @grpc/grpc-js client loaded
 * from the same proto/seal_gateway.proto an orchestrator would compile.
 */
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { LOADER_OPTIONS, PACKAGE, SERVICES, sealProtoPath } from "../../src/grpc/proto.js";
import { type GrpcServing, serveGrpc } from "../../src/grpc/server.js";
import type { TestGateway } from "../support/gateway.js";

export type Unary = (
  req: unknown,
  md: Metadata,
  opts: { deadline?: number },
  cb: (err: ServiceError | null, res: unknown) => void,
) => void;
export type GrpcClient = Client & Record<string, Unary>;

export const clientDefinition = () => loadSync(sealProtoPath(), LOADER_OPTIONS);

export interface GrpcEnv {
  serving: GrpcServing;
  clients: Record<(typeof SERVICES)[number], GrpcClient>;
  close(): Promise<void>;
}

/** A client per service of the proto, for the listener on `port`. */
export function clientsFor(
  port: number,
  channel: ReturnType<typeof credentials.createInsecure> = credentials.createInsecure(),
): GrpcEnv["clients"] {
  const pkg = loadPackageDefinition(clientDefinition()) as unknown as Record<string, unknown>;
  const ns = PACKAGE.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], pkg) as Record<
    string,
    new (
      addr: string,
      c: ReturnType<typeof credentials.createInsecure>,
    ) => GrpcClient
  >;
  return Object.fromEntries(
    SERVICES.map((s) => {
      const Ctor = ns[s];
      if (!Ctor) throw new Error(`no client for ${s}`);
      return [s, new Ctor(`127.0.0.1:${port}`, channel)];
    }),
  ) as GrpcEnv["clients"];
}

/** `grpc` overrides the gateway's config section (limits, TLS) for this listener. */
export async function startGrpc(
  t: TestGateway,
  grpc: Partial<TestGateway["config"]["grpc"]> = {},
  channel: ReturnType<typeof credentials.createInsecure> = credentials.createInsecure(),
): Promise<GrpcEnv> {
  const serving = await serveGrpc(
    { services: t.gw.services, calls: t.gw.calls, tracing: t.gw.tracing },
    { grpc: { ...t.config.grpc, port: 0, ...grpc }, server: t.config.server },
  );
  const clients = clientsFor(serving.port, channel);
  return {
    serving,
    clients,
    async close() {
      for (const c of Object.values(clients)) c.close();
      await serving.stop(100);
    },
  };
}

export type Answer =
  | { ok: true; res: Record<string, unknown> }
  | {
      ok: false;
      code: number;
      details: string;
      seal: { code?: string; reason?: string; error?: unknown };
      md: Metadata;
    };

export function md(entries: Record<string, string | Buffer> = {}): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

export const bearerMd = (token: string) => md({ authorization: `Bearer ${token}` });

export function call(
  client: GrpcClient,
  method: string,
  req: unknown,
  metadata: Metadata = md(),
  deadlineMs?: number,
): Promise<Answer> {
  const fn = client[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve) => {
    fn.call(
      client,
      req,
      metadata,
      deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
      (err, res) => {
        if (!err) return resolve({ ok: true, res: res as Record<string, unknown> });
        const trailer = err.metadata ?? new Metadata();
        const bin = trailer.get("seal-error-bin")[0];
        resolve({
          ok: false,
          code: err.code,
          details: err.details,
          md: trailer,
          seal: {
            code: trailer.get("seal-code")[0]?.toString(),
            reason: trailer.get("seal-reason")[0]?.toString(),
            error: bin ? JSON.parse(bin.toString()) : undefined,
          },
        });
      },
    );
  });
}

/** Every RPC the proto declares, as "Service/Method": the auth matrix must cover each. */
export function declaredRpcs(): string[] {
  const def = clientDefinition();
  return SERVICES.flatMap((s) => Object.keys(def[`${PACKAGE}.${s}`] as object).map((m) => `${s}/${m}`));
}
