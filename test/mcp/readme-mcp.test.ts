/**
 * README.md "Use it from an MCP client", run as written against a gateway process: the
 * desktop-client JSON is parsed and its command started exactly as a client would (`npx
 * seal-gateway` is this build, as in test/support/doc-blocks.ts), and the Streamable HTTP
 * block is run with node from inside the package (so `seal-gateway/sdk` resolves).
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { cleanEnv, MAIN } from "../cli/process.js";
import { type McpGateway, type ProcessAgent, startMcpGateway } from "./process-support.js";

const README = readFileSync(join(packageRoot(), "README.md"), "utf8");

function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

function block(lang: string): string {
  const blocks = [
    ...section("## Use it from an MCP client").matchAll(
      new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"),
    ),
  ];
  if (blocks.length !== 1) throw new Error(`expected one ${lang} block, found ${blocks.length}`);
  return blocks[0]?.[1] ?? "";
}

type ServerEntry = { command: string; args: string[]; env: Record<string, string> };

describe("README: use it from an MCP client", () => {
  let m: McpGateway;
  let agent: ProcessAgent;
  beforeAll(async () => {
    m = await startMcpGateway();
    agent = await m.agent("readme-mcp", [{ tool_pattern: "system.*" }]);
  }, 60_000);
  afterAll(async () => {
    await m?.close();
  });

  it("the desktop-client configuration starts the bridge, which lists and calls tools", async () => {
    const entry = (JSON.parse(block("json")) as { mcpServers: Record<string, ServerEntry> }).mcpServers[
      "seal-gateway"
    ];
    expect(entry?.command).toBe("npx");
    expect(entry?.args.slice(0, 2)).toEqual(["seal-gateway", "mcp"]);
    // The placeholders a user fills in, filled in: this gateway, this key file, this token.
    const args = (entry?.args ?? [])
      .slice(1)
      .map((a) =>
        a === "http://127.0.0.1:8089" ? m.gw.url : a === "/path/to/agent.key" ? agent.keyFile : a,
      );
    const env = { ...entry?.env, SEAL_TOKEN: agent.token };
    const client = new Client({ name: "desktop", version: "1" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [MAIN, ...args],
        env: cleanEnv(env) as Record<string, string>,
      }),
    );
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("system.whoami");
      const r = await client.callTool({ name: "system.whoami", arguments: {} });
      expect(r.isError).toBe(false);
    } finally {
      await client.close();
    }
  });

  it("the Streamable HTTP block runs as written", async () => {
    const file = join(packageRoot(), `.readme-mcp-${process.pid}.mjs`);
    writeFileSync(file, block("js"));
    try {
      const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [file],
          {
            env: cleanEnv({
              SEAL_TOKEN: agent.token,
              SEAL_PRIVATE_KEY: agent.privateKeyB64,
              SEAL_GATEWAY_URL: m.gw.url,
            }),
            timeout: 30_000,
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }),
        ),
      );
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain("system.echo");
      expect(out.stdout.trim().split("\n").at(-1)).toBe('{"text":"hello"}');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
