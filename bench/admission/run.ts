/**
 * Envelope admission benchmark (DESIGN §9 a). Run from the project root:
 *
 *   node --import tsx bench/admission/run.ts [--seconds 2] [--no-pg] [--no-sqlite] [--no-http]
 *
 * For SQLite (audit.durability normal and full) and PostgreSQL it measures envelopes admitted
 * per second through the whole admission path — parse → canonicalize → Ed25519 → JWT → replay
 * insert → audit write — against the floor measured in the same run: the two signature
 * verifications alone. Authorization denies every call at this stage (2006), so "admitted"
 * means: authenticated, answered 2006, with its audit row written (each phase checks that the
 * row count grew by exactly the number of envelopes). Prints a markdown table.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { verifyChain } from "../../src/audit/verify.js";
import { serveGateway } from "../../src/http/server.js";
import { loadKeyring } from "../../src/keys/keyring.js";
import { resolveMasterKey } from "../../src/keys/master-key.js";
import { silentLogger } from "../../src/log/logger.js";
import { type Backend, type Fixture, presign, startFixture } from "./fixture.js";
import { measureFloor, measureFloorAllCores, runAdmission, type Throughput } from "./measure.js";
import { appSender } from "./senders.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    "no-pg": { type: "boolean" },
    "no-sqlite": { type: "boolean" },
    "no-http": { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0 && SECONDS <= 10))
  throw new Error("--seconds must be in (0, 10]: envelopes must stay fresh (30 s window)");

// Other work on the machine skews absolute numbers (less so the ratios): it is printed with them.
const loadAtStart = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");

interface Row {
  backend: string;
  durability: string;
  path: string;
  concurrency: number;
  t: Throughput;
}
const rows: Row[] = [];
const floors: number[] = [];
const floorsAllCores: number[] = [];

async function audited<T extends Throughput>(
  fx: Fixture,
  expected: (t: T) => number,
  run: () => Promise<T>,
): Promise<T> {
  const before = await fx.gw.store.countEvents();
  const t = await run();
  const after = await fx.gw.store.countEvents();
  const want = expected(t);
  if (after.total - before.total !== want)
    throw new Error(`audit rows: expected ${want} new rows, found ${after.total - before.total}`);
  return t;
}

function childJson(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("exit", (code) =>
      code === 0
        ? resolve(out.trim().split("\n").pop() ?? "")
        : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

async function overHttp(fx: Fixture, connections: number, rate: number): Promise<Throughput> {
  const server = await serveGateway(fx.gw, { host: "127.0.0.1", port: 0, graceMs: 1000 });
  const pkcs8B64 = fx.agentKey.export({ format: "der", type: "pkcs8" }).toString("base64");
  const here = dirname(fileURLToPath(import.meta.url));
  const before = await fx.gw.store.countEvents();
  const input = {
    url: `http://127.0.0.1:${server.port}`,
    token: fx.agentToken,
    pkcs8B64,
    seconds: SECONDS * 2,
    connections,
    count: Math.round(rate * SECONDS * 2.5),
  };
  const r = JSON.parse(await childJson([join(here, "http-load.ts"), JSON.stringify(input)])) as Throughput & {
    statusCounts: Record<string, number>;
    errors: number;
    signedLate: number;
  };
  const after = await fx.gw.store.countEvents();
  const admitted = r.statusCounts["403"] ?? 0;
  const other = Object.entries(r.statusCounts).filter(([code]) => code !== "403");
  if (other.length > 0 || r.errors > 0)
    throw new Error(`HTTP run had non-2006 answers or errors: ${JSON.stringify(r)}`);
  // Calls still in flight when autocannon stops were admitted and audited but not counted.
  const extra = after.total - before.total - admitted;
  if (extra < 0 || extra > connections)
    throw new Error(`HTTP: ${admitted} answers but ${after.total - before.total} audit rows`);
  if (r.signedLate > 0)
    process.stderr.write(`note: the load generator signed ${r.signedLate} envelopes on the fly\n`);
  // Stopping the server closes the gateway too (graceful shutdown seals the chain).
  fx.stopServer = server.stop;
  return { count: admitted, perSecond: admitted / (SECONDS * 2), p50Ms: r.p50Ms, p99Ms: r.p99Ms };
}

async function bench(backend: Backend, durability: "normal" | "full", http: boolean) {
  process.stderr.write(`== ${backend} (audit.durability ${durability})\n`);
  const fx = await startFixture(backend, durability);
  try {
    const floorEnvs = presign(fx, 2000, "floor");
    floors.push(measureFloor(floorEnvs, fx.agentToken, fx.agentPublic, fx.gatewayPublic).perSecond);
    floorsAllCores.push(
      (await measureFloorAllCores(floorEnvs, fx.agentToken, fx.agentPublic, fx.gatewayPublic)).perSecond,
    );
    const send = appSender(fx);
    await runAdmission(send, presign(fx, 500, "warmup"), 8);
    let rate = 2000;
    for (const concurrency of [1, 8, 32]) {
      const envs = presign(
        fx,
        Math.max(500, Math.min(60_000, Math.round(rate * SECONDS))),
        `c${concurrency}`,
      );
      const t = await audited(
        fx,
        (x) => x.count,
        () => runAdmission(send, envs, concurrency),
      );
      rate = t.perSecond;
      rows.push({ backend, durability, path: "in-process (app.request)", concurrency, t });
      process.stderr.write(`   in-process c=${concurrency}: ${Math.round(t.perSecond)}/s\n`);
    }
    await fx.gw.sealer.sealNow(true);
    const master = resolveMasterKey(
      { configured: fx.config.secrets.master_key, devMode: true, dataDir: fx.config.data_dir },
      silentLogger,
    );
    const report = await verifyChain(
      fx.gw.store,
      (await loadKeyring(fx.gw.store, master, silentLogger)).publicKeys(),
    );
    if (report.status !== "intact")
      throw new Error(`audit chain after the run: ${report.status} ${report.problems.join("; ")}`);
    if (http) {
      const t = await overHttp(fx, 32, rate);
      rows.push({ backend, durability, path: "HTTP (autocannon)", concurrency: 32, t });
      process.stderr.write(`   HTTP c=32: ${Math.round(t.perSecond)}/s\n`);
    }
  } finally {
    await fx.close();
  }
}

if (!values["no-sqlite"]) {
  await bench("sqlite", "normal", !values["no-http"]);
  await bench("sqlite", "full", false);
}
if (!values["no-pg"]) await bench("postgres", "normal", !values["no-http"]);

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 1;
const floor = median(floors);
const floorAll = median(floorsAllCores);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
const lines = [
  `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} × ${cpus().length}, ${SECONDS} s per phase, load average at the end ${load} (start ${loadAtStart})`,
  "",
  `Floor (node:crypto Ed25519 verify of the envelope signature + the token's EdDSA signature, cached KeyObjects): **${fmt(floor)} pairs/s** (${(1e6 / floor).toFixed(1)} µs per envelope; runs: ${floors.map(fmt).join(", ")})`,
  `Floor over all ${cpus().length} cores (the same pairs in libuv's thread pool): **${fmt(floorAll)} pairs/s** (runs: ${floorsAllCores.map(fmt).join(", ")})`,
  "",
  "| backend | audit.durability | path | concurrency | admitted/s | p50 ms | p99 ms | ÷ one-core floor | ÷ all-core floor |",
  "|---|---|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.backend} | ${r.durability} | ${r.path} | ${r.concurrency} | ${fmt(r.t.perSecond)} | ${r.t.p50Ms.toFixed(3)} | ${r.t.p99Ms.toFixed(3)} | ${((100 * r.t.perSecond) / floor).toFixed(0)}% | ${((100 * r.t.perSecond) / floorAll).toFixed(0)}% |`,
  ),
  "",
  "admitted = authenticated (freshness, token, session binding, signature, replay insert), then denied by authorization (2006: no security context can allow a tool yet) with its PolicyDenied audit row written; every phase checks one new audit row per envelope, and the chain verifies intact afterwards.",
];
process.stdout.write(`${lines.join("\n")}\n`);
