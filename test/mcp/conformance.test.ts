/**
 * The MCP conformance suite (`@modelcontextprotocol/conformance`, a devDependency) against
 * POST /mcp of a gateway process: the server scenarios that apply to a stateless, tools-only
 * server whose tools are the operator's (the tools-call-* scenarios need the suite's own fixture
 * tools, and every call here needs a signed envelope). The suite has no option for a Bearer
 * token, so it talks to a loopback proxy that adds the agent's token and changes nothing else.
 * Results are recorded in docs/mcp.md.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { cleanEnv } from "../cli/process.js";
import { type McpGateway, modernNode, type ProcessAgent, startMcpGateway } from "./process-support.js";

const SUITE = join(packageRoot(), "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const APPLICABLE = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"];

/** Forwards to `target` with the Bearer token added (Host and Origin as the suite sent them). */
function bearerProxy(target: string, token: string): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === "string" && k !== "content-length") headers.set(k, v);
    headers.set("authorization", `Bearer ${token}`);
    const method = req.method ?? "GET";
    const upstream = await fetch(`${target}${req.url ?? "/"}`, {
      method,
      headers,
      ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
    });
    res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`, server });
    }),
  );
}

function runScenario(url: string, scenario: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      modernNode(),
      [SUITE, "server", "--url", url, "--scenario", scenario],
      { env: cleanEnv({}), timeout: 120_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe("MCP conformance suite against POST /mcp", () => {
  let m: McpGateway;
  let agent: ProcessAgent;
  let proxy: { url: string; server: Server };
  beforeAll(async () => {
    m = await startMcpGateway();
    agent = await m.agent("conformance-ctx", [{ tool_pattern: "system.*" }]);
    proxy = await bearerProxy(m.gw.url, agent.token);
  }, 60_000);
  afterAll(async () => {
    proxy?.server.close();
    await m?.close();
  });

  it.each(APPLICABLE)(
    "%s passes",
    async (scenario) => {
      const r = await runScenario(`${proxy.url}/mcp`, scenario);
      expect(r.code, r.out).toBe(0);
    },
    130_000,
  );
});
