/**
 * The one-step workflow over gRPC versus over HTTP, in the same run, each against the same
 * request sent to the upstream directly (issue 16; the HTTP method is bench/workflow/run.ts).
 * Run from the project root:
 *
 *   npx tsx bench/workflow/grpc.ts [--seconds 5] [--rates 25,50,100,200] [--concurrency 16] [--no-build]
 *
 * One real gateway process (dist/src/main.js, SQLite, the gRPC listener on) and the local
 * upstream in their own processes; this process drives all three sides with the same open-loop
 * fixed-rate scheduler (latency from each request's due time), interleaved per rate: direct
 * GET, `POST /v1/invoke` with a signed envelope (keep-alive HTTP/1.1), and
 * `GatewayInvocationService/InvokeWorkflow` with the same kind of envelope in `x-seal-envelope`
 * (one grpc-js channel, i.e. one HTTP/2 connection). Then one closed-loop phase per side.
 * Prints a markdown table (progress on stderr).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { LOADER_OPTIONS, sealProtoPath } from "../../src/grpc/proto.js";
import { packageRoot } from "../../src/paths.js";
import { directRequests, type Fixture, presign, startFixture, TOOL } from "./fixture.js";
import type { LoadRequest } from "./load.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rates: { type: "string", default: "25,50,100,200" },
    concurrency: { type: "string", default: "16" },
    "no-build": { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds);
const RATES = values.rates === "none" ? [] : String(values.rates).split(",").map(Number);
const CONCURRENCY = Number(values.concurrency);
if (!(SECONDS > 0 && SECONDS <= 20)) throw new Error("--seconds must be in (0, 20]");
if (RATES.some((r) => !(r > 0))) throw new Error("--rates must be positive numbers");

const progress = (msg: string) => process.stderr.write(`${msg}\n`);
const root = packageRoot();
if (!values["no-build"]) {
  progress("building dist/ (tsc)…");
  try {
    execFileSync(
      process.execPath,
      [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")],
      { stdio: "inherit" },
    );
  } catch {
    progress("tsc reported errors (output emitted anyway)");
  }
}
if (!existsSync(join(root, "dist", "src", "main.js")))
  throw new Error("dist/src/main.js is missing: run `npm run build`");

/** Sends request `i`; resolves with "" on the expected answer, else a failure kind. */
type Sender = (i: number) => Promise<string>;

interface Result {
  sent: number;
  ok: number;
  failures: Record<string, number>;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

function summary(
  latencies: number[],
  failures: Record<string, number>,
  n: number,
  elapsedMs: number,
): Result {
  latencies.sort((a, b) => a - b);
  const ok = n - Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    sent: n,
    ok,
    failures,
    perSecond: ok / (elapsedMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

const fail = (failures: Record<string, number>, kind: string) => {
  failures[kind] = (failures[kind] ?? 0) + 1;
};

/** Open loop: request i is due at start + i / rate, its latency measured from then (as load.ts). */
async function fixedRate(rate: number, n: number, send: Sender): Promise<Result> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const start = performance.now() + 20;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const from = Math.min(due, performance.now());
    pending.push(
      send(i).then((kind) => {
        latencies.push(performance.now() - from);
        if (kind) fail(failures, kind);
      }),
    );
  }
  await Promise.all(pending);
  return summary(latencies, failures, n, performance.now() - start);
}

async function closedLoop(concurrency: number, n: number, send: Sender): Promise<Result> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const t0 = performance.now();
      const kind = await send(i);
      latencies.push(performance.now() - t0);
      if (kind) fail(failures, kind);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summary(latencies, failures, n, performance.now() - start);
}

function httpSender(
  url: string,
  requests: LoadRequest[],
  maxSockets: number,
): { send: Sender; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const base = new URL(url);
  const send: Sender = (i) =>
    new Promise((resolve) => {
      const req = requests[i] as LoadRequest;
      const r = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method: req.method,
          path: req.path,
          headers:
            req.body === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(req.body) },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => resolve(res.statusCode === 200 ? "" : `HTTP ${res.statusCode}`));
          res.on("error", () => resolve("response error"));
        },
      );
      r.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      r.end(req.body);
    });
  return { send, close: () => agent.destroy() };
}

type Invoke = (
  req: unknown,
  md: Metadata,
  cb: (err: ServiceError | null, res: { result_json: string }) => void,
) => void;

function grpcClient(port: number): Client & { InvokeWorkflow: Invoke } {
  const pkg = loadPackageDefinition(loadSync(sealProtoPath(), LOADER_OPTIONS)) as unknown as {
    aegis: {
      seal_gateway: {
        v1: { GatewayInvocationService: new (a: string, c: unknown) => Client & { InvokeWorkflow: Invoke } };
      };
    };
  };
  return new pkg.aegis.seal_gateway.v1.GatewayInvocationService(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
  );
}

/** InvokeWorkflow with each presigned envelope (its body) in `x-seal-envelope`. */
function grpcSender(client: Client & { InvokeWorkflow: Invoke }, requests: LoadRequest[]): Sender {
  return (i) =>
    new Promise((resolve) => {
      const md = new Metadata();
      md.set("x-seal-envelope", requests[i]?.body ?? "");
      client.InvokeWorkflow({ workflow_name: TOOL, input_json: "{}" }, md, (err, res) => {
        if (err) return resolve(`gRPC ${err.code}`);
        const state = (JSON.parse(res.result_json) as { state?: { find?: { names?: unknown[] } } }).state;
        resolve(state?.find?.names?.length ? "" : "empty result");
      });
    });
}

