/**
 * A gateway process on a temp data dir with one context allowing system.* and one session:
 * what the MCP benchmark calls through. Mirrors what a user does (CLI token, REST setup).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";
import { generateKeyPair } from "../../src/sdk/keys.js";

export const MAIN = join(packageRoot(), "dist", "src", "main.js");

export interface McpFixture {
  url: string;
  token: string;
  privateKeyB64: string;
  keyFile: string;
  env: NodeJS.ProcessEnv;
  close(): void;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export async function startFixture(): Promise<McpFixture> {
  const dir = mkdtempSync(join(tmpdir(), "seal-bench-mcp-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_PORT: String(port),
    SEAL_GATEWAY_LOG_LEVEL: "warn",
  };
  const gw: ChildProcess = spawn(process.execPath, [MAIN, "start"], { env, cwd: dir, stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 400) throw new Error("gateway did not become healthy");
    await new Promise((r) => setTimeout(r, 50));
  }
  const admin = execFileSync(process.execPath, [MAIN, "token", "--role", "admin"], {
    env,
    cwd: dir,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .at(-1);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await post("/v1/security-contexts", { name: "bench-mcp", capabilities: [{ tool_pattern: "system.*" }] });
  const pair = generateKeyPair();
  const session = await post("/v1/seal/sessions", {
    sub: "bench-agent",
    security_context_name: "bench-mcp",
    public_key_b64: pair.publicKeyB64,
  });
  const keyFile = join(dir, "agent.key");
  writeFileSync(
    keyFile,
    JSON.stringify({ private_key_b64: pair.privateKeyB64, public_key_b64: pair.publicKeyB64 }),
    {
      mode: 0o600,
    },
  );
  return {
    url,
    token: String(session.security_token),
    privateKeyB64: pair.privateKeyB64,
    keyFile,
    env,
    close() {
      gw.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
