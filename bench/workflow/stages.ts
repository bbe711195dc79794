/**
 * Where one call's time goes when it is alone (one in flight): N sequential workflow calls,
 * then the gateway's own stage histogram (`seal_gateway_stage_duration_seconds`) read from
 * `/metrics`, as mean milliseconds per stage beside the client-side latency.
 *
 *   npx tsx bench/workflow/stages.ts [--calls 2000] [--backend sqlite|postgres] [--interval-ms 0]
 *                                    [--cpu-prof DIR]
 */
import { parseArgs } from "node:util";
import { presign, scrapeMetrics, startFixture } from "./fixture.js";
import { closedLoop } from "./load.js";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    backend: { type: "string", default: "sqlite" },
    "cpu-prof": { type: "string" },
    /** Pause between calls (ms): 10 is 100 calls/s at most, a mostly idle gateway. */
    "interval-ms": { type: "string", default: "0" },
  },
});
const calls = Number(values.calls);
const pause = Number(values["interval-ms"]);
if (!(calls > 0) || !(pause >= 0)) throw new Error("--calls must be > 0 and --interval-ms >= 0");
const backend = values.backend === "postgres" ? "postgres" : "sqlite";
const profileDir = values["cpu-prof"];
const fx = await startFixture(backend, {
  nodeArgs: profileDir ? ["--cpu-prof", "--cpu-prof-interval=50", `--cpu-prof-dir=${profileDir}`] : [],
});

try {
  await closedLoop(fx.gatewayUrl, 1, presign(fx, 300, "warm"));
  const before = await scrape();
  // Envelopes are fresh for 30 s: signed just before they are sent.
  const run = await closedLoop(fx.gatewayUrl, 1, presign(fx, calls, "seq"), 200, pause);
  const after = await scrape();
  if (run.ok !== calls)
    throw new Error(`only ${run.ok} of ${calls} calls answered 200: ${JSON.stringify(run.failures)}`);
  console.log(
    `${calls} sequential calls (${backend}, ${pause} ms apart): client p50 ${run.p50Ms.toFixed(3)} ms, p99 ${run.p99Ms.toFixed(3)} ms`,
  );
  console.log("\n| stage | mean ms per call |\n|---|---:|");
  let total = 0;
  for (const [stage, sum] of after) {
    const d = (sum - (before.get(stage) ?? 0)) / calls;
    total += d;
    console.log(`| ${stage} | ${(d * 1000).toFixed(3)} |`);
  }
  console.log(`| all stages | ${(total * 1000).toFixed(3)} |`);
} finally {
  await fx.close();
}

/** Sum of seconds per stage, successful stages only. */
async function scrape(): Promise<Map<string, number>> {
  const text = await scrapeMetrics(fx);
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = line.match(/^seal_gateway_stage_duration_seconds_sum\{([^}]*)\} (\S+)/);
    if (!m) continue;
    const stage = m[1]?.match(/stage="([^"]+)"/)?.[1] ?? "?";
    out.set(stage, (out.get(stage) ?? 0) + Number(m[2]));
  }
  return out;
}
