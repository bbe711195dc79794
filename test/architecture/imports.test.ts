/**
 * The import direction of docs/architecture.md, checked on the real source: every folder (and
 * top-level file) of src/ has a layer, an import never points to a higher layer, transports
 * never reach the store, and the folder graph has no cycle — type-only imports included, since
 * a cycle of types is a cycle of design. A new folder fails here until it is given a layer.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";

/** Higher imports lower; equal layers may import each other as long as no cycle forms. */
const LAYERS: Record<string, number> = {
  main: 6,
  cli: 5,
  // Composition roots: build the store, keys, services and transports.
  app: 4,
  core: 4,
  // Transports: translate, then call the pipeline or a verb.
  http: 3,
  mcp: 3,
  grpc: 3,
  // The call pipeline and the verbs.
  pipeline: 2,
  services: 2,
  manifest: 2,
  metrics: 2,
  tracing: 2,
  // Domain.
  seal: 1,
  policy: 1,
  engines: 1,
  credentials: 1,
  audit: 1,
  auth: 1,
  tools: 1,
  sdk: 1,
  attestation: 1,
  // Ports, adapters and leaves.
  store: 0,
  egress: 0,
  keys: 0,
  crypto: 0,
  config: 0,
  log: 0,
  errors: 0,
  ids: 0,
  clock: 0,
  paths: 0,
  "request-body": 0,
};

const TRANSPORTS = new Set(["http", "mcp", "grpc"]);

/**
 * Known breaks being removed, each with its reason; the test below fails once one is gone, so
 * the list can only shrink. Empty since the credential-backend port moved OpenAPI injection
 * into engines/openapi (the credentials ⇄ engines cycle).
 */
const KNOWN: readonly string[] = [];

interface Edge {
  from: string;
  to: string;
  file: string;
}

/** Why a folder graph breaks the rules (empty when it holds). */
function violations(edges: readonly Edge[], layers: Record<string, number>): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const a = layers[e.from];
    const b = layers[e.to];
    if (a === undefined) out.push(`${e.from} has no layer (${e.file})`);
    if (b === undefined) out.push(`${e.to} has no layer (imported by ${e.file})`);
    if (a !== undefined && b !== undefined && b > a)
      out.push(`${e.file}: ${e.from} (layer ${a}) imports ${e.to} (layer ${b})`);
    if (TRANSPORTS.has(e.from) && e.to === "store")
      out.push(`${e.file}: transport ${e.from} imports the store`);
  }
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)?.add(e.to);
  }
  // Depth-first search for a back edge; each cycle is reported once, by its folders.
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === "open") {
        const cycle = [...stack.slice(stack.indexOf(m)), m];
        const key = [...new Set(cycle)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          out.push(`cycle: ${cycle.join(" -> ")}`);
        }
      } else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return out;
}

const SRC = join(packageRoot(), "src");
const IMPORT = /^\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"|^\s*import\s+"(\.{1,2}\/[^"]+)"/gm;
const DYNAMIC = /\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** The folder of a path under src/ (a top-level file is its own unit), or null outside src/. */
function unitOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith("..")) return null;
  const parts = rel.split("/");
  return parts.length === 1 ? (parts[0] ?? "").replace(/\.(js|ts)$/, "") : (parts[0] ?? null);
}

function sourceEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    const from = unitOf(file);
    const specs = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
    specs.push(...[...text.matchAll(DYNAMIC)].map((m) => m[1]));
    for (const spec of specs) {
      if (!spec || from === null) continue;
      const to = unitOf(resolve(dirname(file), spec));
      // Outside src/ (the drizzle schemas beside it) is not a layer of the code.
      if (to === null || to === from) continue;
      edges.push({ from, to, file: relative(SRC, file) });
    }
  }
  return edges;
}

describe("import direction (docs/architecture.md)", () => {
  const edges = sourceEdges();

  it("reads the real import graph", () => {
    // A regex that silently matched nothing would make every rule below hold.
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: "pipeline", to: "seal", file: "pipeline/admit.ts" });
  });

  it("every folder of src/ has a layer", () => {
    const units = new Set(sourceFiles(SRC).map((f) => unitOf(f) ?? ""));
    expect([...units].filter((u) => !(u in LAYERS)).sort()).toEqual([]);
  });

  it("imports point down, transports never reach the store, and folders form no cycle", () => {
    expect(violations(edges, LAYERS).filter((v) => !KNOWN.includes(v))).toEqual([]);
  });

  it("every known break is still real (the list only shrinks)", () => {
    const found = violations(edges, LAYERS);
    expect(KNOWN.filter((k) => !found.includes(k))).toEqual([]);
  });

  it("the checker itself refuses an upward import, a transport on the store and a cycle", () => {
    const layers = { http: 3, services: 2, engines: 1, credentials: 1, store: 0 };
    expect(violations([{ from: "services", to: "http", file: "services/x.ts" }], layers)).toEqual([
      "services/x.ts: services (layer 2) imports http (layer 3)",
    ]);
    expect(violations([{ from: "http", to: "store", file: "http/app.ts" }], layers)).toEqual([
      "http/app.ts: transport http imports the store",
    ]);
    expect(
      violations(
        [
          { from: "engines", to: "credentials", file: "engines/a.ts" },
          { from: "credentials", to: "engines", file: "credentials/b.ts" },
        ],
        layers,
      ),
    ).toEqual(["cycle: credentials -> engines -> credentials"]);
    expect(violations([{ from: "nova", to: "store", file: "nova/x.ts" }], layers)).toEqual([
      "nova has no layer (nova/x.ts)",
    ]);
  });
});
