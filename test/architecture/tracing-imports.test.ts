/**
 * "Off means not loaded" (docs/decisions.md, Traces), held on the real source: only the tracing
 * implementation imports the OpenTelemetry SDK packages, nothing outside it imports that
 * implementation statically, and the composition root reaches it only through the dynamic
 * import in src/tracing/load.ts, taken when `tracing.enabled`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";

const SRC = join(packageRoot(), "src");
const IMPLEMENTATION = new Set(["tracing/otel.ts", "tracing/decorators.ts", "tracing/attributes.ts"]);
const STATIC = /^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;
const DYNAMIC = /\bimport\(\s*"([^"]+)"\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

const files = sourceFiles(SRC).map((file) => ({
  rel: relative(SRC, file),
  file,
  text: readFileSync(file, "utf8"),
}));
const target = (file: string, spec: string) =>
  spec.startsWith(".") ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, ".ts") : spec;

describe("tracing stays unloaded when off", () => {
  it("only the tracing implementation imports OpenTelemetry packages", () => {
    const importers = files.filter(({ text, rel }) =>
      [...text.matchAll(STATIC)].some((m) => {
        const spec = m[1] ?? m[2] ?? "";
        return spec.startsWith("@opentelemetry/") && !IMPLEMENTATION.has(rel);
      }),
    );
    expect(importers.map((f) => f.rel)).toEqual([]);
    expect(files.filter((f) => IMPLEMENTATION.has(f.rel))).toHaveLength(IMPLEMENTATION.size);
  });

  it("nothing outside it imports the implementation statically; load.ts imports it dynamically", () => {
    const offenders: string[] = [];
    for (const { rel, file, text } of files) {
      if (IMPLEMENTATION.has(rel)) continue;
      for (const m of text.matchAll(STATIC)) {
        const to = target(file, m[1] ?? m[2] ?? "");
        if (IMPLEMENTATION.has(to)) offenders.push(`${rel} -> ${to}`);
      }
    }
    expect(offenders).toEqual([]);
    const load = files.find((f) => f.rel === "tracing/load.ts");
    const dynamic = [...(load?.text ?? "").matchAll(DYNAMIC)].map((m) =>
      target(load?.file ?? "", m[1] ?? ""),
    );
    expect(dynamic).toEqual(["tracing/otel.ts"]);
  });
});
