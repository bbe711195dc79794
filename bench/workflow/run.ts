/**
 * One-step workflow through the gateway versus the same request sent to the upstream directly
 * (DESIGN §9 b). Run from the project root:
 *
 *   npx tsx bench/workflow/run.ts [--seconds 5] [--rates 25,50,100,200] [--backend sqlite|postgres]
 *                                 [--concurrency 16] [--no-build] [--cpu-prof DIR]
 *
 * A real gateway process (dist/src/main.js, rebuilt first unless --no-build) on a temp data
 * dir, the local upstream in its own process, and this process as the load generator. The
 * gateway side POSTs unique envelopes signed ahead of each phase (each carries its own JSON-RPC
 * id; all are fresh for the 30 s window) to /v1/invoke calling `petstore.find-available`
 * (findPetsByStatus); the direct side GETs /api/v3/pet/findByStatus?status=available. Both
 * sides use the same open-loop fixed-rate client, interleaved per rate, then one closed-loop
 * phase for the maximum throughput. Prints a markdown table (progress on stderr).
 *
 * `--cpu-prof DIR` runs the gateway under `node --cpu-prof` and leaves its .cpuprofile in DIR
 * (written when it exits at the end); `--rates none` skips the fixed-rate phases, so the
 * profile covers the warm-up and the closed loop only. `npx tsx bench/profile-top.ts FILE`
 * prints its top frames.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "../../src/paths.js";
import { directRequests, type Fixture, presign, startFixture, TOOL } from "./fixture.js";
import { closedLoop, fixedRate, type LoadResult } from "./load.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rates: { type: "string", default: "25,50,100,200" },
    backend: { type: "string", default: "sqlite" },
    concurrency: { type: "string", default: "16" },
    "no-build": { type: "boolean" },
    "cpu-prof": { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const RATES = values.rates === "none" ? [] : String(values.rates).split(",").map(Number);
const CONCURRENCY = Number(values.concurrency);
const BACKEND = values.backend === "postgres" ? "postgres" : "sqlite";
// Envelopes are signed before a phase starts and must still be fresh when the last one is sent.
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
    // tsc still emits on type errors; the gateway below is what gets measured.
    progress("tsc reported errors (output emitted anyway)");
  }
}
if (!existsSync(join(root, "dist", "src", "main.js")))
  throw new Error("dist/src/main.js is missing: run `npm run build`");

const loadAtStart = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
const profileDir = values["cpu-prof"];
const fx: Fixture = await startFixture(BACKEND, {
  nodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
});
progress(`gateway ${fx.gatewayUrl} (${BACKEND}), upstream ${fx.upstreamUrl}`);

try {
  // One checked call: the measured answers are 200s of this exact shape.
  const [probe] = presign(fx, 1, "probe");
  const res = await fetch(`${fx.gatewayUrl}/v1/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: probe?.body ?? "",
  });
  const answer = (await res.json()) as {
    status: string;
    result?: { state?: { find?: { names?: string[] } } };
  };
  if (res.status !== 200 || answer.status !== "success" || !answer.result?.state?.find?.names?.length) {
    throw new Error(`probe call failed: ${res.status} ${JSON.stringify(answer).slice(0, 500)}`);
  }

  progress("warm-up…");
  await closedLoop(fx.upstreamUrl, 4, directRequests(400));
  await closedLoop(fx.gatewayUrl, 4, presign(fx, 400, "warm"));

  const rows: Array<{ load: string; direct: LoadResult; gateway: LoadResult }> = [];
  for (const rate of RATES) {
    const n = Math.max(1, Math.round(rate * SECONDS));
    progress(`fixed rate ${rate}/s × ${SECONDS} s: direct…`);
    const direct = await fixedRate(fx.upstreamUrl, rate, directRequests(n));
    progress(`fixed rate ${rate}/s × ${SECONDS} s: gateway…`);
    const gateway = await fixedRate(fx.gatewayUrl, rate, presign(fx, n, `rate${rate}`));
    rows.push({ load: `${rate}/s`, direct, gateway });
  }
  progress(`closed loop, ${CONCURRENCY} callers…`);
  const directMax = await closedLoop(fx.upstreamUrl, CONCURRENCY, directRequests(4000));
  // Sized to finish well inside the freshness window even at a few hundred calls per second.
  const maxRequests = presign(fx, 2000, "max");
  const cpuBefore = fx.cpuSeconds();
  const loadCpuBefore = process.cpuUsage();
  const gatewayMax = await closedLoop(fx.gatewayUrl, CONCURRENCY, maxRequests);
  const loadCpu = process.cpuUsage(loadCpuBefore);
  const cpuAfter = fx.cpuSeconds();
  rows.push({ load: `max (${CONCURRENCY} callers)`, direct: directMax, gateway: gatewayMax });
  const perCallMs = (seconds: number) => ((1000 * seconds) / gatewayMax.sent).toFixed(2);
  const cpuLine =
    `CPU per call in the closed gateway phase: gateway ${perCallMs(cpuAfter.gateway - cpuBefore.gateway)} ms, ` +
    `upstream ${perCallMs(cpuAfter.upstream - cpuBefore.upstream)} ms, load generator ${perCallMs((loadCpu.user + loadCpu.system) / 1e6)} ms ` +
    `(${gatewayMax.sent} calls; load average now ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}).`;

  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "–");
  const rps = (r: LoadResult) => Math.round(r.achievedPerSecond).toLocaleString("en-US");
  const fails = (r: LoadResult) => {
    const f = Object.entries(r.failures);
    return f.length === 0 ? "0" : f.map(([k, v]) => `${v} ${k}`).join(", ");
  };
  const out = [
    `Workflow \`${TOOL}\` (one step, findPetsByStatus) through the gateway vs. the same GET sent directly.`,
    `Backend ${BACKEND} (audit.durability normal), ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, load average at start ${loadAtStart}, ${SECONDS} s per fixed-rate phase.`,
    "Latency is measured from each request's scheduled send time (open loop); the max row is closed loop.",
    "",
    "| load | direct p50 ms | direct p99 ms | direct req/s | gateway p50 ms | gateway p99 ms | gateway calls/s | added p50 ms | added p99 ms | gateway failures |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      ({ load, direct, gateway }) =>
        `| ${load} | ${ms(direct.p50Ms)} | ${ms(direct.p99Ms)} | ${rps(direct)} | ${ms(gateway.p50Ms)} | ${ms(gateway.p99Ms)} | ${rps(gateway)} | ${ms(gateway.p50Ms - direct.p50Ms)} | ${ms(gateway.p99Ms - direct.p99Ms)} | ${fails(gateway)} |`,
    ),
  ];
  out.push("", cpuLine);
  process.stdout.write(`${out.join("\n")}\n`);
  if (rows.some((r) => Object.keys(r.direct.failures).length > 0))
    progress("warning: the direct side had failures");
} finally {
  await fx.close();
}
