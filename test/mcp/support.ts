/**
 * Helpers for the MCP suites: the official SDK client over Streamable HTTP (against the
 * in-process app through its fetch, or a real process over the network), pinned to one
 * protocol version, and `tools/call` params carrying a signed SEAL envelope in `_meta`.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";

export { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";

/**
 * The SDK client always offers its latest version; this asks for `version` instead, so the
 * server's negotiation (and every later request's MCP-Protocol-Version header) is exercised.
 */
class PinnedVersion implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  constructor(
    private readonly inner: StreamableHTTPClientTransport,
    private readonly version: string,
  ) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
    inner.onmessage = (m) => this.onmessage?.(m);
  }
  get sessionId() {
    return this.inner.sessionId;
  }
  start() {
    return this.inner.start();
  }
  close() {
    return this.inner.close();
  }
  setProtocolVersion(v: string) {
    this.inner.setProtocolVersion(v);
  }
  send(message: JSONRPCMessage) {
    if ("method" in message && message.method === "initialize" && message.params)
      return this.inner.send({ ...message, params: { ...message.params, protocolVersion: this.version } });
    return this.inner.send(message);
  }
}

export async function mcpClient(opts: {
  url: string;
  token?: string;
  version?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(opts.url), {
    requestInit: {
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const client = new Client({ name: "seal-test", version: "1.0.0" });
  await client.connect(opts.version ? new PinnedVersion(transport, opts.version) : transport);
  return client;
}

/** `tools/call` params whose `_meta["seal/envelope"]` signs exactly this call. */
export function envelopeParams(
  agent: { token: string; privateKeyB64: string },
  name: string,
  args: Record<string, unknown> = {},
  opts: {
    now?: Date;
    meta?: Record<string, unknown>;
    signed?: { name?: string; args?: Record<string, unknown>; meta?: Record<string, unknown> };
  } = {},
) {
  const signedMeta = opts.signed?.meta ?? opts.meta;
  const { envelope } = signEnvelope({
    securityToken: agent.token,
    payload: toolCallPayload({
      name: opts.signed?.name ?? name,
      arguments: opts.signed?.args ?? args,
      id: `req-${randomBytes(6).toString("hex")}`,
      ...(signedMeta ? { meta: signedMeta } : {}),
    }),
    privateKeyB64: agent.privateKeyB64,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { name, arguments: args, _meta: { ...opts.meta, "seal/envelope": envelope } };
}
