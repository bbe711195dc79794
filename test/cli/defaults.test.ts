/**
 * `npm start` with nothing configured: run from an empty working directory with no
 * SEAL_GATEWAY_* variable except the port, the gateway creates its SQLite database and a dev
 * master key under ./data and is ready.
 */
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { freePort, type GatewayProcess, lastLine, runCli, startGateway, tempDir } from "./process.js";

describe("defaults (npm start from an empty directory)", () => {
  const dir = tempDir("seal-defaults-");
  let gw: GatewayProcess;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    gw = await startGateway({ env: { SEAL_GATEWAY_PORT: String(port) }, cwd: dir });
  });
  afterAll(async () => {
    await gw.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("npm start runs exactly the command these tests run", () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe("node dist/src/main.js start");
    // The bin is a committed, executable shim over the same built entry.
    expect(pkg.bin["seal-gateway"]).toBe("bin/seal-gateway.js");
    expect(readFileSync(join(packageRoot(), "bin", "seal-gateway.js"), "utf8")).toContain(
      'import "../dist/src/main.js";',
    );
  });

  it("creates ./data/gateway.db and an owner-only ./data/master.key", () => {
    expect(statSync(join(dir, "data", "gateway.db")).isFile()).toBe(true);
    const key = statSync(join(dir, "data", "master.key"));
    expect(key.mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(join(dir, "data", "master.key"), "utf8").trim(), "base64")).toHaveLength(
      32,
    );
  });

  it("is ready on 127.0.0.1 with SQLite", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", database: "sqlite" });
  });

  it("the CLI in the same directory finds the same database and key (token, migrate, audit verify)", async () => {
    const opts = { env: {}, cwd: dir };
    const token = lastLine((await runCli(["token", "--role", "admin"], opts)).stdout);
    const res = await fetch(`${gw.url}/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const migrate = await runCli(["migrate"], opts);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain("sqlite");
    const verify = await runCli(["audit", "verify"], opts);
    expect([0, 3]).toContain(verify.code);
  });

  it("the master key is not regenerated on restart (the signing key still opens)", async () => {
    const before = readFileSync(join(dir, "data", "master.key"), "utf8");
    gw.proc.kill("SIGTERM");
    expect((await gw.exited).code).toBe(0);
    gw = await startGateway({ env: { SEAL_GATEWAY_PORT: String(port) }, cwd: dir });
    expect(readFileSync(join(dir, "data", "master.key"), "utf8")).toBe(before);
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
  });
});

describe("secrets.backends at start", () => {
  it("refuses an entry no backend is built for: exit 1, the path named, nothing created", async () => {
    const dir = tempDir("seal-backends-");
    try {
      const r = await runCli(["start"], {
        env: {
          SEAL_GATEWAY_PORT: String(await freePort()),
          SEAL_GATEWAY_SECRETS_BACKENDS: JSON.stringify({ openbao: { address: "http://127.0.0.1:8200" } }),
        },
        cwd: dir,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("configuration refused:");
      expect(r.stderr).toContain('secrets.backends.openbao: no credential backend named "openbao"');
      expect(() => statSync(join(dir, "data"))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
