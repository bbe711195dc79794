/**
 * What the workflow benchmark runs against, each in its own process: the local upstream
 * (bench/workflow/upstream.ts) and a REAL gateway (`node dist/src/main.js start`, temp data
 * dir, SQLite or PostgreSQL, loopback egress allowed). Setup goes through the public API only:
 * the Petstore spec, a one-step workflow over findPetsByStatus, a context, a session.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { packageRoot } from "../../src/paths.js";
import { canonicalize, signedMessage } from "../../src/sdk/canonical.js";
import { loadBalancer } from "../../test/ops/support/balancer.js";
import type { LoadRequest } from "./load.js";

export const TOOL = "petstore.find-available";
const ROOT = packageRoot();
/** The gateway measured: this checkout's build, or another build's (`BENCH_GATEWAY_MAIN`) for an A/B run. */
const MAIN = process.env.BENCH_GATEWAY_MAIN ?? join(ROOT, "dist", "src", "main.js");

export interface Fixture {
  /** The gateway's URL: the one process, or a round-robin balancer in front of `instances`. */
  gatewayUrl: string;
  /** Every gateway process's own URL (no balancer), for load dealt out by the caller. */
  gatewayUrls: string[];
  /** The bare reverse proxy (bench/workflow/proxy.ts), with `proxy: true`. */
  proxyUrl?: string;
  /** The gRPC listener's port, when started with `grpc: true`. */
  grpcPort?: number;
  upstreamUrl: string;
  agentToken: string;
  agentKey: KeyObject;
  /** An admin API token for the gateway (setup, `/metrics`). */
  adminToken: string;
  /** The (first) gateway process (its RSS is read from /proc by the soak). */
  gatewayPid: number | undefined;
  /** Every gateway process (one, or the fleet's `instances`). */
  gatewayPids: Array<number | undefined>;
  /** CPU seconds (user + system) used so far: every gateway process, the upstream, the proxy. */
  cpuSeconds(): { gateway: number; upstream: number; proxy: number };
  close(): Promise<void>;
}

/** utime + stime of a process from /proc (Linux), in seconds. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (1-based), counted after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before printing its URL`)));
  });
}

async function waitHealthy(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited:\n${log()}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway not healthy:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(
  url: string,
  token: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function freshPg(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server =
    process.env.BENCH_PG_URL ??
    execFileSync("bash", [join(ROOT, "scripts", "pg.sh")], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() ??
    "";
  const name = `bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(server, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

export interface FixtureOptions {
  nodeArgs?: string[];
  grpc?: boolean;
  /**
   * Gateway processes on the same store (default 1), each on its own port, sharing one master
   * key, behind a round-robin balancer at `gatewayUrl`; the gRPC listener stays on the first.
   */
  instances?: number;
  /** Also start the bare reverse proxy, the floor of any gateway (bench/workflow/proxy.ts). */
  proxy?: boolean;
  /**
   * Pin the gateway (and the proxy) to CPU 0 and the upstream and this process — the load
   * generator — to CPU 1 (`taskset`), so the side measured does not share a core with the load.
   */
  pin?: boolean;
}

/** `cmd args` under `taskset -c CPU` when pinning, else as it is. */
function pinned(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ["taskset", ["-c", String(cpu), cmd, ...args]];
}