const loadAtStart = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
const fx: Fixture = await startFixture("sqlite", { grpc: true });
const grpcPort = fx.grpcPort as number;
progress(`gateway ${fx.gatewayUrl} (gRPC 127.0.0.1:${grpcPort}), upstream ${fx.upstreamUrl}`);
const client = grpcClient(grpcPort);

try {
  const probe = await grpcSender(client, presign(fx, 1, "probe"))(0);
  if (probe) throw new Error(`gRPC probe call failed: ${probe}`);
  const probeHttp = httpSender(fx.gatewayUrl, presign(fx, 1, "probe-http"), 1);
  const probed = await probeHttp.send(0);
  probeHttp.close();
  if (probed) throw new Error(`HTTP probe call failed: ${probed}`);

  const sides = (n: number, tag: string, sockets: number) => {
    const direct = httpSender(fx.upstreamUrl, directRequests(n), sockets);
    const http = httpSender(fx.gatewayUrl, presign(fx, n, `${tag}-http`), sockets);
    return { direct, http, grpc: grpcSender(client, presign(fx, n, `${tag}-grpc`)) };
  };
  progress("warm-up…");
  {
    const s = sides(400, "warm", 4);
    await closedLoop(4, 400, s.direct.send);
    await closedLoop(4, 400, s.http.send);
    await closedLoop(4, 400, s.grpc);
    s.direct.close();
    s.http.close();
  }

  const rows: Array<{ load: string; direct: Result; http: Result; grpc: Result }> = [];
  for (const rate of RATES) {
    const n = Math.max(1, Math.round(rate * SECONDS));
    // Signed per side just before its phase, so each stays fresh.
    progress(`fixed rate ${rate}/s × ${SECONDS} s: direct, HTTP, gRPC…`);
    const direct = httpSender(fx.upstreamUrl, directRequests(n), 256);
    const d = await fixedRate(rate, n, direct.send);
    direct.close();
    const http = httpSender(fx.gatewayUrl, presign(fx, n, `rate${rate}-http`), 256);
    const h = await fixedRate(rate, n, http.send);
    http.close();
    const g = await fixedRate(rate, n, grpcSender(client, presign(fx, n, `rate${rate}-grpc`)));
    rows.push({ load: `${rate}/s`, direct: d, http: h, grpc: g });
  }
  progress(`closed loop, ${CONCURRENCY} callers…`);
  const direct = httpSender(fx.upstreamUrl, directRequests(4000), CONCURRENCY);
  const dMax = await closedLoop(CONCURRENCY, 4000, direct.send);
  direct.close();
  const http = httpSender(fx.gatewayUrl, presign(fx, 2000, "max-http"), CONCURRENCY);
  const hMax = await closedLoop(CONCURRENCY, 2000, http.send);
  http.close();
  const gMax = await closedLoop(CONCURRENCY, 2000, grpcSender(client, presign(fx, 2000, "max-grpc")));
  rows.push({ load: `max (${CONCURRENCY} callers)`, direct: dMax, http: hMax, grpc: gMax });

  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "–");
  const rps = (r: Result) => Math.round(r.perSecond).toLocaleString("en-US");
  const fails = (r: Result) => {
    const f = Object.entries(r.failures);
    return f.length === 0 ? "0" : f.map(([k, v]) => `${v} ${k}`).join(", ");
  };
  const out = [
    `Workflow \`${TOOL}\` (one step, findPetsByStatus): over HTTP (\`POST /v1/invoke\`) and over gRPC (\`InvokeWorkflow\`, envelope in \`x-seal-envelope\`), each against the same GET sent directly.`,
    `Backend sqlite (audit.durability normal), ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, load average at start ${loadAtStart}, ${SECONDS} s per fixed-rate phase.`,
    "Latency is measured from each request's scheduled send time (open loop); the max row is closed loop.",
    "",
    "| load | direct p50 / p99 ms | HTTP p50 / p99 ms | gRPC p50 / p99 ms | HTTP added p50 / p99 ms | gRPC added p50 / p99 ms | gRPC − HTTP p50 ms | HTTP / gRPC calls/s | failures HTTP / gRPC |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      ({ load, direct: d, http: h, grpc: g }) =>
        `| ${load} | ${ms(d.p50Ms)} / ${ms(d.p99Ms)} | ${ms(h.p50Ms)} / ${ms(h.p99Ms)} | ${ms(g.p50Ms)} / ${ms(g.p99Ms)} | ${ms(h.p50Ms - d.p50Ms)} / ${ms(h.p99Ms - d.p99Ms)} | ${ms(g.p50Ms - d.p50Ms)} / ${ms(g.p99Ms - d.p99Ms)} | ${ms(g.p50Ms - h.p50Ms)} | ${rps(h)} / ${rps(g)} | ${fails(h)} / ${fails(g)} |`,
    ),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  client.close();
  await fx.close();
}
