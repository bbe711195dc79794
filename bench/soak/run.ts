/**
 * A bounded soak (issue 17 item 5, issue 14's "RSS flat"): the one-step workflow of
 * bench/workflow at a fixed rate for a number of minutes against one real gateway process,
 * reporting per minute the calls answered, failures, p50/p99 and the gateway's RSS, and at the
 * end whether memory grew after warm-up. Not a test: figures go to docs/operations.md.
 *
 * With `--instances N` (PostgreSQL), N gateway processes on one database behind the round-robin
 * balancer of the fleet test (test/ops/support/balancer.ts); RSS is then shown per instance.
 *
 *   npx tsx bench/soak/run.ts --minutes 10 --rate 100 [--backend postgres] [--instances 3] [--no-build]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { packageRoot } from "../../src/paths.js";
import { presign, startFixture } from "../workflow/fixture.js";
import { fixedRate } from "../workflow/load.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Resident set size of a process in MiB (VmRSS), from /proc. */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const minutes = Number(arg("minutes", "10"));
const rate = Number(arg("rate", "100"));
const instances = Number(arg("instances", "1"));
const backend = arg("backend", instances > 1 ? "postgres" : "sqlite") === "postgres" ? "postgres" : "sqlite";
const WINDOW_S = 10;
if (!process.argv.includes("--no-build"))
  execFileSync("npm", ["run", "build"], { cwd: packageRoot(), stdio: "inherit" });

const fx = await startFixture(backend, { instances });
const rssAll = () => fx.gatewayPids.map(rssMiB);
const show = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" / ");
try {
  // Warm-up: one minute at the same rate, not counted.
  for (let w = 0; w < 60 / WINDOW_S; w++)
    await fixedRate(fx.gatewayUrl, rate, presign(fx, rate * WINDOW_S, `warm${w}`));
  const afterWarmup = rssAll();
  console.log(
    `Soak: ${minutes} min at ${rate} calls/s, ${backend}, ${instances === 1 ? "one gateway process" : `${instances} gateway processes behind a round-robin balancer`}; RSS after 1 min warm-up ${show(afterWarmup)} MiB; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}.`,
  );
  console.log("| minute | calls | ok | failures | p50 ms | p99 ms | max ms | RSS MiB |");
  console.log("|---:|---:|---:|---|---:|---:|---:|---:|");
  const rss: number[][] = [];
  let total = 0;
  let failed = 0;
  for (let m = 1; m <= minutes; m++) {
    const lat: { p50: number[]; p99: number[]; max: number } = { p50: [], p99: [], max: 0 };
    let calls = 0;
    let ok = 0;
    const failures: Record<string, number> = {};
    for (let w = 0; w < 60 / WINDOW_S; w++) {
      const r = await fixedRate(fx.gatewayUrl, rate, presign(fx, rate * WINDOW_S, `m${m}w${w}`));
      calls += r.sent;
      ok += r.ok;
      for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
      lat.p50.push(r.p50Ms);
      lat.p99.push(r.p99Ms);
      lat.max = Math.max(lat.max, r.maxMs);
    }
    const now = rssAll();
    rss.push(now);
    total += calls;
    failed += calls - ok;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    console.log(
      `| ${m} | ${calls} | ${ok} | ${Object.keys(failures).length ? JSON.stringify(failures) : "0"} | ${med(lat.p50).toFixed(2)} | ${Math.max(...lat.p99).toFixed(2)} | ${lat.max.toFixed(1)} | ${show(now)} |`,
    );
  }
  const growth = fx.gatewayPids.map((_, i) => {
    const series = rss.map((r) => r[i] ?? Number.NaN);
    const first = series[0] ?? Number.NaN;
    const last = series.at(-1) ?? Number.NaN;
    return `${first.toFixed(1)} → ${last.toFixed(1)} MiB (max ${Math.max(...series).toFixed(1)}; ${(last - first >= 0 ? "+" : "") + (last - first).toFixed(1)} MiB)`;
  });
  console.log(
    `\n${total} calls, ${failed} not answered 200. RSS minute 1 → ${minutes}${instances > 1 ? ", per instance" : ""}: ${growth.join("; ")}.`,
  );
} finally {
  await fx.close();
}
