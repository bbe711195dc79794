import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import { checkOrigin } from "../origin-guard.js";
import { buildMcpServer, type ToolHandlers } from "../server.js";

/**
 * `seal-gateway mcp --listen 127.0.0.1:PORT`: the bridge as Streamable HTTP on loopback only.
 * Whoever reaches it calls tools with the agent's key, so it never listens beyond this machine,
 * and Host/Origin are checked against loopback (a web page must not drive it through a browser).
 * Stateless like the gateway; answers stream (SSE) so progress reaches the client while an
 * approval is awaited.
 */

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m?.[1] || !m[2]) throw new Error("--listen takes HOST:PORT, e.g. 127.0.0.1:8765");
  const host = m[1].replace(/^\[|\]$/g, "");
  const port = Number(m[2]);
  if (!LOOPBACK.has(host)) throw new Error("--listen serves loopback only (127.0.0.1, ::1 or localhost)");
  if (port > 65_535) throw new Error("--listen port must be 0..65535");
  return { host, port };
}

export async function listenBridge(
  handlers: ToolHandlers,
  at: { host: string; port: number },
): Promise<{ port: number; close(): Promise<void> }> {
  const app = new Hono();
  const policy = {
    allowedHosts: [...LOOPBACK],
    allowedOrigins: ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"],
  };
  app.all("/mcp", async (c) => {
    const checked = checkOrigin(policy, { host: c.req.header("host"), origin: c.req.header("origin") });
    if (!checked.ok)
      return c.json({ jsonrpc: "2.0", id: null, error: { code: -32000, message: checked.reason } }, 403);
    if (c.req.method !== "POST")
      return c.json(
        { jsonrpc: "2.0", id: null, error: { code: -32000, message: "only POST (stateless)" } },
        405,
        {
          allow: "POST",
        },
      );
    const server = buildMcpServer(handlers, "seal-gateway-bridge");
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    const res = await transport.handleRequest(c.req.raw);
    // The SSE body is still being written: the server closes with the stream, not before it.
    transport.onclose = () => void server.close();
    return res;
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: at.host, port: at.port }, () => resolve(s as Server));
    (s as Server).once("error", reject);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : at.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
