import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { gatewayVersion } from "../../paths.js";
import type { TokenSource } from "./token-source.js";

/**
 * The bridge's side of the gateway: an SDK client to the gateway's POST /mcp (so listings
 * arrive with inlined schemas and hints, and answers as CallToolResults), the current token
 * as Bearer on every request, and the agent-plane approval status. A failed connection is
 * dropped and rebuilt on the next use, so a gateway restart needs no bridge restart.
 */

export interface ApprovalStatus {
  status: string;
  expires_at: string | null;
}

export class GatewayConnection {
  private client: Promise<Client> | null = null;
  private listed: { at: number; tools: Tool[] } | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource,
    private readonly opts: { toolsTtlMs: number; callTimeoutMs: number },
  ) {}

  private readonly authedFetch: typeof fetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${await this.tokens.current()}`);
    return await fetch(url, { ...init, headers });
  };

  private async connected(): Promise<Client> {
    this.client ??= (async () => {
      const client = new Client({ name: "seal-gateway-bridge", version: gatewayVersion() });
      const transport = new StreamableHTTPClientTransport(new URL(`${this.baseUrl}/mcp`), {
        fetch: this.authedFetch,
      });
      await client.connect(transport);
      return client;
    })();
    try {
      return await this.client;
    } catch (err) {
      this.client = null;
      throw err;
    }
  }

  private async withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.connected();
    try {
      return await fn(client);
    } catch (err) {
      // The next use starts over with a fresh connection (the gateway holds no session).
      this.client = null;
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  async listTools(): Promise<Tool[]> {
    if (this.listed && Date.now() - this.listed.at < this.opts.toolsTtlMs) return this.listed.tools;
    const tools = await this.withClient(async (c) => (await c.listTools()).tools);
    this.listed = { at: Date.now(), tools };
    return tools;
  }

  async callTool(params: {
    name: string;
    arguments: Record<string, unknown>;
    _meta: Record<string, unknown>;
  }) {
    return (await this.withClient((c) =>
      c.callTool(params, undefined, { timeout: this.opts.callTimeoutMs }),
    )) as CallToolResult;
  }

  async approvalStatus(id: string, token: string): Promise<ApprovalStatus> {
    const res = await fetch(`${this.baseUrl}/v1/seal/approvals/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    });
    if (!res.ok) throw new Error(`approval status answered HTTP ${res.status}`);
    return (await res.json()) as ApprovalStatus;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await (await c.catch(() => null))?.close();
  }
}
