import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { type Context, Hono } from "hono";
import { SYSTEM_TENANT } from "../audit/recorder.js";
import { GatewayError } from "../errors.js";
import { readBodyLimited } from "../http/body.js";
import { parseBody } from "../seal/envelope.js";
import { isJsonObject, type JsonObject, toPlain } from "../seal/json.js";
import type { ServiceDeps } from "../services/context.js";
import { authenticateBearerAgent, type BearerAgent, visibleToolsFor } from "../services/tools.js";
import { callWithEnvelope } from "./call.js";
import type { EnvelopeRunner } from "./envelope-runner.js";
import { checkOrigin, type OriginPolicy } from "./origin-guard.js";
import { buildMcpServer } from "./server.js";
import { toMcpTools } from "./tool-listing.js";

/**
 * POST /mcp (DESIGN §7): MCP Streamable HTTP, stateless — a fresh SDK server and transport per
 * request, JSON answers, no session. Before the SDK sees anything: Host/Origin (403), the agent's
 * Bearer token (401), the body limit (413) and ONE strict parse (400). The SDK reads a plain copy;
 * tools/call takes its envelope from the strict tree, so signed number literals survive.
 */

export interface McpEndpointDeps {
  services: ServiceDeps;
  run: EnvelopeRunner;
  bodyLimit: number;
  maxDepth: number;
  origins: OriginPolicy;
  remoteAddress: (c: Context) => string;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

function rpcError(status: number, code: number, err: GatewayError, headers: Record<string, string> = {}) {
  const data = { code: err.sealCode, message: err.message, details: err.details };
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message: err.message, data } }),
    {
      status,
      headers: {
        "content-type": "application/json",
        ...(status === 413 ? { connection: "close" } : {}),
        ...headers,
      },
    },
  );
}

function wwwAuthenticate(reason: string | null): string {
  if (reason === null) return 'Bearer realm="seal-gateway"';
  return `Bearer realm="seal-gateway", error="invalid_token", error_description="${reason.replace(/["\\]/g, "")}"`;
}

export function mcpRoutes(deps: McpEndpointDeps) {
  const app = new Hono();
  const { services } = deps;

  /** Refusals before the SDK are audited too: in the agent's tenant once its token verified. */
  const audited = async (c: Context, agent: BearerAgent | null, err: GatewayError, status: number) => {
    const event = {
      eventType: "McpRequestRejected",
      executionId: agent ? (agent.claims.exec_id ?? agent.claims.jti) : null,
      callId: null,
      agentId: agent?.claims.sub ?? null,
      toolName: null,
      decision: "reject",
      stage: "mcp",
      code: err.sealCode,
      requestId: null,
      payload: { reason: err.details.reason, status, method: c.req.method, transport: "mcp" },
    };
    try {
      if (agent) await services.audit.record({ ...event, tenantId: agent.tenantId });
      else await services.audit.recordPreauth(deps.remoteAddress(c), { ...event, tenantId: SYSTEM_TENANT });
    } catch (auditErr) {
      services.log.warn("could not audit a refused MCP request", { error: auditErr });
    }
  };

  const guard = async (c: Context): Promise<Response | null> => {
    // The node adapter builds the URL from the Host header; in-process requests carry it only there.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const checked = checkOrigin(deps.origins, { host, origin: c.req.header("origin") });
    if (checked.ok) return null;
    const err = new GatewayError("FORBIDDEN", "this Host or Origin may not reach the MCP endpoint", {
      reason: checked.reason,
    });
    await audited(c, null, err, 403);
    return rpcError(403, -32000, err);
  };

  app.use("/mcp/*", async (c, next) => {
    if (c.req.path !== "/mcp" || c.req.method === "POST") return await next();
    const refused = await guard(c);
    if (refused) return refused;
    // Stateless: no server-to-client stream (GET) and no session to end (DELETE).
    const err = new GatewayError("BAD_REQUEST", "only POST is served on /mcp (stateless)", {
      reason: "method_not_allowed",
    });
    return rpcError(405, -32000, err, { allow: "POST" });
  });

  app.post("/mcp", async (c) => {
    const refused = await guard(c);
    if (refused) return refused;
    const bearer = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer) {
      const err = new GatewayError(
        "INVALID_TOKEN",
        "the agent's security token is required as a Bearer token",
        {
          reason: "missing_token",
        },
      );
      await audited(c, null, err, 401);
      return rpcError(401, -32001, err, { "www-authenticate": wwwAuthenticate(null) });
    }
    let agent: BearerAgent;
    try {
      agent = await authenticateBearerAgent(services, bearer);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      await audited(c, null, err, err.httpStatus);
      if (err.httpStatus !== 401) return rpcError(err.httpStatus, -32000, err);
      return rpcError(401, -32001, err, { "www-authenticate": wwwAuthenticate(err.details.reason) });
    }
    const { body, tooLarge } = await readBodyLimited(c.req.raw, deps.bodyLimit);
    if (tooLarge || !body) {
      const err = new GatewayError("BODY_TOO_LARGE", "the request body is too large", {
        reason: "body_too_large",
      });
      await audited(c, agent, err, 413);
      return rpcError(413, -32600, err);
    }
    let doc: ReturnType<typeof parseBody>;
    try {
      doc = parseBody(body, deps.maxDepth);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      await audited(c, agent, err, 400);
      return rpcError(400, -32700, err);
    }
    if (!isJsonObject(doc)) {
      // JSON-RPC batches left MCP in 2025-06-18; one message per request keeps one strict tree per call.
      const err = new GatewayError("MALFORMED_ENVELOPE", "one JSON-RPC message object per request", {
        reason: Array.isArray(doc) ? "batch_not_supported" : "malformed_json",
      });
      await audited(c, agent, err, 400);
      return rpcError(400, -32600, err);
    }
    const message: JsonObject = doc;
    const source = deps.remoteAddress(c);
    const server = buildMcpServer({
      list: async () => await toMcpTools(await visibleToolsFor(services, agent), services.log),
      call: async () =>
        await callWithEnvelope(
          { audit: services.audit, clock: services.clock, run: deps.run },
          agent,
          message,
          source,
        ),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody: toPlain(message) });
    } finally {
      await server.close();
    }
  });
  return app;
}
