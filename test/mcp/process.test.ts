/**
 * MCP against REAL processes: the official SDK client over Streamable HTTP to a gateway process
 * for every protocol version the SDK speaks, and the signing bridge (`seal-gateway mcp`) spawned
 * over stdio and on loopback HTTP — listing, signed calls, refusals, an approval awaited with
 * progress notifications, a token command, and a gateway that is not there.
 */

import { spawn } from "node:child_process";
import { chmodSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, freePort, lastLine, MAIN, runCli } from "../cli/process.js";
import {
  bridgeClient,
  type McpGateway,
  type ProcessAgent,
  startMcpGateway,
  writeTokenFile,
} from "./process-support.js";
import { envelopeParams, mcpClient, SUPPORTED_PROTOCOL_VERSIONS } from "./support.js";

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text: string }>;
};

describe("MCP against a gateway process", () => {
  let m: McpGateway;
  let agent: ProcessAgent;
  let waiting: ProcessAgent;
  beforeAll(async () => {
    m = await startMcpGateway();
    agent = await m.agent("mcp-proc", [{ tool_pattern: "system.*" }]);
    waiting = await m.agent("mcp-approve", [{ tool_pattern: "system.echo", approval: "required" }]);
  }, 60_000);
  afterAll(async () => {
    await m?.close();
  });

  it.each([...new Set(SUPPORTED_PROTOCOL_VERSIONS)])(
    "SDK client, protocol %s: initialize, list, call",
    async (version) => {
      const client = await mcpClient({ url: `${m.gw.url}/mcp`, token: agent.token, version });
      try {
        const transport = client.transport as unknown as {
          protocolVersion?: string;
          inner?: { protocolVersion?: string };
        };
        expect(transport.inner?.protocolVersion ?? transport.protocolVersion).toBe(version);
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name).sort()).toEqual(["system.echo", "system.whoami"]);
        const r = (await client.callTool(envelopeParams(agent, "system.echo", { v: version }))) as ToolResult;
        expect(r.isError).toBe(false);
        expect(r.structuredContent).toEqual({ v: version });
      } finally {
        await client.close();
      }
    },
  );

  it("bridge over stdio: lists the gateway's tools and signs each call; refusals are tool errors", async () => {
    const { client, stderr } = await bridgeClient(["--url", m.gw.url, "--key-file", agent.keyFile], {
      SEAL_TOKEN: agent.token,
    });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["system.echo", "system.whoami"]);
      expect(tools.find((t) => t.name === "system.whoami")?.annotations?.readOnlyHint).toBe(true);
      const r = (await client.callTool({
        name: "system.echo",
        arguments: { hello: "world", n: 3 },
      })) as ToolResult;
      expect(r.isError, JSON.stringify(r)).toBe(false);
      expect(r.structuredContent).toEqual({ hello: "world", n: 3 });
      const denied = (await client.callTool({ name: "fs.delete", arguments: {} })) as ToolResult;
      expect(denied.isError).toBe(true);
      expect(denied.structuredContent).toMatchObject({ code: 2006 });
      expect(denied.content[0]?.text).toMatch(/^SEAL 2006/);
      // The key and token are never written to the bridge's log.
      expect(stderr()).not.toContain(agent.privateKeyB64);
      expect(stderr()).not.toContain(agent.token);
    } finally {
      await client.close();
    }
  });

  it("bridge: waits for an approval with progress notifications, then re-sends with the approval id", async () => {
    const { client } = await bridgeClient(
      ["--url", m.gw.url, "--key-file", waiting.keyFile, "--approval-timeout", "30"],
      {
        SEAL_TOKEN: waiting.token,
      },
    );
    try {
      const progress: string[] = [];
      const call = client.callTool({ name: "system.echo", arguments: { pay: 1 } }, undefined, {
        onprogress: (p) => progress.push(String(p.message)),
        resetTimeoutOnProgress: true,
      });
      let approvalId: string | undefined;
      for (let i = 0; i < 50 && !approvalId; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const res = await fetch(`${m.gw.url}/v1/approvals?status=pending`, {
          headers: { authorization: `Bearer ${m.adminToken}` },
        });
        approvalId = ((await res.json()) as { approvals: Array<{ id: string }> }).approvals[0]?.id;
      }
      expect(approvalId).toBeDefined();
      await new Promise((r) => setTimeout(r, 1500));
      const ok = await fetch(`${m.gw.url}/v1/approvals/${approvalId}/approve`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${m.adminToken}` },
        body: "{}",
      });
      expect(ok.status).toBe(200);
      const r = (await call) as ToolResult;
      expect(r.isError, JSON.stringify(r)).toBe(false);
      expect(r.structuredContent).toEqual({ pay: 1 });
      expect(progress.some((p) => p.includes(String(approvalId)))).toBe(true);
    } finally {
      await client.close();
    }
  }, 40_000);

  it("bridge: --token-command supplies the token", async () => {
    const file = writeTokenFile(m.dir, agent.token);
    const { client } = await bridgeClient(
      ["--url", m.gw.url, "--key-file", agent.keyFile, "--token-command", `cat ${file}`],
      {},
    );
    try {
      const r = (await client.callTool({ name: "system.whoami", arguments: {} })) as ToolResult;
      expect(r.isError, JSON.stringify(r)).toBe(false);
    } finally {
      await client.close();
    }
  });

  it("bridge: a gateway that is not there is a clear tool error, never a crash", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { client } = await bridgeClient(["--url", dead, "--key-file", agent.keyFile], {
      SEAL_TOKEN: agent.token,
    });
    try {
      const r = (await client.callTool({ name: "system.echo", arguments: {} })) as ToolResult;
      expect(r.isError).toBe(true);
      expect(r.content[0]?.text).toContain(`the gateway at ${dead} could not be reached`);
      await expect(client.listTools()).rejects.toThrow(/could not be reached/);
      await client.ping();
    } finally {
      await client.close();
    }
  });

  it("bridge: refuses a key file others can read, and a non-loopback --listen (exit 2)", async () => {
    chmodSync(agent.keyFile, 0o644);
    try {
      const r = await runCli(["mcp", "--key-file", agent.keyFile], {
        env: { SEAL_TOKEN: agent.token },
        cwd: m.dir,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("owner only");
    } finally {
      chmodSync(agent.keyFile, 0o600);
    }
    const r2 = await runCli(["mcp", "--key-file", agent.keyFile, "--listen", "0.0.0.0:8765"], {
      env: { SEAL_TOKEN: agent.token },
      cwd: m.dir,
    });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("loopback only");
  });

  it("bridge on loopback Streamable HTTP (--listen 127.0.0.1:0)", async () => {
    const proc = spawn(
      process.execPath,
      [MAIN, "mcp", "--url", m.gw.url, "--key-file", agent.keyFile, "--listen", "127.0.0.1:0"],
      {
        env: cleanEnv({ SEAL_TOKEN: agent.token }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = "";
        proc.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const hit = /listening on (http:\/\/\S+\/mcp)/.exec(err);
          if (hit?.[1]) resolve(hit[1]);
        });
        proc.once("exit", () => reject(new Error(`bridge exited: ${err}`)));
      });
      const client = new Client({ name: "seal-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        const r = (await client.callTool({ name: "system.echo", arguments: { via: "http" } })) as ToolResult;
        expect(r.structuredContent).toEqual({ via: "http" });
      } finally {
        await client.close();
      }
      const evil = await fetch(url, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: "{}",
      });
      expect(evil.status).toBe(403);
    } finally {
      proc.kill("SIGKILL");
    }
  });

  it("the usage lists the mcp command", async () => {
    const r = await runCli(["--help"], { env: {}, cwd: m.dir });
    expect(lastLine(r.stdout)).toBeDefined();
    expect(r.stdout).toContain("mcp     [--url URL]");
  });
});
