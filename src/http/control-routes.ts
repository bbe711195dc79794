import { type Context, Hono } from "hono";
import { z } from "zod";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors.js";
import { JsonParseError, parseJson, toPlain } from "../seal/json.js";
import * as agentKeys from "../services/agent-keys.js";
import * as approvals from "../services/approvals.js";
import type { ServiceDeps } from "../services/context.js";
import * as events from "../services/events.js";
import * as explorer from "../services/explorer.js";
import * as secrets from "../services/secrets.js";
import * as contexts from "../services/security-contexts.js";
import * as sessions from "../services/sessions.js";
import * as specs from "../services/specs.js";
import * as workflows from "../services/workflows.js";
import { readBodyLimited } from "./body.js";
import { type OperatorEnv, operatorAuth, type Permission } from "./operator-auth.js";

/** Control-plane routes: thin adapters from HTTP to service verbs. */

export interface ControlRouteOptions {
  bodyLimit: number;
  maxDepth: number;
}

function issuesToProblems(issues: z.core.$ZodIssue[]) {
  return issues.flatMap((i) => {
    const base = i.path.map(String);
    // One problem per unknown field at its own path, so the caller sees which field to drop.
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ path: [...base, k].join("."), message: "unknown field" }));
    return [{ path: base.join("."), message: i.message }];
  });
}

export async function readJson<T>(
  c: Context,
  schema: z.ZodType<T>,
  opts: ControlRouteOptions & { allowEmpty?: boolean },
): Promise<T> {
  const { body, tooLarge } = await readBodyLimited(c.req.raw, opts.bodyLimit);
  if (tooLarge || !body)
    throw new GatewayError("BODY_TOO_LARGE", "the request body is too large", { reason: "body_too_large" });
  let value: unknown;
  try {
    // An empty body reads as {} where every field is optional (approve/deny without a reason).
    value =
      opts.allowEmpty && body.byteLength === 0 ? {} : toPlain(parseJson(body, { maxDepth: opts.maxDepth }));
  } catch (err) {
    if (err instanceof JsonParseError)
      throw new GatewayError("BAD_REQUEST", `malformed JSON: ${err.message}`, { reason: err.reason });
    throw err;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new GatewayError("BAD_REQUEST", "the request body is invalid", {
      reason: "invalid_body",
      problems: issuesToProblems(parsed.error.issues),
    });
  }
  return parsed.data;
}

export function parseQuery<T>(c: Context, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    throw new GatewayError("BAD_REQUEST", "the query is invalid", {
      reason: "invalid_query",
      problems: issuesToProblems(parsed.error.issues),
    });
  }
  return parsed.data;
}

const SPEC_BODY_LIMIT = 17 * 1024 * 1024;

const TenantQuery = z.strictObject({ tenant_id: z.string().max(64).optional() });

