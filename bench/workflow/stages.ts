/**
 * Where one call's time goes when it is alone (one in flight): N sequential workflow calls,
 * then the gateway's own stage histogram (`seal_gateway_stage_duration_seconds`) read from
 * `/metrics`, as mean milliseconds per stage beside the client-side latency.
 *
 *   npx tsx bench/workflow/stages.ts [--calls 2000] [--backend sqlite|postgres] [--interval-ms 0]
 *                                    [--cpu-prof DIR]
 */
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { presign, startFixture } from "./fixture.js";
import type { LoadRequest } from "./load.js";

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
const backend = values.backend === "postgres" ? "postgres" : "sqlite";
const profileDir = values["cpu-prof"];
const fx = await startFixture(backend, {
  nodeArgs: profileDir ? ["--cpu-prof", "--cpu-prof-interval=50", `--cpu-prof-dir=${profileDir}`] : [],
});
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function send(url: URL, req: LoadRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const r = request(
      url,
      { method: req.method, agent, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        });
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

try {
  const url = new URL("/v1/invoke", fx.gatewayUrl);
  const warm = presign(fx, 300, "warm");
  for (const r of warm) await send(url, r);
  const before = await scrape();
  const reqs = presign(fx, calls, "seq");
  const ms: number[] = [];
  const pause = Number(values["interval-ms"]);
  for (const r of reqs) {
    ms.push(await send(url, r));
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const after = await scrape();
  ms.sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]?.toFixed(3);
  console.log(
    `${calls} sequential calls (${backend}): client p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms`,
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
  agent.destroy();
  await fx.close();
}

/** Sum of seconds per stage, successful stages only. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(new URL("/metrics", fx.gatewayUrl), {
    headers: { authorization: `Bearer ${fx.adminToken}` },
  });
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = line.match(/^seal_gateway_stage_duration_seconds_sum\{([^}]*)\} (\S+)/);
    if (!m) continue;
    const stage = m[1]?.match(/stage="([^"]+)"/)?.[1] ?? "?";
    out.set(stage, (out.get(stage) ?? 0) + Number(m[2]));
  }
  return out;
}
