/**
 * One-step workflow through the gateway versus the same request sent to the upstream directly
 * (DESIGN §9 b). Run from the project root:
 *
 *   npx tsx bench/workflow/run.ts [--seconds 5] [--rates 25,50,100,200] [--backend sqlite|postgres]
 *                                 [--concurrency 16] [--no-build] [--cpu-prof DIR]
 *                                 [--repeat 3] [--pin] [--instances N] [--no-proxy]
 *
 * A real gateway process (dist/src/main.js, rebuilt first unless --no-build) on a temp data
 * dir, the local upstream in its own process, and this process as the load generator. The
 * gateway side POSTs unique envelopes signed ahead of each phase (each carries its own JSON-RPC
 * id; all are fresh for the 30 s window) to /v1/invoke calling `petstore.find-available`
 * (findPetsByStatus); the direct side GETs /api/v3/pet/findByStatus?status=available. Both
 * sides use the same open-loop fixed-rate client, interleaved per rate, then one closed-loop
 * phase for the maximum throughput. Prints a markdown table (progress on stderr).
 *
 * Each phase also runs against a bare reverse proxy (bench/workflow/proxy.ts: parse, one keep-
 * alive GET, answer; no security at all), the floor any gateway pays on this machine for the
 * extra process hop. `--repeat R` runs every phase R times and prints the median with
 * [min–max]; `--pin` puts the gateway and the proxy on CPU 0 and the load generator and the
 * upstream on CPU 1 (taskset); `--instances N` starts N gateway processes on the same store and
 * deals the load out over them in turn (what several processes on one port would serve).
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
    repeat: { type: "string", default: "1" },
    instances: { type: "string", default: "1" },
    pin: { type: "boolean" },
    "no-proxy": { type: "boolean" },
    "no-build": { type: "boolean" },
    "cpu-prof": { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const RATES = values.rates === "none" ? [] : String(values.rates).split(",").map(Number);
const CONCURRENCY = Number(values.concurrency);
const REPEAT = Number(values.repeat);
const INSTANCES = Number(values.instances);
const PROXY = !values["no-proxy"];
const BACKEND = values.backend === "postgres" ? "postgres" : "sqlite";
// Envelopes are signed before a phase starts and must still be fresh when the last one is sent.
if (!(SECONDS > 0 && SECONDS <= 20)) throw new Error("--seconds must be in (0, 20]");
if (RATES.some((r) => !(r > 0))) throw new Error("--rates must be positive numbers");
if (!(Number.isInteger(REPEAT) && REPEAT >= 1 && REPEAT <= 9)) throw new Error("--repeat must be 1–9");
if (!(Number.isInteger(INSTANCES) && INSTANCES >= 1 && INSTANCES <= 8))
  throw new Error("--instances must be 1–8");
if (values.pin && INSTANCES > 1)
  throw new Error("--pin puts the gateway on one core: use it with one instance");

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

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const loadAtStart = load();
const profileDir = values["cpu-prof"];
const fx: Fixture = await startFixture(BACKEND, {
  nodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  instances: INSTANCES,
  proxy: PROXY,
  pin: values.pin === true,
});
progress(
  `gateway ${fx.gatewayUrls.join(", ")} (${BACKEND}), upstream ${fx.upstreamUrl}${fx.proxyUrl ? `, proxy ${fx.proxyUrl}` : ""}`,
);

interface Row {
  load: string;
  direct: LoadResult;
  proxy?: LoadResult;
  gateway: LoadResult;
}
interface Cpu {
  gateway: number;
  proxy: number;
  upstream: number;
  loadGenerator: number;
  calls: number;
}

/** Every phase once: the fixed rates, then the closed loop (its CPU per call measured). */
async function measure(round: number): Promise<{ rows: Row[]; cpu: Cpu }> {
  const rows: Row[] = [];
  for (const rate of RATES) {
    const n = Math.max(1, Math.round(rate * SECONDS));
    progress(`[${round}] fixed rate ${rate}/s × ${SECONDS} s: direct…`);
    const direct = await fixedRate(fx.upstreamUrl, rate, directRequests(n));
    let proxy: LoadResult | undefined;
    if (fx.proxyUrl) {
      progress(`[${round}] fixed rate ${rate}/s × ${SECONDS} s: proxy…`);
      proxy = await fixedRate(fx.proxyUrl, rate, presign(fx, n, `r${round}p${rate}`));
    }
    progress(`[${round}] fixed rate ${rate}/s × ${SECONDS} s: gateway…`);
    const gateway = await fixedRate(fx.gatewayUrls, rate, presign(fx, n, `r${round}g${rate}`));
    rows.push({ load: `${rate}/s`, direct, ...(proxy ? { proxy } : {}), gateway });
  }
  progress(`[${round}] closed loop, ${CONCURRENCY} callers…`);
  const directMax = await closedLoop(fx.upstreamUrl, CONCURRENCY, directRequests(4000));
  // Sized to finish well inside the freshness window even at a few hundred calls per second.
  const proxyCpu0 = fx.cpuSeconds().proxy;
  const proxyMax = fx.proxyUrl
    ? await closedLoop(fx.proxyUrl, CONCURRENCY, presign(fx, 4000, `r${round}pmax`))
    : undefined;
  const proxyCpu = fx.cpuSeconds().proxy - proxyCpu0;
  const maxRequests = presign(fx, 2000 * INSTANCES, `r${round}max`);
  const cpuBefore = fx.cpuSeconds();
  const loadCpuBefore = process.cpuUsage();
  const gatewayMax = await closedLoop(fx.gatewayUrls, CONCURRENCY, maxRequests);
  const loadCpu = process.cpuUsage(loadCpuBefore);
  const cpuAfter = fx.cpuSeconds();
  rows.push({
    load: `max (${CONCURRENCY} callers)`,
    direct: directMax,
    ...(proxyMax ? { proxy: proxyMax } : {}),
    gateway: gatewayMax,
  });
  const perCall = (seconds: number, calls: number) => (1000 * seconds) / calls;
  return {
    rows,
    cpu: {
      gateway: perCall(cpuAfter.gateway - cpuBefore.gateway, gatewayMax.sent),
      upstream: perCall(cpuAfter.upstream - cpuBefore.upstream, gatewayMax.sent),
      loadGenerator: perCall((loadCpu.user + loadCpu.system) / 1e6, gatewayMax.sent),
      proxy: proxyMax ? perCall(proxyCpu, proxyMax.sent) : Number.NaN,
      calls: gatewayMax.sent,
    },
  };
}

