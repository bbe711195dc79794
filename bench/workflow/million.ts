/**
 * Issue 14's "gateway RSS after 1 M calls": the one-step workflow of bench/workflow in a closed
 * loop until N calls were answered (default 1,000,000), against one real gateway process, with
 * the gateway's RSS read from /proc after every 100,000 calls, and beside it the replay records
 * the database holds (`seal_gateway_replay_records`: those of the last freshness window, plus
 * expired ones the sweep has not reached yet). Memory is flat when RSS stops growing after the
 * warm-up block; the table is flat when its count does. Not a test: figures go to
 * docs/performance.md.
 *
 *   npx tsx bench/workflow/million.ts [--calls 1000000] [--every 100000] [--concurrency 16]
 *                                     [--backend postgres] [--no-build] [--cpu-prof DIR]
 *
 * Envelopes are signed in blocks of 5,000 just before they are sent, so each is fresh when it
 * arrives (the window is 30 s); a failed call is counted, never retried. `--cpu-prof DIR` runs the
 * gateway under `node --cpu-prof` (a long warm closed loop, which the short phases of run.ts are
 * not); `npx tsx bench/profile-top.ts FILE` reads what it leaves in DIR.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { packageRoot } from "../../src/paths.js";
import { presign, scrapeMetrics, startFixture } from "./fixture.js";
import { closedLoop } from "./load.js";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "1000000" },
    every: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "16" },
    backend: { type: "string", default: "sqlite" },
    "no-build": { type: "boolean" },
    "cpu-prof": { type: "string" },
  },
});
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);
const BACKEND = values.backend === "postgres" ? "postgres" : "sqlite";
const BLOCK = 5_000;
const REPORT_EVERY = Number(values.every);
for (const [flag, n] of [
  ["--calls", CALLS],
  ["--every", REPORT_EVERY],
] as const)
  if (!(Number.isInteger(n) && n >= BLOCK && n % BLOCK === 0))
    throw new Error(`${flag} must be a positive multiple of ${BLOCK}`);

/** Resident set size of a process in MiB (VmRSS), from /proc. */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (!values["no-build"]) execFileSync("npm", ["run", "build"], { cwd: packageRoot(), stdio: "inherit" });
const profileDir = values["cpu-prof"];
const fx = await startFixture(BACKEND, {
  nodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
});
const started = performance.now();
try {
  console.log(
    `${CALLS.toLocaleString("en-US")} calls, closed loop with ${CONCURRENCY} callers, ${BACKEND}, one gateway process; RSS at start ${rssMiB(fx.gatewayPid).toFixed(1)} MiB; load average ${loadavg()}.`,
  );
  console.log(
    "| calls | ok so far | failures so far | calls/s in block | p50 ms | p99 ms | RSS MiB | replay records |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  let sent = 0;
  let ok = 0;
  const failures: Record<string, number> = {};
  const rss: number[] = [];
  let blockStart = performance.now();
  let blockFrom = 0;
  let p50s: number[] = [];
  let p99s: number[] = [];
  while (sent < CALLS) {
    const n = Math.min(BLOCK, CALLS - sent);
    const r = await closedLoop(fx.gatewayUrl, CONCURRENCY, presign(fx, n, `m${sent}`));
    sent += r.sent;
    ok += r.ok;
    for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    p50s.push(r.p50Ms);
    p99s.push(r.p99Ms);
    if (sent % REPORT_EVERY === 0 || sent === CALLS) {
      const now = rssMiB(fx.gatewayPid);
      const gauge = /^seal_gateway_replay_records (\S+)$/m.exec(await scrapeMetrics(fx))?.[1];
      const replay = gauge === undefined ? "?" : Number(gauge).toLocaleString("en-US");
      rss.push(now);
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
      const perSecond = ((sent - blockFrom) * 1000) / (performance.now() - blockStart);
      const failed = Object.values(failures).reduce((a, b) => a + b, 0);
      console.log(
        `| ${sent.toLocaleString("en-US")} | ${ok.toLocaleString("en-US")} | ${failed} | ${Math.round(perSecond).toLocaleString("en-US")} | ${med(p50s).toFixed(2)} | ${Math.max(...p99s).toFixed(2)} | ${now.toFixed(1)} | ${replay} |`,
      );
      blockStart = performance.now();
      blockFrom = sent;
      p50s = [];
      p99s = [];
    }
  }
  const afterWarmup = rss[0] ?? Number.NaN;
  const last = rss.at(-1) ?? Number.NaN;
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `\n${sent.toLocaleString("en-US")} calls in ${minutes.toFixed(1)} min, ${sent - ok} not answered 200 (${JSON.stringify(failures)}). RSS after the first ${REPORT_EVERY.toLocaleString("en-US")} → end: ${afterWarmup.toFixed(1)} → ${last.toFixed(1)} MiB (min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}); load average ${loadavg()}.`,
  );
} finally {
  await fx.close();
}
