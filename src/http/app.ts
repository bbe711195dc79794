import { IncomingMessage, ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { type EventInput, SYSTEM_TENANT } from "../audit/recorder.js";
import type { OperatorIdentity } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { errorBody, GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import { mcpHandlers } from "../mcp/endpoint.js";
import { envelopeRunner } from "../mcp/envelope-runner.js";
import type { OriginPolicy } from "../mcp/origin-guard.js";
import { gatewayVersion } from "../paths.js";
import { admitAgentBearer, agentActor } from "../pipeline/agent-token.js";
import { errorOutcome } from "../pipeline/call.js";
import type { CallPipeline } from "../pipeline/index.js";
import { readBodyLimited, readIncomingLimited } from "../request-body.js";
import { parseBody } from "../seal/envelope.js";
import { approvalStatusForAgent } from "../services/approvals.js";
import { attest } from "../services/attestation.js";
import type { ServiceDeps } from "../services/context.js";
import { listToolsForAgent } from "../services/tools.js";
import type { InboundRequest, Tracing } from "../tracing/types.js";
import { controlRoutes } from "./control-routes.js";
import { openApiDocument } from "./openapi.js";
import { type HttpAnswer, renderCall } from "./render-call.js";
import { isPublic, ROUTES } from "./routes.js";
import { staticConsole } from "./static.js";

/** The HTTP transport: routes call the pipeline and service verbs, nothing else. */

export interface HttpDeps {
  services: ServiceDeps;
  calls: CallPipeline;
  /** What GET /ready asks of the database (a transport never touches the store itself). */
  store: { readonly dialect: string; ping(): Promise<void> };
  clock: Clock;
  log: Logger;
  bodyLimit: number;
  maxDepth: number;
  /** Address of the peer (the node adapter provides it); "unknown" when absent. */
  remoteAddress: (c: Context) => string;
  /** POST /mcp: who may reach the endpoint (Host/Origin allow-lists). */
  mcp: { origins: OriginPolicy };
  /** Server spans around the call routes (absent: tracing is off, nothing wraps them). */
  tracing?: Pick<Tracing, "inbound">;
}

/** The routes that carry tool calls, each traced as one server span (docs/operations.md "Traces"). */
const TRACED_ROUTES: Readonly<Record<string, InboundRequest["transport"]>> = {
  "POST /v1/invoke": "http",
  "POST /v1/seal/invoke": "http",
  "POST /mcp": "mcp",
};

/** The body, from Node's request when the node adapter serves (no Web stream), else the Request. */
function readBody(c: Context, limit: number) {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage
    ? readIncomingLimited(incoming, limit)
    : readBodyLimited(c.req.raw, limit);
}

/**
 * Aborts when the HTTP client goes away before its answer was written (node's `outgoing`
 * closed unfinished): the tool run stops and whatever it holds ends — a lease is revoked now,
 * not at the tool timeout. The reason is what the call records (4041 `client_disconnected`).
 * Read from Node's response, not `c.req.raw.signal`, which would build a whole Request per call.
 */
function clientGone(c: Context): AbortSignal | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return undefined;
  const ctl = new AbortController();
  outgoing.once("close", () => {
    if (!outgoing.writableFinished)
      ctl.abort(
        new GatewayError("EXECUTION_TIMEOUT", "the client disconnected before the tool finished", {
          reason: "client_disconnected",
        }),
      );
  });
  return ctl.signal;
}

const withSignal = (signal: AbortSignal | undefined) => (signal ? { signal } : {});

/** A 413 leaves the rest of the body unread, so the connection cannot be reused: close it. */
function closeIf413(status: number): Record<string, string> {
  return status === 413 ? { connection: "close" } : {};
}

function send(res: HttpAnswer) {
  return new Response(JSON.stringify(res.body), {
    status: res.status,
    headers: { "content-type": "application/json", ...closeIf413(res.status), ...res.headers },
  });
}

export function createHttpApp(deps: HttpDeps) {
  const app = new Hono();
  const { log } = deps;

  const invoke = async (c: Context) => {
    const raw = await readBody(c, deps.bodyLimit);
    return send(
      renderCall(
        await deps.calls.callBody(raw, {
          address: deps.remoteAddress(c),
          transport: "http",
          ...withSignal(clientGone(c)),
        }),
      ),
    );
  };
  /** Admits the agent's security token as a Bearer (audited refusals), or answers the refusal. */
  const asAgent = async (c: Context, surface: string, transport: "http" | "mcp" = "http") => {
    const admitted = await admitAgentBearer(deps.services, c.req.header("authorization"), {
      address: deps.remoteAddress(c),
      transport,
      surface,
    });
    if (!admitted.ok)
      return { refused: send(renderCall(errorOutcome(admitted.error, null, "", deps.clock.nowMs()))) };
    return { ctx: { actor: agentActor(admitted.agent), requestId: newId("req"), deps: deps.services } };
  };
  const mcp = mcpHandlers({
    services: deps.services,
    run: envelopeRunner(deps.calls),
    bodyLimit: deps.bodyLimit,
    maxDepth: deps.maxDepth,
    origins: deps.mcp.origins,
    remoteAddress: deps.remoteAddress,
  });
  // The public routes of the table and their handlers: a public route without one fails startup.
  let apiDocument: string | undefined;
  const handlers: Record<string, (c: Context) => Promise<Response> | Response> = {
    "POST /v1/invoke": invoke,
    "POST /v1/seal/invoke": invoke,
    "POST /v1/seal/attest": async (c) => {
      const raw = await readBodyLimited(c.req.raw, deps.bodyLimit);
      let input: unknown;
      try {
        // The same strict parse as envelopes (duplicate keys, depth); anything else is refused
        // by the verb's schema as `invalid_request`.
        input = raw.body ? parseBody(raw.body, deps.maxDepth) : undefined;
      } catch {
        input = undefined;
      }
      try {
        return c.json(await attest(deps.services, input, { address: deps.remoteAddress(c) }));
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        return send({
          status: err.httpStatus,
          body: errorBody(err, null, new Date(deps.clock.nowMs())),
          headers: {},
        });
      }
    },
    // Agent plane, read-only: the agent's security token as a Bearer token, no signature.
    "GET /v1/tools": async (c) => {
      const a = await asAgent(c, "GET /v1/tools");
      return a.refused ?? c.json(await listToolsForAgent({ ctx: a.ctx }));
    },
    // The status of the caller's own approval (the MCP bridge polls it while a call waits).
    "GET /v1/seal/approvals/:id": async (c) => {
      const a = await asAgent(c, "GET /v1/seal/approvals/:id");
      return (
        a.refused ?? c.json(await approvalStatusForAgent({ ctx: a.ctx, input: { id: c.req.param("id") } }))
      );
    },
    "POST /mcp": mcp.post,
    "GET /mcp": mcp.notAllowed,
    "DELETE /mcp": mcp.notAllowed,
    "GET /health": (c) => c.json({ status: "ok" }),
    "GET /openapi.json": (c) => {
      apiDocument ??= JSON.stringify(openApiDocument(ROUTES, gatewayVersion()));
      return c.body(apiDocument, 200, { "content-type": "application/json", "cache-control": "no-cache" });
    },
    "GET /ready": async (c) => {
      try {
        await deps.store.ping();
        return c.json({ status: "ready", database: deps.store.dialect });
      } catch {
        return c.json({ status: "unavailable", database: deps.store.dialect }, 503);
      }
    },
  };
  for (const route of ROUTES.filter(isPublic)) {
    const handler = handlers[`${route.method} ${route.path}`];
    if (!handler) throw new Error(`public route ${route.method} ${route.path} has no handler`);
    const key = `${route.method} ${route.path}`;
    const transport = TRACED_ROUTES[key];
    const { tracing } = deps;
    app.on(
      route.method,
      route.path,
      tracing && transport
        ? (c) =>
            tracing.inbound(
              {
                name: key,
                transport,
                http: { method: route.method, route: route.path },
                header: (name) => c.req.header(name),
              },
              async (span) => {
                const res = await handler(c);
                span.httpStatus(res.status);
                return res;
              },
            )
        : handler,
    );
  }

  app.route(
    "/",
    controlRoutes(deps.services, deps.clock, {
      bodyLimit: deps.bodyLimit,
      maxSpecBytes: deps.services.maxSpecBytes,
      maxDepth: deps.maxDepth,
    }),
  );

  /**
   * Every refused control-plane request leaves a row (bad input is audited like any other):
   * in the operator's tenant once the token verified, else in `system` through the same
   * per-address budget as unauthenticated envelopes. Only the route, code and reason are kept.
   */
  const auditRejection = async (c: Context, err: GatewayError) => {
    const actor = (c.get as (key: string) => OperatorIdentity | undefined)("actor");
    const event: Omit<EventInput, "tenantId"> = {
      eventType: "ControlRequestRejected",
      executionId: null,
      callId: null,
      agentId: actor?.sub ?? null,
      toolName: null,
      decision: "reject",
      stage: "control",
      code: err.code,
      requestId: null,
      payload: {
        method: c.req.method,
        route: c.req.routePath,
        reason: err.details.reason,
        status: err.httpStatus,
      },
    };
    try {
      if (actor)
        await deps.services.audit.record({
          ...event,
          tenantId: actor.tenant === "*" ? SYSTEM_TENANT : actor.tenant,
        });
      else
        await deps.services.audit.recordPreauth(deps.remoteAddress(c), { ...event, tenantId: SYSTEM_TENANT });
    } catch (auditErr) {
      log.warn("could not audit a refused control-plane request", {
        error: auditErr,
        route: c.req.routePath,
      });
    }
  };

  // Last: the web console answers only GETs that no route took and that are not API paths.
  app.use("*", staticConsole());
  app.notFound((c) =>
    c.json(errorBody(new GatewayError("NOT_FOUND", "no such route", { reason: "no_route" }), null), 404),
  );
  app.onError(async (err, c) => {
    if (err instanceof GatewayError) {
      await auditRejection(c, err);
      return c.json(
        errorBody(err, null, new Date(deps.clock.nowMs())),
        err.httpStatus as 400,
        closeIf413(err.httpStatus),
      );
    }
    const id = newId("req");
    log.error("unhandled error", { request_id: id, error: err, path: c.req.path });
    return c.json(
      errorBody(
        new GatewayError("INTERNAL", `internal error (request id ${id})`, { reason: "internal" }),
        null,
      ),
      500,
    );
  });
  return app;
}
