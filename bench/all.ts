/**
 * Every call-path bench in one run (issue 14, bench hygiene): the one-step workflow against the
 * direct call and the bare proxy, the explorer's slicing against JSON.parse, MCP and the stdio
 * bridge against /v1/invoke, and a CLI tool call against a bare `docker run --rm`. Each is the
 * bench of its own folder, run one after the other on the same build and machine, each printing
 * its own table; the load average is printed before and after each, so a figure taken while
 * something else ran on the machine can be told apart. Run from the project root:
 *
 *   npx tsx bench/all.ts [--quick] [--skip workflow,explorer,mcp,cli]
 *
 * `--quick` shortens every bench (for a smoke run); the figures in docs/performance.md come
 * from a run without it. The CLI bench needs the Docker engine and the test images
 * (`bash scripts/docker.sh && bash scripts/docker-images.sh`).
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, skip: { type: "string", default: "" } },
});
const skip = new Set(values.skip.split(",").filter(Boolean));
const quick = values.quick;

const BENCHES: Array<{ name: string; args: string[] }> = [
  {
    name: "workflow",
    args: [
      "bench/workflow/run.ts",
      "--no-build",
      ...(quick ? ["--seconds", "2"] : ["--seconds", "5", "--repeat", "3"]),
    ],
  },
  { name: "explorer", args: ["bench/explorer/run.ts", "5", quick ? "1" : "3"] },
  {
    name: "mcp",
    args: [
      "bench/mcp/run.ts",
      ...(quick ? ["--calls", "60", "--warmup", "10"] : ["--calls", "300", "--warmup", "30"]),
    ],
  },
  { name: "cli", args: ["bench/cli/run.ts", quick ? "5" : "20"] },
];

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

const unknown = [...skip].filter((s) => !BENCHES.some((b) => b.name === s));
if (unknown.length > 0) {
  process.stderr.write(`bench/all.ts: unknown bench in --skip: ${unknown.join(", ")}\n`);
  process.exit(2);
}

spawnSync("npm", ["run", "build"], { stdio: ["ignore", "ignore", "inherit"] });
console.log(`# All call-path benches, ${new Date().toISOString()}, node ${process.version}\n`);
const failed: string[] = [];
for (const bench of BENCHES) {
  if (skip.has(bench.name)) continue;
  console.log(`## ${bench.name}\n\n\`npx tsx ${bench.args.join(" ")}\` — load before: ${load()}\n`);
  process.stderr.write(`bench/all.ts: ${bench.name}…\n`);
  const started = Date.now();
  const r = spawnSync("npx", ["tsx", ...bench.args], { stdio: ["ignore", "inherit", "inherit"] });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\n(${bench.name}: exit ${r.status}, ${seconds} s; load after: ${load()})\n`);
  if (r.status !== 0) failed.push(bench.name);
}
if (failed.length > 0) {
  process.stderr.write(`bench/all.ts: failed: ${failed.join(", ")}\n`);
  process.exit(1);
}
