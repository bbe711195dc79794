/**
 * Runs the REAL built CLI (`node dist/src/main.js`, built by the global setup) as child
 * processes: one-shot commands and long-running gateways. Children get a clean environment
 * (no SEAL_GATEWAY_* from the test runner) plus exactly what each test passes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";

export const MAIN = join(packageRoot(), "dist", "src", "main.js");

export function tempDir(prefix = "seal-cli-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SEAL_")) env[k] = v;
  return { ...env, ...extra };
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  return await new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: cleanEnv(opts.env), cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines[lines.length - 1] ?? "";
}

export interface GatewayProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  /** Everything the process wrote to stderr and stdout so far (logs, for failure messages). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGKILL if still running; for cleanup. */
  kill(): Promise<void>;
}

export async function startGateway(opts: {
  env: Record<string, string>;
  cwd: string;
  readyTimeoutMs?: number;
  /** Another build's dist/src/main.js (an upgrade's next version); this checkout's by default. */
  main?: string;
}): Promise<GatewayProcess> {
  const port = opts.env.SEAL_GATEWAY_PORT ? Number(opts.env.SEAL_GATEWAY_PORT) : await freePort();
  const proc = spawn(process.execPath, [opts.main ?? MAIN, "start"], {
    env: cleanEnv({ SEAL_GATEWAY_PORT: String(port), ...opts.env }),
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  for (;;) {
    if (ended) throw new Error(`gateway exited before it was healthy:\n${log}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`gateway not healthy within the timeout:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    url,
    port,
    output: () => log,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

export function jsonPost(body: unknown, token?: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Polls `audit verify` until it exits with `want` (sealing runs on a timer) or time runs out. */
export async function auditVerifyUntil(
  want: number,
  opts: { env: Record<string, string>; cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const r = await runCli(["audit", "verify", "--json"], opts);
    if (r.code === want || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}
