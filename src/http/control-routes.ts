import { type Context, Hono } from "hono";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { readBodyLimited } from "../request-body.js";
import { JsonParseError, parseJson, toPlain } from "../seal/json.js";
import type { ServiceContext, ServiceDeps } from "../services/context.js";
import { secretKeyFromPath } from "../services/secrets.js";
import { authenticateOperator, type OperatorEnv } from "./operator-auth.js";
import { type ControlRoute, controlRoutesOf, type HttpBinding, ROUTES, type RouteEntry } from "./routes.js";

/**
 * Control-plane routes, derived from the route table: authenticate the operator token (401),
 * turn the request into the verb's one input object, call the verb — which checks the role and
 * tenant and parses the input itself — and send its answer. Nothing else happens here.
 */

export interface ControlRouteOptions {
  bodyLimit: number;
  /** `tools.max_spec_bytes`: the largest API description a spec route accepts. */
  maxSpecBytes: number;
  maxDepth: number;
}

/** Room for a spec request's other fields (name, base_url, allowed_hosts…) beside the spec. */
const SPEC_ENVELOPE_BYTES = 1024 * 1024;

function bodyLimitOf(opts: ControlRouteOptions, b: HttpBinding): number {
  if (b.bodyLimit !== "spec") return opts.bodyLimit;
  return Math.max(opts.bodyLimit, opts.maxSpecBytes + SPEC_ENVELOPE_BYTES);
}

async function readBody(c: Context, opts: ControlRouteOptions, b: HttpBinding): Promise<unknown> {
  const { body, tooLarge } = await readBodyLimited(c.req.raw, bodyLimitOf(opts, b));
  if (tooLarge || !body)
    throw new GatewayError("BODY_TOO_LARGE", "the request body is too large", { reason: "body_too_large" });
  try {
    if (b.allowEmpty && body.byteLength === 0) return {};
    return toPlain(parseJson(body, { maxDepth: opts.maxDepth }));
  } catch (err) {
    if (err instanceof JsonParseError)
      throw new GatewayError("BAD_REQUEST", `malformed JSON: ${err.message}`, { reason: err.reason });
    throw err;
  }
}

/**
 * The key as received in the request target — before URL parsing folds "a/../b" into "b" —
 * and never from the decoded parameter, so "..", %2F or %2E%2E cannot name another key than
 * the one refused.
 */
function secretKeyOf(c: Context): string {
  const raw = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  const path =
    raw === undefined
      ? new URL(c.req.url).pathname
      : (raw.replace(/^https?:\/\/[^/]*/i, "").split("?", 1)[0] ?? "");
  return secretKeyFromPath(path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Adds `extra` to `input`; a member the caller sent that the path or query also names is
 * refused as the strict schema would have refused it, never silently overridden.
 */
function merge(input: Record<string, unknown>, extra: Record<string, unknown>, reason: string) {
  const clash = Object.keys(extra).filter((k) => Object.hasOwn(input, k));
  if (clash.length > 0)
    throw new GatewayError("BAD_REQUEST", "the request is invalid", {
      reason,
      problems: clash.map((k) => ({ path: k, message: "unknown field" })),
    });
  // Defined, not assigned: a member named `__proto__` stays a member (which the strict schema
  // then refuses) instead of reaching the prototype setter and vanishing unseen.
  for (const [k, v] of Object.entries(extra))
    Object.defineProperty(input, k, { value: v, enumerable: true, writable: true, configurable: true });
  return input;
}

/** The verb's input: body, then query, then path parameters, as the route's binding says. */
async function verbInput(c: Context, opts: ControlRouteOptions, b: HttpBinding): Promise<unknown> {
  const named: Record<string, unknown> = {};
  for (const p of b.params ?? []) named[p] = c.req.param(p);
  if (b.secretKey) named.key = secretKeyOf(c);
  const query = b.query ? c.req.query() : {};
  if (b.body === undefined) return merge(merge({}, query, "invalid_query"), named, "invalid_query");
  const body = await readBody(c, opts, b);
  if (b.body === "document") return body;
  if (typeof b.body === "object")
    return merge(merge({ [b.body.as]: body }, query, "invalid_query"), named, "invalid_body");
  // "fields": with nothing to add, the verb's schema judges the body as sent (an array stays one).
  if (b.params === undefined && !b.secretKey && !b.query) return body;
  if (!isObject(body))
    throw new GatewayError("BAD_REQUEST", "the request body is invalid", {
      reason: "invalid_body",
      problems: [{ path: "", message: "must be a JSON object" }],
    });
  return merge(merge({ ...body }, query, "invalid_query"), named, "invalid_body");
}

/** The `exp` of the bearer token the authentication middleware has already verified. */
function bearerExpiryMs(c: Context): number {
  const payload = c.req.header("authorization")?.split(" ", 2)[1]?.split(".")[1] ?? "";
  try {
    const exp: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).exp;
    if (typeof exp === "number" && Number.isFinite(exp)) return exp * 1000;
  } catch {
    // unreachable for a verified token; 0 ends the stream at once
  }
  return 0;
}

function respond(c: Context, route: ControlRoute, out: unknown) {
  const { status } = route.http;
  if (route.http.sse)
    return new Response((out as { body: ReadableStream<Uint8Array> }).body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // Reverse proxies (nginx) buffer responses by default, which would hold events back.
        "x-accel-buffering": "no",
      },
    });
  if (route.http.text) {
    const { contentType, body } = out as { contentType: string; body: string };
    return new Response(body, {
      status: 200,
      headers: { "content-type": contentType, "cache-control": "no-store" },
    });
  }
  if (status === "created") {
    const { created, secret } = out as { created: boolean; secret: unknown };
    return c.json(secret, created ? 201 : 200);
  }
  return c.json(out, status ?? 200);
}

export function controlRoutes(
  deps: ServiceDeps,
  clock: Clock,
  opts: ControlRouteOptions,
  table: readonly RouteEntry[] = ROUTES,
) {
  const app = new Hono<OperatorEnv>();
  const authenticate = authenticateOperator(deps.tokens, clock);
  for (const route of controlRoutesOf(table)) {
    app.on(route.method, route.path, authenticate, async (c) => {
      const identity = c.get("actor");
      const ctx: ServiceContext = {
        actor: { kind: "operator", ...identity },
        requestId: newId("req"),
        deps,
        ...(route.http.sse
          ? { request: { signal: c.req.raw.signal, tokenExpiresAtMs: bearerExpiryMs(c) } }
          : {}),
      };
      let input = await verbInput(c, opts, route.http);
      const lastEventId = c.req.header("last-event-id");
      if (route.http.sse && lastEventId !== undefined && isObject(input))
        input = merge(input, { last_event_id: lastEventId }, "invalid_query");
      return respond(c, route, await route.verb({ ctx, input }));
    });
  }
  return app;
}
