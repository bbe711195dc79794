/**
 * Builds real gateways for tests, on SQLite (a temp file) and on PostgreSQL (a fresh
 * database per gateway), so one behaviour suite runs against both dialects.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { buildGateway, type Gateway } from "../../src/app.js";
import { type fixedClock as FixedClockFn, fixedClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/load.js";
import type { GatewayConfig } from "../../src/config/schema.js";
import type { ContainerRuntime } from "../../src/engines/cli/runtime.js";
import { createLogger, type LogLevel } from "../../src/log/logger.js";
import type { StageObserver } from "../../src/pipeline/run-stage.js";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import type { Store } from "../../src/store/types.js";
import type { ToolSource } from "../../src/tools/registry.js";
import { freshPgDatabase } from "./pg.js";

export type Backend = "sqlite" | "postgres";
export const BACKENDS: Backend[] = ["sqlite", "postgres"];

export interface TestGateway {
  gw: Gateway;
  config: GatewayConfig;
  clock: ReturnType<typeof FixedClockFn>;
  dataDir: string;
  /** Every log line the gateway wrote (at `logLevel`): tests prove values never reach it. */
  logs: string[];
  masterKeyB64: string;
  /** Sends a request to the in-process app. */
  request(path: string, init?: RequestInit): Promise<Response>;
  adminToken(tenant?: string): string;
  operatorToken(
    role: "admin" | "approver" | "operator" | "viewer" | "orchestrator",
    tenant?: string,
    ttlSeconds?: number,
  ): string;
  close(): Promise<void>;
}

export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

export interface TestGatewayOptions {
  /**
   * Raw configuration written to a YAML file in the gateway's data dir and passed as
   * `--config` (for settings environment variables cannot express, such as issuer lists).
   * Environment overrides still apply on top of it.
   */
  config?: Record<string, unknown>;
  /** Tool sources for the registry (tests inject fixed or tenant-aware tools). */
  tools?: ToolSource[];
  /** Default: a fresh random key. */
  masterKeyB64?: string;
  /** Level of the captured log (default "warn"). */
  logLevel?: LogLevel;
  /** Told every stage of every call (the pipeline's metrics seam). */
  stageObserver?: StageObserver;
  /** The CLI tools' container engine (default: Docker at `cli.socket_path`). */
  cliRuntime?: ContainerRuntime;
  /** Wraps the store under the group commit (write-fault tests). */
  interceptStore?: (store: Store) => Store;
}

export async function startTestGateway(
  backend: Backend,
  overrides: Record<string, string> = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "seal-gw-"));
  let drop: (() => Promise<void>) | null = null;
  let url = `sqlite://${join(dataDir, "gateway.db")}`;
  if (backend === "postgres") {
    const db = await freshPgDatabase();
    url = db.url;
    drop = db.drop;
  }
  const masterKeyB64 = options.masterKeyB64 ?? randomBytes(32).toString("base64");
  let configPath: string | undefined;
  if (options.config) {
    configPath = join(dataDir, "test-config.yaml");
    writeFileSync(configPath, toYaml(options.config), { mode: 0o600 });
  }
  const r = loadConfig({
    ...(configPath ? { configPath } : {}),
    env: {
      SEAL_GATEWAY_DATA_DIR: dataDir,
      SEAL_GATEWAY_DATABASE_URL: url,
      SEAL_GATEWAY_MASTER_KEY: masterKeyB64,
      ...overrides,
    },
    cwd: dataDir,
  });
  if (!r.ok) throw new Error(`test config refused: ${JSON.stringify(r.problems)}`);
  const clock = fixedClock(T0);
  const logs: string[] = [];
  const gw = await buildGateway(r.config, {
    log: createLogger(options.logLevel ?? "warn", {}, (line) => logs.push(line)),
    clock,
    background: false,
    // A payload field outside its event's schema is a bug: fail the test that wrote it.
    unknownPayloadFields: "throw",
    ...(options.tools ? { tools: options.tools } : {}),
    ...(options.stageObserver ? { stageObserver: options.stageObserver } : {}),
    ...(options.cliRuntime ? { cliRuntime: options.cliRuntime } : {}),
    ...(options.interceptStore ? { interceptStore: options.interceptStore } : {}),
  });
  const nowS = () => Math.floor(clock.nowMs() / 1000);
  return {
    gw,
    config: r.config,
    clock,
    dataDir,
    logs,
    masterKeyB64,
    request: async (path, init) => await gw.app.request(path, init),
    adminToken: (tenant = "*") =>
      gw.services.tokens.mintOperatorToken({
        sub: "test-admin",
        role: "admin",
        tenant,
        ttlSeconds: 3600,
        nowSeconds: nowS(),
      }),
    operatorToken: (role, tenant = "default", ttlSeconds = 3600) =>
      gw.services.tokens.mintOperatorToken({
        sub: `test-${role}`,
        role,
        tenant,
        ttlSeconds,
        nowSeconds: nowS(),
      }),
    async close() {
      await gw.close();
      if (drop) await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function jsonInit(method: string, body: unknown, token?: string): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export interface Agent {
  publicKeyB64: string;
  privateKeyB64: string;
  token: string;
  executionId: string;
}

/** Creates a session through the API and returns the agent's key and token. */
export async function createSessionAgent(
  t: TestGateway,
  opts: { sub?: string; context?: string; tenant?: string } = {},
): Promise<Agent> {
  const pair = generateKeyPair();
  const res = await t.request(
    "/v1/seal/sessions",
    jsonInit(
      "POST",
      {
        sub: opts.sub ?? "agent-1",
        security_context_name: opts.context ?? "default",
        public_key_b64: pair.publicKeyB64,
        ...(opts.tenant ? { tenant_id: opts.tenant } : {}),
      },
      t.adminToken(),
    ),
  );
  const body = (await res.json()) as { security_token: string; execution_id: string };
  if (res.status !== 201) throw new Error(`session create failed: ${res.status} ${JSON.stringify(body)}`);
  return { ...pair, token: body.security_token, executionId: body.execution_id };
}

/** A signed envelope body at the test clock's current time. */
export function envelopeBody(
  t: TestGateway,
  agent: { token: string; privateKeyB64: string },
  tool = "demo.tool",
  args: Record<string, unknown> = { q: "x" },
  opts: { id?: string | number; at?: number } = {},
): string {
  return signEnvelope({
    securityToken: agent.token,
    payload: toolCallPayload({
      name: tool,
      arguments: args,
      id: opts.id ?? `req-${randomBytes(4).toString("hex")}`,
    }),
    privateKeyB64: agent.privateKeyB64,
    now: new Date(opts.at ?? t.clock.nowMs()),
  }).body;
}

export async function invoke(t: TestGateway, body: string | Uint8Array, path = "/v1/invoke") {
  const res = await t.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as {
      status: string;
      error?: { code: number; details: { reason: string }; request_id: unknown };
    },
  };
}
