import { type Context, Hono } from "hono";
import { SYSTEM_TENANT } from "../audit/recorder.js";
import type { OperatorIdentity } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { errorBody, GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import type { createInvokePipeline, InvokeResponse } from "../pipeline/index.js";
import type { ServiceDeps } from "../services/context.js";
import type { EventStreamHub } from "../services/event-stream.js";
import { listToolsForAgent } from "../services/tools.js";
import type { Store } from "../store/types.js";
import { readBodyLimited } from "./body.js";
import { controlRoutes } from "./control-routes.js";
import { staticConsole } from "./static.js";
import { streamRoutes } from "./stream-routes.js";

/** The HTTP transport: routes call the pipeline and service verbs, nothing else. */

export interface HttpDeps {
  services: ServiceDeps;
  streams: EventStreamHub;
  invoke: ReturnType<typeof createInvokePipeline>;
  store: Store;
  clock: Clock;
  log: Logger;
  bodyLimit: number;
  maxDepth: number;
  /** Address of the peer (the node adapter provides it); "unknown" when absent. */
  remoteAddress: (c: Context) => string;
}

/** Routes reachable without an operator token. Everything else must refuse anonymous calls. */
export const PUBLIC_ROUTES = new Set([
  "POST /v1/invoke",
  "POST /v1/seal/invoke",
  "GET /v1/tools",
  "GET /health",
  "GET /ready",
]);

/** A 413 leaves the rest of the body unread, so the connection cannot be reused: close it. */
function closeIf413(status: number): Record<string, string> {
  return status === 413 ? { connection: "close" } : {};
}

function send(res: InvokeResponse) {
  return new Response(JSON.stringify(res.body), {
    status: res.status,
    headers: { "content-type": "application/json", ...closeIf413(res.status), ...res.headers },
  });
}

export function createHttpApp(deps: HttpDeps) {
  const app = new Hono();
  const { log } = deps;

  const invokeHandler = async (c: Context) => {
    const { body, tooLarge } = await readBodyLimited(c.req.raw, deps.bodyLimit);
    return send(await deps.invoke({ body, tooLarge, source: deps.remoteAddress(c) }));
  };
  app.post("/v1/invoke", invokeHandler);
  app.post("/v1/seal/invoke", invokeHandler);

  // Agent plane, read-only: the agent's security token as a Bearer token, no signature.
  app.get("/v1/tools", async (c) => {
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(c.req.header("authorization") ?? "");
    if (!m?.[1])
      throw new GatewayError("INVALID_TOKEN", "the agent's security token is required as a Bearer token", {
        reason: "missing_token",
      });
    return c.json(await listToolsForAgent(deps.services, m[1]));
  });

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    try {
      await deps.store.ping();
      return c.json({ status: "ready", database: deps.store.dialect });
    } catch {
      return c.json({ status: "unavailable", database: deps.store.dialect }, 503);
    }
  });

  app.route(
    "/",
    controlRoutes(deps.services, deps.clock, { bodyLimit: deps.bodyLimit, maxDepth: deps.maxDepth }),
  );
  app.route("/", streamRoutes(deps.services, deps.clock, deps.streams));

  /**
   * Every refused control-plane request leaves a row (bad input is audited like any other):
   * in the operator's tenant once the token verified, else in `system` through the same
   * per-address budget as unauthenticated envelopes. Only the route, code and reason are kept.
   */
  const auditRejection = async (c: Context, err: GatewayError) => {
    const actor = (c.get as (key: string) => OperatorIdentity | undefined)("actor");
    const event = {
      eventType: "ControlRequestRejected",
      executionId: null,
      callId: null,
      agentId: actor?.sub ?? null,
      toolName: null,
      decision: "reject",
      stage: "control",
      code: err.sealCode,
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
