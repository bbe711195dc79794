import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Context } from "hono";
import { type EventInput, SYSTEM_TENANT } from "../audit/recorder.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { admitAgentBearer } from "../pipeline/agent-token.js";
import { readBodyLimited } from "../request-body.js";
import { parseBody } from "../seal/envelope.js";
import { isJsonObject, type JsonObject, toPlain } from "../seal/json.js";
import type { ServiceDeps } from "../services/context.js";
import { visibleToolsFor } from "../services/tools.js";
import { type BearerAgent, bearerAgent } from "./agent.js";
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

/** The handlers of POST /mcp and of GET/DELETE /mcp (405), mounted by the route table. */
export function mcpHandlers(deps: McpEndpointDeps) {
  const { services } = deps;

  /** Refusals before the SDK are audited too: in the agent's tenant once its token verified. */
  const audited = async (c: Context, agent: BearerAgent | null, err: GatewayError, status: number) => {
    const event: Omit<EventInput, "tenantId"> = {
      eventType: "McpRequestRejected",
      executionId: agent ? (agent.claims.exec_id ?? agent.claims.jti) : null,
      callId: null,
      agentId: agent?.claims.sub ?? null,
      toolName: null,
      decision: "reject",
      stage: "mcp",
      code: err.code,
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

  /** Stateless: no server-to-client stream (GET) and no session to end (DELETE). */
  const notAllowed = async (c: Context): Promise<Response> => {
    const refused = await guard(c);
    if (refused) return refused;
    const err = new GatewayError("BAD_REQUEST", "only POST is served on /mcp (stateless)", {
      reason: "method_not_allowed",
    });
    return rpcError(405, -32000, err, { allow: "POST" });
  };

  const post = async (c: Context): Promise<Response> => {
    const refused = await guard(c);
    if (refused) return refused;
    // The one agent-token admission of GET /v1/tools and /v1/invoke; it audits its refusals.
    const header = c.req.header("authorization");
    const admitted = await admitAgentBearer(services, header, {
      address: deps.remoteAddress(c),
      transport: "mcp",
      surface: "POST /mcp",
    });
    if (!admitted.ok) {
      const err = admitted.error;
      if (err.httpStatus !== 401) return rpcError(err.httpStatus, -32000, err);
      const reason = err.details.reason === "missing_token" ? null : err.details.reason;
      return rpcError(401, -32001, err, { "www-authenticate": wwwAuthenticate(reason) });
    }
    const agent: BearerAgent = bearerAgent(BEARER.exec(header ?? "")?.[1] ?? "", admitted.agent);
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
      list: async () =>
        await toMcpTools(
          await visibleToolsFor({ actor: agent.actor, requestId: newId("req"), deps: services }),
          services.log,
        ),
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
  };
  return { post, notAllowed };
}
