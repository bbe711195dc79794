import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { gatewayVersion } from "../paths.js";

/**
 * The SDK server both MCP surfaces use (POST /mcp and the `mcp` bridge): tools only, no
 * resources, prompts or sampling. Everything a call needs is in the handlers' closure, so a
 * server can live for one HTTP request (the gateway is stateless) or for a stdio session.
 */

export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolHandlers {
  list(): Promise<Tool[]>;
  call(request: CallToolRequest, extra: CallExtra): Promise<CallToolResult>;
}

export function buildMcpServer(handlers: ToolHandlers, name = "seal-gateway"): Server {
  const server = new Server(
    { name, version: gatewayVersion() },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        "Tools behind a SEAL gateway: every call is authorized by a security context and audited. A refused call answers isError with the SEAL code and reason.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await handlers.list() }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => handlers.call(request, extra));
  return server;
}