export function controlRoutes(deps: ServiceDeps, clock: Clock, opts: ControlRouteOptions) {
  const app = new Hono<OperatorEnv>();
  const read = operatorAuth(deps.tokens, clock, "read");
  const write = operatorAuth(deps.tokens, clock, "write");
  const approve = operatorAuth(deps.tokens, clock, "approve");
  const admin = operatorAuth(deps.tokens, clock, "admin");

  app.post("/v1/seal/sessions", write, async (c) => {
    const input = await readJson(c, sessions.CreateSessionInput, opts);
    return c.json(await sessions.createSession(deps, c.get("actor"), input), 201);
  });
  app.get("/v1/seal/sessions", read, async (c) =>
    c.json(await sessions.listSessions(deps, c.get("actor"), parseQuery(c, sessions.SessionQuery))),
  );
  app.get("/v1/seal/sessions/:id", read, async (c) =>
    c.json(await sessions.getSession(deps, c.get("actor"), c.req.param("id"))),
  );
  app.delete("/v1/seal/sessions/:id", write, async (c) =>
    c.json(await sessions.revokeSession(deps, c.get("actor"), c.req.param("id"))),
  );

  app.post("/v1/agent-keys", write, async (c) => {
    const input = await readJson(c, agentKeys.RegisterAgentKeyInput, opts);
    return c.json(await agentKeys.registerAgentKey(deps, c.get("actor"), input), 201);
  });
  app.get("/v1/agent-keys", read, async (c) =>
    c.json(await agentKeys.listAgentKeys(deps, c.get("actor"), parseQuery(c, agentKeys.AgentKeyQuery))),
  );
  app.get("/v1/agent-keys/:id", read, async (c) =>
    c.json(await agentKeys.getAgentKey(deps, c.get("actor"), c.req.param("id"))),
  );
  app.delete("/v1/agent-keys/:id", write, async (c) =>
    c.json(await agentKeys.revokeAgentKey(deps, c.get("actor"), c.req.param("id"))),
  );

  app.post("/v1/security-contexts", write, async (c) =>
    c.json(await contexts.createContext(deps, c.get("actor"), await readJson(c, z.unknown(), opts)), 201),
  );
  app.get("/v1/security-contexts", read, async (c) =>
    c.json(await contexts.listContexts(deps, c.get("actor"), parseQuery(c, TenantQuery).tenant_id)),
  );
  app.get("/v1/security-contexts/:name", read, async (c) =>
    c.json(
      await contexts.getContext(
        deps,
        c.get("actor"),
        c.req.param("name"),
        parseQuery(c, TenantQuery).tenant_id,
      ),
    ),
  );
  app.put("/v1/security-contexts/:name", write, async (c) =>
    c.json(
      await contexts.updateContext(
        deps,
        c.get("actor"),
        c.req.param("name"),
        await readJson(c, z.unknown(), opts),
      ),
    ),
  );
  app.delete("/v1/security-contexts/:name", write, async (c) =>
    c.json(
      await contexts.deleteContext(
        deps,
        c.get("actor"),
        c.req.param("name"),
        parseQuery(c, TenantQuery).tenant_id,
      ),
    ),
  );
  app.post("/v1/security-contexts/:name/evaluate", read, async (c) => {
    const input = await readJson(c, contexts.EvaluateInput, opts);
    return c.json(await contexts.evaluateContext(deps, c.get("actor"), c.req.param("name"), input));
  });

  app.get("/v1/approvals", read, async (c) =>
    c.json(await approvals.listApprovals(deps, c.get("actor"), parseQuery(c, approvals.ApprovalQuery))),
  );
  app.get("/v1/approvals/:id", read, async (c) =>
    c.json(await approvals.getApproval(deps, c.get("actor"), c.req.param("id"))),
  );
  app.post("/v1/approvals/:id/approve", approve, async (c) => {
    const input = await readJson(c, approvals.DecisionInput, { ...opts, allowEmpty: true });
    return c.json(await approvals.decideApproval(deps, c.get("actor"), c.req.param("id"), "approved", input));
  });
  app.post("/v1/approvals/:id/deny", approve, async (c) => {
    const input = await readJson(c, approvals.DecisionInput, { ...opts, allowEmpty: true });
    return c.json(await approvals.decideApproval(deps, c.get("actor"), c.req.param("id"), "denied", input));
  });

  // Specs may be large (a published API description runs to megabytes).
  const specOpts = { ...opts, bodyLimit: Math.max(opts.bodyLimit, SPEC_BODY_LIMIT) };
  app.post("/v1/specs", write, async (c) =>
    c.json(
      await specs.registerSpec(deps, c.get("actor"), await readJson(c, specs.RegisterSpecInput, specOpts)),
      201,
    ),
  );
  app.get("/v1/specs", read, async (c) =>
    c.json(await specs.listSpecs(deps, c.get("actor"), parseQuery(c, TenantQuery).tenant_id)),
  );
  app.get("/v1/specs/:id", read, async (c) =>
    c.json(await specs.getSpec(deps, c.get("actor"), c.req.param("id"))),
  );
  app.delete("/v1/specs/:id", write, async (c) =>
    c.json(await specs.deleteSpec(deps, c.get("actor"), c.req.param("id"))),
  );

  app.post("/v1/workflows", write, async (c) =>
    c.json(await workflows.createWorkflow(deps, c.get("actor"), await readJson(c, z.unknown(), opts)), 201),
  );
  app.get("/v1/workflows", read, async (c) =>
    c.json(await workflows.listWorkflows(deps, c.get("actor"), parseQuery(c, TenantQuery).tenant_id)),
  );
  app.get("/v1/workflows/:id", read, async (c) =>
    c.json(await workflows.getWorkflow(deps, c.get("actor"), c.req.param("id"))),
  );
  app.put("/v1/workflows/:id", write, async (c) =>
    c.json(
      await workflows.updateWorkflow(
        deps,
        c.get("actor"),
        c.req.param("id"),
        await readJson(c, z.unknown(), opts),
      ),
    ),
  );
  app.delete("/v1/workflows/:id", write, async (c) =>
    c.json(await workflows.deleteWorkflow(deps, c.get("actor"), c.req.param("id"))),
  );

  app.post("/v1/explorer", write, async (c) =>
    c.json(await explorer.explore(deps, { actor: c.get("actor") }, await readJson(c, z.unknown(), opts))),
  );

  // Keys hold '/', so the route takes the rest of the path. The key is read from the request
  // target as received — before URL parsing folds "a/../b" into "b" — and never from the
  // decoded parameter, so "..", %2F or %2E%2E cannot name another key than the one refused.
  const secretKey = (c: Context) => {
    const raw = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
    const path =
      raw === undefined
        ? new URL(c.req.url).pathname
        : (raw.replace(/^https?:\/\/[^/]*/i, "").split("?", 1)[0] ?? "");
    return secrets.secretKeyFromPath(path);
  };
  app.get("/v1/secrets", read, async (c) =>
    c.json(await secrets.listSecrets(deps, c.get("actor"), parseQuery(c, secrets.SecretQuery).tenant_id)),
  );
  app.get("/v1/secrets/:key{[\\s\\S]+}", read, async (c) =>
    c.json(
      await secrets.getSecret(
        deps,
        c.get("actor"),
        secretKey(c),
        parseQuery(c, secrets.SecretQuery).tenant_id,
      ),
    ),
  );
  app.put("/v1/secrets/:key{[\\s\\S]+}", admin, async (c) => {
    const key = secretKey(c);
    const tenant = parseQuery(c, secrets.SecretQuery).tenant_id;
    const out = await secrets.putSecret(
      deps,
      c.get("actor"),
      key,
      await readJson(c, secrets.PutSecretInput, opts),
      tenant,
    );
    return c.json(out.secret, out.created ? 201 : 200);
  });
  app.delete("/v1/secrets/:key{[\\s\\S]+}", admin, async (c) =>
    c.json(
      await secrets.deleteSecret(
        deps,
        c.get("actor"),
        secretKey(c),
        parseQuery(c, secrets.DeleteSecretQuery),
      ),
    ),
  );

  app.get("/v1/events", read, async (c) =>
    c.json(await events.listEvents(deps, c.get("actor"), parseQuery(c, events.EventQuery))),
  );
  return app;
}

