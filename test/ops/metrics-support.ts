import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import parsePrometheusTextFormat, { type Family } from "parse-prometheus-text-format";

export type { Family };

/** Parses the exposition with an independent Prometheus text parser; throws on a malformed one. */
export function parseMetrics(text: string): Family[] {
  return parsePrometheusTextFormat(text);
}

/**
 * Every sample line with its own name and labels: the parser, handed the exposition without its
 * HELP/TYPE lines, reads each series as untyped (it folds a labelled histogram's buckets into one
 * unlabelled sample otherwise).
 */
export function parseSamples(text: string): Family[] {
  const parsed = parsePrometheusTextFormat(
    text
      .split("\n")
      .filter((line) => !line.startsWith("#"))
      .join("\n"),
  );
  // A histogram's series interleave _bucket, _sum and _count: one family per name again.
  const byName = new Map<string, Family>();
  for (const f of parsed) {
    const seen = byName.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else byName.set(f.name, { ...f, metrics: [...f.metrics] });
  }
  return [...byName.values()];
}

export function family(families: Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`metric family ${name} missing; have ${families.map((x) => x.name).join(", ")}`);
  return f;
}

/** The sum of a counter's samples whose labels include `match`. */
export function counterSum(f: Family, match: Record<string, string>): number {
  return f.metrics
    .filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value), 0);
}

/**
 * `promtool check metrics` (the Prometheus project's own linter), built from the Go module proxy
 * by scripts/promtool.sh into .cache/bin. Returns its findings (empty: clean).
 */
export function promtoolCheck(text: string): string {
  const bin = promtoolPath();
  const r = spawnSync(bin, ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) throw r.error;
  // Exit 0: clean; 3: lint findings (one per line); anything else: the check itself failed
  // (1 is promtool's "the input did not parse").
  if (r.status !== 0 && r.status !== 3) throw new Error(`promtool failed (${r.status}): ${r.stderr}`);
  return `${r.stdout}${r.stderr}`.trim();
}

export function promtoolPath(): string {
  const bin = join(process.cwd(), ".cache", "bin", "promtool");
  if (!existsSync(bin)) execFileSync("bash", ["scripts/promtool.sh"], { stdio: "inherit" });
  return bin;
}