try {
  // One checked call per instance: the measured answers are 200s of this exact shape.
  for (const url of fx.gatewayUrls) {
    const [probe] = presign(fx, 1, `probe-${url}`);
    const res = await fetch(`${url}/v1/invoke`, {
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
  }

  progress("warm-up…");
  await closedLoop(fx.upstreamUrl, 4, directRequests(400));
  if (fx.proxyUrl) await closedLoop(fx.proxyUrl, 4, presign(fx, 400, "warm-proxy"));
  await closedLoop(fx.gatewayUrls, 4, presign(fx, 400 * INSTANCES, "warm"));

  const rounds: Array<{ rows: Row[]; cpu: Cpu }> = [];
  for (let r = 1; r <= REPEAT; r++) rounds.push(await measure(r));

  /** The median of the rounds' values, with [min–max] when there are several. */
  const summary = (pick: (round: { rows: Row[]; cpu: Cpu }) => number, fmt: (v: number) => string) => {
    const vals = rounds.map(pick).filter(Number.isFinite);
    if (vals.length === 0) return "–";
    vals.sort((a, b) => a - b);
    const median = vals[Math.floor((vals.length - 1) / 2)] as number;
    return vals.length === 1
      ? fmt(median)
      : `${fmt(median)} [${fmt(vals[0] as number)}–${fmt(vals.at(-1) as number)}]`;
  };
  const ms = (v: number) => v.toFixed(2);
  const rate = (v: number) => Math.round(v).toLocaleString("en-US");
  const first = rounds[0] as { rows: Row[] };
  const lines = first.rows.map((row, i) => {
    const at = (r: { rows: Row[] }) => r.rows[i] as Row;
    const cells = [
      row.load,
      summary((r) => at(r).direct.p50Ms, ms),
      summary((r) => at(r).direct.p99Ms, ms),
      summary((r) => at(r).direct.achievedPerSecond, rate),
      ...(PROXY
        ? [
            summary((r) => (at(r).proxy?.p50Ms ?? Number.NaN) - at(r).direct.p50Ms, ms),
            summary((r) => (at(r).proxy?.p99Ms ?? Number.NaN) - at(r).direct.p99Ms, ms),
            summary((r) => at(r).proxy?.achievedPerSecond ?? Number.NaN, rate),
          ]
        : []),
      summary((r) => at(r).gateway.p50Ms - at(r).direct.p50Ms, ms),
      summary((r) => at(r).gateway.p99Ms - at(r).direct.p99Ms, ms),
      summary((r) => at(r).gateway.achievedPerSecond, rate),
      rounds
        .map((r) => {
          const f = Object.entries(at(r).gateway.failures);
          return f.length === 0 ? "0" : f.map(([k, v]) => `${v} ${k}`).join(", ");
        })
        .join(" · "),
    ];
    return `| ${cells.join(" | ")} |`;
  });
  const proxyHead = PROXY ? " proxy added p50 ms | proxy added p99 ms | proxy req/s |" : "";
  const proxyRule = PROXY ? "---:|---:|---:|" : "";
  const cpuMs = (pick: (c: Cpu) => number) => summary((r) => pick(r.cpu), ms);
  const out = [
    `Workflow \`${TOOL}\` (one step, findPetsByStatus) through the gateway vs. the same GET sent directly${PROXY ? " and through a bare reverse proxy" : ""}.`,
    `Backend ${BACKEND} (audit.durability normal), ${INSTANCES} gateway process${INSTANCES > 1 ? "es" : ""}${values.pin ? " pinned to CPU 0 (load generator and upstream on CPU 1)" : ""}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, load average at start ${loadAtStart}, ${SECONDS} s per fixed-rate phase, ${REPEAT === 1 ? "one round" : `median [min–max] of ${REPEAT} rounds`}.`,
    "Latency is measured from each request's scheduled send time (open loop); the max row is closed loop; added = over the direct call in the same round.",
    "",
    `| load | direct p50 ms | direct p99 ms | direct req/s |${proxyHead} gateway added p50 ms | gateway added p99 ms | gateway calls/s | gateway failures |`,
    `|---|---:|---:|---:|${proxyRule}---:|---:|---:|---|`,
    ...lines,
    "",
    `CPU per call in the closed-loop phase: gateway ${cpuMs((c) => c.gateway)} ms${PROXY ? `, proxy ${cpuMs((c) => c.proxy)} ms` : ""}, upstream ${cpuMs((c) => c.upstream)} ms, load generator ${cpuMs((c) => c.loadGenerator)} ms (${(rounds[0] as { cpu: Cpu }).cpu.calls} gateway calls per round; load average now ${load()}).`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  if (rounds.some((r) => r.rows.some((row) => Object.keys(row.direct.failures).length > 0)))
    progress("warning: the direct side had failures");
} finally {
  await fx.close();
}
