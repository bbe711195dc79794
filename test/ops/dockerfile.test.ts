/**
 * The top-level Dockerfile, built against the local Docker Engine (scripts/docker.sh) on the
 * base images scripts/base-image.sh makes (no registry is reachable), then run as an operator
 * would: read-only root filesystem, /tmp on a tmpfs, the data directory on a volume, all
 * capabilities dropped. The test waits for the image's own HEALTHCHECK to report healthy, makes
 * a real signed call to the container with the host's CLI, stops it (exit 0 on SIGTERM) and
 * verifies the audit chain it left on the volume from a second container. A Docker Engine that
 * cannot be started fails the test: it never skips.
 *
 * Clean-up: the container, the volume and the final image go; the base images and the build
 * stages (tagged seal-gateway-cache/stage:*) stay as the layer cache, and stale build-stage
 * images of earlier runs are pruned by their label.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { freePort, lastLine, runCli, tempDir } from "../cli/process.js";
import { freshPgDatabase } from "../support/pg.js";

const exec = promisify(execFile);
const root = packageRoot();
const BUILD_TIMEOUT_MS = 25 * 60_000;
const suffix = `${process.pid}-${randomBytes(4).toString("hex")}`;
const IMAGE = `seal-gateway-test/gateway:${suffix}`;
const CONTAINER = `seal-gateway-test-${suffix}`;
const VOLUME = `seal-gateway-test-${suffix}`;
const PG_CONTAINER = `seal-gateway-test-pg-${suffix}`;
const STAGE_LABEL = "org.seal-gateway.build-stage";
const masterKey = randomBytes(32).toString("base64");

let socket = "";
const startedAt = new Date();

async function docker(args: string[], timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return await exec("docker", ["-H", `unix://${socket}`, ...args], {
    cwd: root,
    timeout,
    maxBuffer: 64 << 20,
  });
}

/** Runs docker and resolves with its exit code and output instead of throwing on non-zero. */
async function dockerStatus(args: string[], timeout = 120_000) {
  try {
    const r = await docker(args, timeout);
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function script(name: string, timeout: number): Promise<string> {
  const r = await exec("bash", [join(root, "scripts", name)], { cwd: root, timeout, maxBuffer: 16 << 20 });
  return r.stdout;
}

async function build(args: string[]): Promise<void> {
  const r = await dockerStatus(["build", "--force-rm", ...args, "."], BUILD_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`docker build ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
}

interface ImageConfig {
  User: string;
  ExposedPorts: Record<string, unknown>;
  Volumes: Record<string, unknown>;
  Healthcheck: { Test: string[] };
  Entrypoint: string[];
  Env: string[];
}

/** Waits for the engine to report the container healthy (by the image's own HEALTHCHECK). */
async function waitHealthy(name: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await docker([
      "inspect",
      "--format",
      "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
      name,
    ]);
    const [state, health] = stdout.trim().split(" ");
    if (health === "healthy") return;
    if (state !== "running" || health === "unhealthy" || Date.now() > deadline) {
      const logs = await dockerStatus(["logs", name]);
      throw new Error(`container ${state}, health ${health}:\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe("the Dockerfile, built and run on the local engine", () => {
  let url = "";
  const work = tempDir("seal-docker-");

  beforeAll(
    async () => {
      // A failure here fails the suite: no Docker Engine is a broken machine, not a reason to skip.
      socket = lastLine(await script("docker.sh", 5 * 60_000));
      await script("base-image.sh", 15 * 60_000);
      // The build stages are tagged so they stay as the layer cache; the final image is the test's.
      await build(["--target", "prod-deps", "-t", "seal-gateway-cache/stage:prod-deps"]);
      await build(["--target", "build", "-t", "seal-gateway-cache/stage:build"]);
      await build(["-t", IMAGE]);
    },
    BUILD_TIMEOUT_MS + 20 * 60_000,
  );

  afterAll(async () => {
    if (socket === "") return;
    await dockerStatus(["rm", "-f", CONTAINER]);
    await dockerStatus(["rm", "-f", PG_CONTAINER]);
    await dockerStatus(["volume", "rm", "-f", VOLUME]);
    await dockerStatus(["rmi", "-f", IMAGE]);
    // Build-stage images left untagged by earlier runs (the tags moved on): stale cache.
    await dockerStatus([
      "image",
      "prune",
      "-f",
      "--filter",
      `label=${STAGE_LABEL}`,
      "--filter",
      `until=${startedAt.toISOString()}`,
    ]);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("is non-root, exposes 8089, declares the data volume and a HEALTHCHECK on /ready", async () => {
    const { stdout } = await docker(["image", "inspect", "--format", "{{json .Config}}", IMAGE]);
    const config = JSON.parse(stdout) as ImageConfig;
    expect(config.User).toBe("65532:65532");
    expect(Object.keys(config.ExposedPorts)).toEqual(["8089/tcp"]);
    expect(Object.keys(config.Volumes)).toEqual(["/var/lib/seal-gateway"]);
    expect(config.Healthcheck.Test).toEqual([
      "CMD",
      "/usr/local/bin/node",
      "/app/deploy/docker/healthcheck.mjs",
    ]);
    expect(readFileSync(join(root, "deploy", "docker", "healthcheck.mjs"), "utf8")).toContain("/ready");
    expect(config.Entrypoint).toEqual(["/usr/local/bin/node", "/app/bin/seal-gateway.js"]);
    expect(config.Env).toContain("SEAL_GATEWAY_CONFIG=/etc/seal-gateway/seal-gateway.yaml");
  });

  it("runs Node.js 24 and holds no shell, npm, compiler, sources or dev dependency", async () => {
    // npm marks a package `dev` in the lock when only development needs it (a devDependency
    // that a production package also needs, such as @types/node, is not marked, and stays).
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && entry.dev === true)
      .map(([path]) => `/app/${path}`);
    expect(devOnly).toContain("/app/node_modules/typescript");
    const absent = [
      "/bin/sh",
      "/usr/bin/sh",
      "/usr/bin/bash",
      "/usr/bin/gcc",
      "/usr/bin/make",
      "/usr/bin/python3",
      "/usr/local/bin/npm",
      "/usr/local/lib/node_modules/npm",
      "/usr/local/include/node",
      "/app/src",
      "/app/test",
      "/app/web",
      "/app/node_modules/better-sqlite3/deps",
      "/app/node_modules/better-sqlite3-napi/deps",
      "/app/node_modules/better-sqlite3-napi/prebuilds/win32-x64.node",
      ...devOnly,
    ];
    const probe = `const fs = require("node:fs");
      const present = JSON.parse(process.argv[1]).filter((p) => fs.existsSync(p));
      const maps = fs.readdirSync("/app/dist", { recursive: true }).filter((f) => String(f).endsWith(".map"));
      console.log(JSON.stringify({ version: process.version, uid: process.getuid(), present, maps }));`;
    const { stdout } = await docker([
      "run",
      "--rm",
      "--read-only",
      "--entrypoint",
      "/usr/local/bin/node",
      IMAGE,
      "-e",
      probe,
      JSON.stringify(absent),
    ]);
    const seen = JSON.parse(stdout) as { version: string; uid: number; present: string[]; maps: string[] };
    expect(seen.version).toMatch(/^v24\./);
    expect(seen.uid).toBe(65532);
    expect(seen.present).toEqual([]);
    expect(seen.maps).toEqual([]);
  }, 60_000);

  it("opens SQLite through better-sqlite3 13 (Node-API), not 12, on its Node.js 24", async () => {
    // better-sqlite3 12 aborts Node 24.19+ when a statement is garbage collected outside a
    // JavaScript context (docs/decisions.md, "Node.js 24 and better-sqlite3").
    const probe = `const { Database, sqliteDriverName } = await import("/app/dist/src/store/sqlite/driver.js");
      new Database(":memory:").close();
      console.log(sqliteDriverName);`;
    const { stdout } = await docker([
      "run",
      "--rm",
      "--read-only",
      "--entrypoint",
      "/usr/local/bin/node",
      IMAGE,
      "--input-type=module",
      "-e",
      probe,
    ]);
    expect(stdout.trim()).toBe("better-sqlite3-napi");
  }, 60_000);

  it("refuses to start without a master key (the image has no dev mode)", async () => {
    const r = await dockerStatus(["run", "--rm", "--read-only", "--tmpfs", "/tmp", IMAGE], 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain("secrets.master_key");
  }, 60_000);

  it("starts on a read-only root filesystem and its HEALTHCHECK reports healthy", async () => {
    await docker(["volume", "create", VOLUME]);
    await docker([
      "run",
      "-d",
      "--name",
      CONTAINER,
      "--read-only",
      "--tmpfs",
      "/tmp:rw,noexec,nosuid,size=64m",
      "--mount",
      `type=volume,src=${VOLUME},dst=/var/lib/seal-gateway`,
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "-e",
      `SEAL_GATEWAY_MASTER_KEY=${masterKey}`,
      "-p",
      "127.0.0.1::8089",
      IMAGE,
    ]);
    await waitHealthy(CONTAINER);
    const { stdout: readOnly } = await docker([
      "inspect",
      "--format",
      "{{.HostConfig.ReadonlyRootfs}}",
      CONTAINER,
    ]);
    expect(readOnly.trim()).toBe("true");
    const { stdout: port } = await docker(["port", CONTAINER, "8089/tcp"]);
    url = `http://${lastLine(port.split("\n")[0] ?? "")}`;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: "sqlite" });
    // The root filesystem refuses writes; the data directory on the volume took the database.
    const probe = `const fs = require("node:fs");
      let root = "written"; try { fs.writeFileSync("/app/probe", "x"); } catch (e) { root = e.code; }
      console.log(JSON.stringify({ root, data: fs.readdirSync("/var/lib/seal-gateway") }));`;
    const { stdout } = await docker(["exec", CONTAINER, "/usr/local/bin/node", "-e", probe]);
    const seen = JSON.parse(stdout) as { root: string; data: string[] };
    expect(seen.root).toBe("EROFS");
    expect(seen.data).toContain("gateway.db");
  }, 150_000);

  it("answers a signed call from the host's CLI", async () => {
    expect(url).not.toBe("");
    // An operator token minted inside the container from its own configuration and database.
    const { stdout: tokenOut } = await docker([
      "exec",
      CONTAINER,
      "/usr/local/bin/node",
      "/app/bin/seal-gateway.js",
      "token",
      "--role",
      "admin",
    ]);
    const env = { SEAL_GATEWAY_URL: url, SEAL_OPERATOR_TOKEN: lastLine(tokenOut) };
    const apply = await runCli(["apply", "-f", join(root, "examples", "quickstart.yaml")], {
      env,
      cwd: work,
    });
    expect(apply.code, apply.stderr).toBe(0);
    const keyFile = join(work, "agent.key");
    expect((await runCli(["keygen", "--out", keyFile], { env, cwd: work })).code).toBe(0);
    const session = await runCli(
      ["session", "create", "--context", "quickstart", "--key-file", keyFile, "--print-token"],
      { env, cwd: work },
    );
    expect(session.code, session.stderr).toBe(0);
    const call = await runCli(["call", "--key-file", keyFile, "--tool", "system.whoami"], {
      env: { SEAL_GATEWAY_URL: url, SEAL_TOKEN: lastLine(session.stdout) },
      cwd: work,
    });
    expect(call.code, call.stderr).toBe(0);
    const answer = JSON.parse(call.stdout) as {
      status: string;
      result: { agent_id: string; security_context: string };
    };
    expect(answer.status).toBe("success");
    expect(answer.result.agent_id).toBe("agent");
    expect(answer.result.security_context).toBe("quickstart");
  }, 60_000);

  it("stops on SIGTERM with exit 0, leaving an intact, sealed audit chain on the volume", async () => {
    await docker(["stop", "-t", "30", CONTAINER], 60_000);
    const { stdout: exit } = await docker(["inspect", "--format", "{{.State.ExitCode}}", CONTAINER]);
    expect(exit.trim()).toBe("0");
    const verify = await dockerStatus([
      "run",
      "--rm",
      "--read-only",
      "--tmpfs",
      "/tmp",
      "--mount",
      `type=volume,src=${VOLUME},dst=/var/lib/seal-gateway`,
      "-e",
      `SEAL_GATEWAY_MASTER_KEY=${masterKey}`,
      IMAGE,
      "audit",
      "verify",
    ]);
    expect(verify.code, verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as { status: string; sealedRows: number; unsealedRows: number };
    expect(report.status).toBe("intact");
    expect(report.unsealedRows).toBe(0);
    expect(report.sealedRows).toBeGreaterThan(0);
  }, 90_000);
  it("runs on PostgreSQL from SEAL_GATEWAY_DATABASE_URL (the fleet's mode); the HEALTHCHECK follows the configured port", async () => {
    const db = await freshPgDatabase();
    try {
      // Host networking: the test's PostgreSQL listens on the host's loopback only.
      const port = await freePort();
      await docker([
        "run",
        "-d",
        "--name",
        PG_CONTAINER,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/lib/seal-gateway:uid=65532,gid=65532,mode=0700",
        "--cap-drop",
        "ALL",
        "-e",
        `SEAL_GATEWAY_MASTER_KEY=${masterKey}`,
        "-e",
        `SEAL_GATEWAY_DATABASE_URL=${db.url}`,
        "-e",
        "SEAL_GATEWAY_HOST=127.0.0.1",
        "-e",
        `SEAL_GATEWAY_PORT=${port}`,
        IMAGE,
      ]);
      await waitHealthy(PG_CONTAINER);
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(await ready.json()).toEqual({ status: "ready", database: "postgres" });
      await docker(["stop", "-t", "30", PG_CONTAINER], 60_000);
      const { stdout: exit } = await docker(["inspect", "--format", "{{.State.ExitCode}}", PG_CONTAINER]);
      expect(exit.trim()).toBe("0");
    } finally {
      await dockerStatus(["rm", "-f", PG_CONTAINER]);
      await db.drop();
    }
  }, 150_000);
});
