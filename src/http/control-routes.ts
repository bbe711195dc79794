import { type Context, Hono } from "hono";
import type { z } from "zod";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors.js";
import { JsonParseError, parseJson, toPlain } from "../seal/json.js";
import * as agentKeys from "../services/agent-keys.js";
import type { ServiceDeps } from "../services/context.js";
import * as events from "../services/events.js";
import * as sessions from "../services/sessions.js";
import { readBodyLimited } from "./body.js";
import { type OperatorEnv, operatorAuth } from "./operator-auth.js";

/** Control-plane routes: thin adapters from HTTP to service verbs. */

export interface ControlRouteOptions {
  bodyLimit: number;
  maxDepth: number;
}

function issuesToProblems(issues: z.core.$ZodIssue[]) {
  return issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

export async function readJson<T>(c: Context, schema: z.ZodType<T>, opts: ControlRouteOptions): Promise<T> {
  const { body, tooLarge } = await readBodyLimited(c.req.raw, opts.bodyLimit);
  if (tooLarge || !body) throw new GatewayError("BODY_TOO_LARGE", "the request body is too large", { reason: "body_too_large" });
  let value: unknown;
  try {
    value = toPlain(parseJson(body, { maxDepth: opts.maxDepth }));
  } catch (err) {
    if (err instanceof JsonParseError) throw new GatewayError("BAD_REQUEST", `malformed JSON: ${err.message}`, { reason: err.reason });
    throw err;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new GatewayError("BAD_REQUEST", "the request body is invalid", { reason: "invalid_body", problems: issuesToProblems(parsed.error.issues) });
  }
  return parsed.data;
}

export function parseQuery<T>(c: Context, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    throw new GatewayError("BAD_REQUEST", "the query is invalid", { reason: "invalid_query", problems: issuesToProblems(parsed.error.issues) });
  }
  return parsed.data;
}

export function controlRoutes(deps: ServiceDeps, clock: Clock, opts: ControlRouteOptions) {
  const app = new Hono<OperatorEnv>();
  const read = operatorAuth(deps.tokens, clock, "read");
  const write = operatorAuth(deps.tokens, clock, "write");

  app.post("/v1/seal/sessions", write, async (c) => {
    const input = await readJson(c, sessions.CreateSessionInput, opts);
    return c.json(await sessions.createSession(deps, c.get("actor"), input), 201);
  });
  app.get("/v1/seal/sessions", read, async (c) => {
    const status = c.req.query("status");
    const allowed = ["Active", "Revoked", "Expired"] as const;
    const s = allowed.find((a) => a === status);
    if (status !== undefined && !s) throw new GatewayError("BAD_REQUEST", "status must be Active, Revoked or Expired", { reason: "invalid_query" });
    return c.json(await sessions.listSessions(deps, c.get("actor"), s));
  });
  app.get("/v1/seal/sessions/:id", read, async (c) => c.json(await sessions.getSession(deps, c.get("actor"), c.req.param("id"))));
  app.delete("/v1/seal/sessions/:id", write, async (c) => c.json(await sessions.revokeSession(deps, c.get("actor"), c.req.param("id"))));

  app.post("/v1/agent-keys", write, async (c) => {
    const input = await readJson(c, agentKeys.RegisterAgentKeyInput, opts);
    return c.json(await agentKeys.registerAgentKey(deps, c.get("actor"), input), 201);
  });
  app.get("/v1/agent-keys", read, async (c) => c.json(await agentKeys.listAgentKeys(deps, c.get("actor"), c.req.query("sub"))));
  app.get("/v1/agent-keys/:id", read, async (c) => c.json(await agentKeys.getAgentKey(deps, c.get("actor"), c.req.param("id"))));
  app.delete("/v1/agent-keys/:id", write, async (c) => c.json(await agentKeys.revokeAgentKey(deps, c.get("actor"), c.req.param("id"))));

  app.get("/v1/events", read, async (c) => c.json(await events.listEvents(deps, c.get("actor"), parseQuery(c, events.EventQuery))));
  return app;
}

/** Every protected route, for the shared auth-failure test matrix (test/http/auth-matrix). */
export const PROTECTED_ROUTES: ReadonlyArray<{ method: string; path: string; need: "read" | "write" }> = [
  { method: "POST", path: "/v1/seal/sessions", need: "write" },
  { method: "GET", path: "/v1/seal/sessions", need: "read" },
  { method: "GET", path: "/v1/seal/sessions/x", need: "read" },
  { method: "DELETE", path: "/v1/seal/sessions/x", need: "write" },
  { method: "POST", path: "/v1/agent-keys", need: "write" },
  { method: "GET", path: "/v1/agent-keys", need: "read" },
  { method: "GET", path: "/v1/agent-keys/x", need: "read" },
  { method: "DELETE", path: "/v1/agent-keys/x", need: "write" },
  { method: "GET", path: "/v1/events", need: "read" },
];
