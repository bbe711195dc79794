import { Hono } from "hono";
import type { Clock } from "../clock.js";
import type { ServiceDeps } from "../services/context.js";
import { type EventStreamHub, parseLastEventId, StreamQuery } from "../services/event-stream.js";
import { eventFilter } from "../services/events.js";
import { parseQuery } from "./control-routes.js";
import { type OperatorEnv, operatorAuth } from "./operator-auth.js";

/**
 * GET /v1/events/stream (viewer): the event listing as Server-Sent Events. The operator token
 * comes in the Authorization header like everywhere else — never in the URL, where it would
 * land in proxy and access logs — so browsers read it with fetch(), not EventSource.
 */

/** The `exp` of a bearer token the auth middleware has already verified. */
function bearerExpiryMs(header: string | undefined): number {
  const payload = header?.split(" ", 2)[1]?.split(".")[1] ?? "";
  try {
    const exp: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).exp;
    if (typeof exp === "number" && Number.isFinite(exp)) return exp * 1000;
  } catch {
    // unreachable for a verified token; fall through to "now", which ends the stream at once
  }
  return 0;
}

export function streamRoutes(deps: ServiceDeps, clock: Clock, hub: EventStreamHub) {
  const app = new Hono<OperatorEnv>();
  const read = operatorAuth(deps.tokens, clock, "read");
  app.get("/v1/events/stream", read, async (c) => {
    const filter = eventFilter(c.get("actor"), parseQuery(c, StreamQuery));
    const afterSeq = parseLastEventId(c.req.header("last-event-id"));
    const body = await hub.open({
      filter,
      ...(afterSeq === undefined ? {} : { afterSeq }),
      expiresAtMs: bearerExpiryMs(c.req.header("authorization")),
      signal: c.req.raw.signal,
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // Reverse proxies (nginx) buffer responses by default, which would hold events back.
        "x-accel-buffering": "no",
      },
    });
  });
  return app;
}
