/**
 * The top frames of a V8 .cpuprofile (from `node --cpu-prof`), as markdown tables:
 *
 *   npx tsx bench/profile-top.ts FILE [--top 25] [--by self|package|total]
 *
 * `self`: each function's own sample share. `package`: self time summed by where the code
 * lives (this project's folders under src/, each dependency under node_modules, node's
 * internals, native and GC), which is what decides where an optimisation can come from.
 * `total`: each function's inclusive share — the samples with it anywhere on the stack, counted
 * once per sample — which is what a call costs with everything it calls.
 * Idle time (the "(idle)" node: the event loop waiting) is left out of the shares, so they
 * are shares of busy time.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" }, by: { type: "string", default: "self" } },
});
const file = positionals[0];
if (!file) throw new Error("usage: profile-top.ts FILE.cpuprofile [--top N] [--by self|package|total]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

function where(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith("node:")) return "node:internals";
  const src = url.match(/\/(?:dist\/)?src\/([^/]+)(?:\/|\.js)/);
  return src ? `src/${src[1]}` : url;
}

const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frameKey = ({ functionName, url, lineNumber }: ProfileNode["callFrame"]) =>
  `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*\/(node_modules|src)\//, "$1/")}:${lineNumber + 1}` : ""}`;

let busy = 0;
const rows = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url } = node.callFrame;
  if (functionName === "(idle)") continue;
  busy += us;
  if (values.by === "total") {
    // Every distinct frame on this stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame) seen.add(frameKey(frame.callFrame));
    }
    for (const key of seen) rows.set(key, (rows.get(key) ?? 0) + us);
    continue;
  }
  const key = values.by === "package" ? where(url, functionName) : frameKey(node.callFrame);
  rows.set(key, (rows.get(key) ?? 0) + us);
}

const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
const top = [...rows.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
process.stdout.write(
  `busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled (${((100 * busy) / total).toFixed(0)} %)\n\n`,
);
const what = values.by === "package" ? "where" : "function";
const share = values.by === "total" ? "inclusive % of busy" : "self % of busy";
process.stdout.write(`| ${what} | ${share} |\n|---|---:|\n`);
for (const [key, us] of top)
  process.stdout.write(`| \`${key.trim()}\` | ${((100 * us) / busy).toFixed(1)} |\n`);
