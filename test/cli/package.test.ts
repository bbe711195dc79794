/**
 * What a user installs: `npm pack`, the tarball installed into an empty folder, and the bin run
 * from there — help, keygen, and a `start` that finds its migrations and answers /health. The
 * tarball's file list is held too: built code, migrations, examples, config, docs, README and
 * LICENSE, nothing else (no tests, benches or TypeScript sources).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { cleanEnv, freePort, tempDir } from "./process.js";

const run = promisify(execFile);
const root = packageRoot();
/** `npx` reads the whole installed dependency tree before it runs a bin: slow on a busy machine. */
const NPX_TIMEOUT_MS = 120_000;

describe("the bin in a checkout", () => {
  it(
    "is committed with its run bit, and `npx seal-gateway --help` works from the project folder",
    async () => {
      expect(statSync(join(root, "bin", "seal-gateway.js")).mode & 0o111).toBe(0o111);
      const r = await run("npx", ["--no-install", "seal-gateway", "--help"], {
        cwd: root,
        env: cleanEnv({}),
      });
      expect(r.stdout).toMatch(/^usage: seal-gateway <command>/);
    },
    NPX_TIMEOUT_MS,
  );
});

describe("the packed package, installed into an empty folder", () => {
  const packDir = tempDir("seal-pack-");
  const installDir = tempDir("seal-install-");
  let files: string[] = [];
  let server: ChildProcess | null = null;

  beforeAll(async () => {
    // dist/ is built by the global setup; packing must not rebuild it under the suite's feet.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], {
      cwd: root,
      maxBuffer: 64 << 20,
    });
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = (info[0]?.files ?? []).map((f) => f.path).sort();
    const tarball = join(packDir, info[0]?.filename ?? "missing.tgz");
    await run("npm", ["init", "-y"], { cwd: installDir });
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
      cwd: installDir,
      maxBuffer: 64 << 20,
      timeout: 8 * 60_000,
    });
  }, 10 * 60_000);

  afterAll(() => {
    server?.kill("SIGKILL");
    rmSync(packDir, { recursive: true, force: true });
    rmSync(installDir, { recursive: true, force: true });
  });

  it("ships the built code, migrations, the gRPC proto, examples, config, docs, README and LICENSE — nothing else", () => {
    const allowed = [
      /^package\.json$/,
      /^README\.md$/,
      /^LICENSE$/,
      /^bin\/seal-gateway\.js$/,
      /^dist\/(src|drizzle)\/.+\.(js|d\.ts)$/,
      // the web console as `vite build` wrote it (hashed assets, index.html, favicon)
      /^dist\/web\/(index\.html|favicon\.svg|assets\/[A-Za-z0-9_.-]+\.(js|css))$/,
      /^drizzle\/(sqlite|pg)\/migrations\/.+\.(sql|json)$/,
      // the gRPC services' definition, loaded at start by @grpc/proto-loader
      /^proto\/[^/]+\.proto$/,
      /^config\/[^/]+\.ya?ml$/,
      /^examples\/[^/]+\.ya?ml$/,
      /^docs\/.+\.(md|png)$/,
    ];
    const strays = files.filter((f) => !allowed.some((re) => re.test(f)));
    expect(strays).toEqual([]);
    for (const needed of [
      "bin/seal-gateway.js",
      "dist/src/main.js",
      "dist/src/sdk/index.js",
      "dist/src/sdk/index.d.ts",
      "examples/quickstart.yaml",
      "config/seal-gateway.example.yaml",
      "LICENSE",
      "README.md",
      "proto/seal_gateway.proto",
    ])
      expect(files, needed).toContain(needed);
    expect(files.some((f) => f.startsWith("drizzle/sqlite/migrations/"))).toBe(true);
    expect(files.some((f) => f.startsWith("drizzle/pg/migrations/"))).toBe(true);
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("bench/") || f.endsWith(".map"))).toBe(
      false,
    );
  });

  const bin = () => join(installDir, "node_modules", ".bin", "seal-gateway");

  it(
    "runs `npx seal-gateway --help` and `keygen` from there",
    async () => {
      expect(existsSync(bin())).toBe(true);
      const env = cleanEnv({});
      const help = await run("npx", ["--no-install", "seal-gateway", "--help"], { cwd: installDir, env });
      expect(help.stdout).toContain("session create");
      const keys = await run("npx", ["--no-install", "seal-gateway", "keygen"], { cwd: installDir, env });
      const pair = JSON.parse(keys.stdout) as { public_key_b64: string; private_key_b64: string };
      expect(Buffer.from(pair.public_key_b64, "base64")).toHaveLength(32);
    },
    NPX_TIMEOUT_MS,
  );

  it("starts a gateway that finds its migrations and answers /health and /ready", async () => {
    const port = await freePort();
    const data = join(installDir, "data");
    server = spawn(bin(), ["start"], {
      cwd: installDir,
      env: cleanEnv({ SEAL_GATEWAY_PORT: String(port), SEAL_GATEWAY_DATA_DIR: data }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    server.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    server.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const deadline = Date.now() + 30_000;
    let health: Response | null = null;
    while (Date.now() < deadline && !health) {
      health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
      if (!health) await new Promise((r) => setTimeout(r, 200));
    }
    expect(health?.status, output).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(await ready.json()).toEqual({ status: "ready", database: "sqlite" });
    expect(readdirSync(data)).toContain("gateway.db");
  }, 60_000);
});