export async function startFixture(
  backend: "sqlite" | "postgres",
  opts: FixtureOptions = {},
): Promise<Fixture> {
  const instances = opts.instances ?? 1;
  const dataDir = mkdtempSync(join(tmpdir(), "seal-bench-wf-"));
  const pg = backend === "postgres" ? await freshPg() : null;
  const [gatewayCpu, loadCpu] = opts.pin ? [0, 1] : [undefined, undefined];
  if (loadCpu !== undefined)
    execFileSync("taskset", ["-a", "-cp", String(loadCpu), String(process.pid)], { stdio: "ignore" });
  const upstream = spawn(
    ...pinned(loadCpu, process.execPath, ["--import", "tsx", join(ROOT, "bench", "workflow", "upstream.ts")]),
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const upstreamUrl = await firstLine(upstream);
  const proxy = opts.proxy
    ? spawn(
        ...pinned(gatewayCpu, process.execPath, [
          "--import",
          "tsx",
          join(ROOT, "bench", "workflow", "proxy.ts"),
          upstreamUrl,
        ]),
        { stdio: ["pipe", "pipe", "inherit"] },
      )
    : undefined;
  const proxyUrl = proxy ? await firstLine(proxy) : undefined;
  const port = await freePort();
  const grpcPort = opts.grpc ? await freePort() : undefined;
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SEAL_"))),
    SEAL_GATEWAY_DATA_DIR: dataDir,
    SEAL_GATEWAY_PORT: String(port),
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
    SEAL_GATEWAY_LOG_LEVEL: "warn",
    ...(pg ? { SEAL_GATEWAY_DATABASE_URL: pg.url } : {}),
    // A fleet shares one master key; one process keeps the dev-mode key of its data directory.
    ...(instances > 1 ? { SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64") } : {}),
    ...(grpcPort === undefined
      ? {}
      : { SEAL_GATEWAY_GRPC_ENABLED: "true", SEAL_GATEWAY_GRPC_PORT: String(grpcPort) }),
  };
  let log = "";
  const startGateway = (childEnv: NodeJS.ProcessEnv): ChildProcess => {
    const child = spawn(...pinned(gatewayCpu, process.execPath, [...(opts.nodeArgs ?? []), MAIN, "start"]), {
      env: childEnv,
      cwd: dataDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    return child;
  };
  const gateway = startGateway(env);
  const firstUrl = `http://127.0.0.1:${port}`;
  await waitHealthy(firstUrl, gateway, () => log);
  // Further instances share the first one's store (its data dir or database) once it has
  // migrated it.
  const others: ChildProcess[] = [];
  const gatewayUrls = [firstUrl];
  for (let i = 1; i < instances; i++) {
    const otherPort = await freePort();
    const { SEAL_GATEWAY_GRPC_ENABLED: _g, SEAL_GATEWAY_GRPC_PORT: _p, ...rest } = env;
    const child = startGateway({ ...rest, SEAL_GATEWAY_PORT: String(otherPort) });
    const url = `http://127.0.0.1:${otherPort}`;
    await waitHealthy(url, child, () => log);
    others.push(child);
    gatewayUrls.push(url);
  }
  const balancer = instances > 1 ? loadBalancer(() => gatewayUrls) : null;
  const gatewayUrl = balancer ? await balancer.listen() : firstUrl;

  const admin =
    execFileSync(process.execPath, [MAIN, "token", "--role", "admin"], {
      env,
      cwd: dataDir,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .pop() ?? "";
  const spec = await api(gatewayUrl, admin, "/v1/specs", {
    name: "petstore",
    inline_yaml: readFileSync(join(ROOT, "test", "fixtures", "openapi", "petstore", "openapi.yaml"), "utf8"),
    base_url: `${upstreamUrl}/api/v3`,
  });
  await api(gatewayUrl, admin, "/v1/workflows", {
    name: TOOL,
    description: "Pets available for sale",
    input_schema: { type: "object", properties: {}, additionalProperties: false },
    api_spec_id: spec.id,
    steps: [
      {
        name: "find",
        operation_id: "findPetsByStatus",
        query_params: { status: "available" },
        extractors: { names: "$[*].name" },
        on_error: "AbortWorkflow",
      },
    ],
  });
  await api(gatewayUrl, admin, "/v1/security-contexts", {
    name: "bench",
    capabilities: [{ tool_pattern: "petstore.*" }],
  });
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const rawPublic = Buffer.from(String(publicKey.export({ format: "jwk" }).x), "base64url").toString(
    "base64",
  );
  const session = await api(gatewayUrl, admin, "/v1/seal/sessions", {
    sub: "bench-agent",
    security_context_name: "bench",
    public_key_b64: rawPublic,
    ttl_seconds: 86_400,
  });

  return {
    gatewayUrl,
    gatewayUrls,
    ...(grpcPort === undefined ? {} : { grpcPort }),
    ...(proxyUrl === undefined ? {} : { proxyUrl }),
    upstreamUrl,
    agentToken: String(session.security_token),
    agentKey: privateKey,
    adminToken: admin,
    gatewayPid: gateway.pid,
    gatewayPids: [gateway, ...others].map((g) => g.pid),
    cpuSeconds: () => ({
      gateway: [gateway, ...others].reduce((sum, g) => sum + processCpuSeconds(g.pid), 0),
      upstream: processCpuSeconds(upstream.pid),
      proxy: proxy ? processCpuSeconds(proxy.pid) : Number.NaN,
    }),
    async close() {
      await balancer?.close();
      for (const g of [...others, gateway]) {
        g.kill("SIGTERM");
        if (g.exitCode === null) await new Promise((r) => g.once("exit", r));
      }
      for (const child of proxy ? [upstream, proxy] : [upstream]) {
        child.stdin?.end();
        if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      }
      if (pg) await pg.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `n` unique envelopes calling the workflow, signed now with node:crypto (fresh for 30 s). */
export function presign(fx: Pick<Fixture, "agentToken" | "agentKey">, n: number, tag: string): LoadRequest[] {
  const seconds = Math.floor(Date.now() / 1000);
  const timestamp = new Date(seconds * 1000).toISOString();
  const token = JSON.stringify(fx.agentToken);
  const out: LoadRequest[] = [];
  for (let i = 0; i < n; i++) {
    const payload = {
      jsonrpc: "2.0",
      id: `${tag}-${i}`,
      method: "tools/call",
      params: { name: TOOL, arguments: {} },
    };
    const signature = sign(null, signedMessage(payload, fx.agentToken, seconds), fx.agentKey).toString(
      "base64",
    );
    out.push({
      method: "POST",
      path: "/v1/invoke",
      body: `{"protocol":"seal/v1","security_token":${token},"signature":"${signature}","payload":${canonicalize(payload)},"timestamp":"${timestamp}"}`,
    });
  }
  return out;
}

/** The same upstream request the workflow step sends. */
export function directRequests(n: number): LoadRequest[] {
  return Array.from({ length: n }, () => ({
    method: "GET",
    path: "/api/v3/pet/findByStatus?status=available",
  }));
}

/** The gateway's /metrics text (read with the fixture's admin token). */
export async function scrapeMetrics(fx: Pick<Fixture, "gatewayUrl" | "adminToken">): Promise<string> {
  const res = await fetch(new URL("/metrics", fx.gatewayUrl), {
    headers: { authorization: `Bearer ${fx.adminToken}` },
  });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}