/** Every protected route, for the shared auth-failure test matrix (test/http/auth-matrix). */
export const PROTECTED_ROUTES: ReadonlyArray<{ method: string; path: string; need: Permission }> = [
  { method: "POST", path: "/v1/seal/sessions", need: "write" },
  { method: "GET", path: "/v1/seal/sessions", need: "read" },
  { method: "GET", path: "/v1/seal/sessions/x", need: "read" },
  { method: "DELETE", path: "/v1/seal/sessions/x", need: "write" },
  { method: "POST", path: "/v1/agent-keys", need: "write" },
  { method: "GET", path: "/v1/agent-keys", need: "read" },
  { method: "GET", path: "/v1/agent-keys/x", need: "read" },
  { method: "DELETE", path: "/v1/agent-keys/x", need: "write" },
  { method: "POST", path: "/v1/security-contexts", need: "write" },
  { method: "GET", path: "/v1/security-contexts", need: "read" },
  { method: "GET", path: "/v1/security-contexts/x", need: "read" },
  { method: "PUT", path: "/v1/security-contexts/x", need: "write" },
  { method: "DELETE", path: "/v1/security-contexts/x", need: "write" },
  { method: "POST", path: "/v1/security-contexts/x/evaluate", need: "read" },
  { method: "GET", path: "/v1/approvals", need: "read" },
  { method: "GET", path: "/v1/approvals/x", need: "read" },
  { method: "POST", path: "/v1/approvals/x/approve", need: "approve" },
  { method: "POST", path: "/v1/approvals/x/deny", need: "approve" },
  { method: "POST", path: "/v1/specs", need: "write" },
  { method: "GET", path: "/v1/specs", need: "read" },
  { method: "GET", path: "/v1/specs/x", need: "read" },
  { method: "DELETE", path: "/v1/specs/x", need: "write" },
  { method: "POST", path: "/v1/workflows", need: "write" },
  { method: "GET", path: "/v1/workflows", need: "read" },
  { method: "GET", path: "/v1/workflows/x", need: "read" },
  { method: "PUT", path: "/v1/workflows/x", need: "write" },
  { method: "DELETE", path: "/v1/workflows/x", need: "write" },
  { method: "POST", path: "/v1/explorer", need: "write" },
  { method: "GET", path: "/v1/secrets", need: "read" },
  { method: "GET", path: "/v1/secrets/x", need: "read" },
  { method: "PUT", path: "/v1/secrets/x", need: "admin" },
  { method: "DELETE", path: "/v1/secrets/x", need: "admin" },
  { method: "GET", path: "/v1/events", need: "read" },
  { method: "GET", path: "/v1/events/stream", need: "read" },
];
