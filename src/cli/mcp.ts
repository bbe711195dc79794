import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { bridgeHandlers } from "../mcp/bridge/bridge.js";
import { GatewayConnection } from "../mcp/bridge/gateway-connection.js";
import { listenBridge, parseListen } from "../mcp/bridge/listen.js";
import { commandToken, fixedToken, type TokenSource } from "../mcp/bridge/token-source.js";
import { buildMcpServer } from "../mcp/server.js";
import { publicKeyFromPrivateKey } from "../sdk/keys.js";
import { gatewayUrl, privateKeyFrom, UsageError } from "./common.js";

/**
 * `mcp`: the signing bridge for MCP clients that cannot sign (docs/mcp.md). On stdio by
 * default: stdout carries only the protocol, every diagnostic goes to stderr.
 */

const options = {
  url: { type: "string" },
  token: { type: "string" },
  "token-command": { type: "string" },
  key: { type: "string" },
  "key-file": { type: "string" },
  listen: { type: "string" },
  "approval-timeout": { type: "string" },
  "tools-ttl": { type: "string" },
} as const;

function seconds(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 86_400)
    throw new UsageError(`${what} takes whole seconds (0..86400)`);
  return n;
}

function tokenSource(values: { token?: string; "token-command"?: string }): TokenSource {
  if (values.token && values["token-command"])
    throw new UsageError("give --token or --token-command, not both");
  if (values["token-command"]) return commandToken(values["token-command"]);
  const token = values.token ?? process.env.SEAL_TOKEN;
  if (!token) throw new UsageError("a security token is required (--token, --token-command or SEAL_TOKEN)");
  return fixedToken(token);
}

const warn = (message: string) => process.stderr.write(`seal-gateway mcp: ${message}\n`);

export async function mcpCommand(argv: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args: argv, options });
  const tokens = tokenSource(values);
  const privateKeyB64 = privateKeyFrom(values);
  try {
    publicKeyFromPrivateKey(privateKeyB64);
  } catch {
    throw new UsageError("the private key is not a usable Ed25519 key");
  }
  const url = gatewayUrl(values.url).replace(/\/+$/, "");
  const listen = values.listen === undefined ? null : parseListenOrUsage(values.listen);
  const gateway = new GatewayConnection(url, tokens, {
    toolsTtlMs: seconds(values["tools-ttl"], 30, "--tools-ttl") * 1000,
    callTimeoutMs: 300_000,
  });
  const handlers = bridgeHandlers({
    gateway,
    tokens,
    privateKeyB64,
    gatewayUrl: url,
    approvalTimeoutMs: seconds(values["approval-timeout"], 300, "--approval-timeout") * 1000,
    pollMs: 1000,
    warn,
  });
  if (listen) {
    const served = await listenBridge(handlers, listen);
    const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
    warn(`listening on http://${host}:${served.port}/mcp (gateway ${url})`);
    return undefined;
  }
  const server = buildMcpServer(handlers, "seal-gateway-bridge");
  // The client closing stdin ends the bridge.
  server.onclose = () => {
    void gateway.close().finally(() => process.exit(0));
  };
  await server.connect(new StdioServerTransport());
  return undefined;
}

function parseListenOrUsage(value: string) {
  try {
    return parseListen(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
