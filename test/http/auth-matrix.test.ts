/**
 * The one authentication/authorization matrix for the control plane. The routes come from the
 * route table (src/http/routes.ts) and are checked against every route registered on the app,
 * so a route added outside the table, one without operator auth, without a declared role, or
 * without tenant scoping fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { satisfies } from "../../src/auth/roles.js";
import type { OperatorRole } from "../../src/auth/tokens.js";
import { controlRoutesOf, isPublic, ROUTES } from "../../src/http/routes.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import {
  BACKENDS,
  createSessionAgent,
  envelopeBody,
  invoke,
  jsonInit,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import {
  AGENT_AUDIENCE,
  bearer,
  expectError,
  expectJson,
  nowSeconds,
  operatorClaims,
  signAsGateway,
  signWithStrangerKey,
} from "./support.js";

const DUMMY_ID = "x";

/**
 * POST routes that change nothing (a dry run; a what-if, which writes only its own audit row),
 * so reading is enough.
 */
const READ_ONLY_POSTS = new Set([
  "POST /v1/security-contexts/:name/evaluate",
  "POST /v1/security-contexts/:name/what-if",
]);

/**
 * Bodies that pass validation on the parametric write routes, so a 404 for another tenant's
 * object comes from tenancy and not from a refused body.
 */
const VALID_BODIES: Record<string, (id: string) => unknown> = {
  "PUT /v1/security-contexts/:name": (id) => ({ name: id, capabilities: [{ tool_pattern: "*" }] }),
  "PUT /v1/workflows/:id": () => foreignWorkflowDefinition,
  "PUT /v1/cli-tools/:id": () => FOREIGN_CLI_TOOL,
  "PUT /v1/credential-bindings/:id/grants": () => ({ grants: [{ tool_pattern: "*" }] }),
  "POST /v1/security-contexts/:name/evaluate": () => ({ tool: "demo.tool", arguments: {} }),
  "POST /v1/security-contexts/:name/what-if": (id) => ({ candidate: { name: id, capabilities: [] } }),
  "POST /v1/approvals/:id/approve": () => ({ reason: "cross-tenant" }),
  "POST /v1/approvals/:id/deny": () => ({ reason: "cross-tenant" }),
};
const ROLES: readonly OperatorRole[] = ["viewer", "operator", "approver", "admin"];

/** The secrets route: the key is the rest of the path (it may contain '/'). */
const SECRET_ROUTE = "/v1/secrets/:key{[\\s\\S]+}";
/**
 * Routes that write by name: another tenant's admin writing the same name writes its own
 * object (not a 404); the test checks that the foreign one stays intact instead.
 */
const UPSERTS_BY_NAME = new Set([`PUT ${SECRET_ROUTE}`]);

/** A minimal OpenAPI 3.1 description for the tenant-b spec fixture. */
const MINI_SPEC = {
  openapi: "3.1.0",
  info: { title: "matrix", version: "1" },
  servers: [{ url: "https://matrix.example.com" }],
  paths: { "/things": { get: { operationId: "listThings", responses: { "200": { description: "ok" } } } } },
};
/** The tenant-b CLI tool (registration only: nothing runs it here). */
const FOREIGN_CLI_TOOL = {
  name: "matrix.jq",
  description: "tenant-b cli tool",
  docker_image: `sha256:${"ab".repeat(32)}`,
  allowed_subcommands: ["."],
};
/** Filled in once the tenant-b spec exists (its id is part of the definition). */
let foreignWorkflowDefinition: Record<string, unknown> = {};

/** Routes DESIGN §7 lets callers reach without an operator token (agent plane, operations). */
const DESIGN_PUBLIC = new Set([
  "POST /v1/invoke",
  "POST /v1/seal/invoke",
  "POST /v1/seal/attest",
  "GET /v1/tools",
  "POST /mcp",
  // DESIGN §7: "GET /mcp 405" — stateless, so GET (and DELETE) only ever refuse.
  "GET /mcp",
  "DELETE /mcp",
  // DESIGN §7: the agent-plane approval status, with the agent's security token as Bearer.
  "GET /v1/seal/approvals/:id",
  "GET /health",
  "GET /ready",
  // DESIGN §7 operations: the gateway's own API description. It is the same document for every
  // deployment of a version and names nothing of a tenant or a deployment (docs/api.md).
  "GET /openapi.json",
]);

/** Routes of the table reachable without an operator token. */
const PUBLIC_ROUTES = new Set(ROUTES.filter(isPublic).map((r) => `${r.method} ${r.path}`));

/** Every protected route of the table, with the least role it declares. */
const PROTECTED_ROUTES: ReadonlyArray<{ method: string; path: string; need: OperatorRole }> = controlRoutesOf(
  ROUTES,
).map((r) => ({ method: r.method, path: concrete(r.path, DUMMY_ID), need: r.role }));

interface Route {
  method: string;
  /** As registered, e.g. /v1/seal/sessions/:id */
  pattern: string;
  /** With every path parameter replaced by DUMMY_ID. */
  path: string;
}

function concrete(pattern: string, id: string): string {
  return pattern.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?\??/g, id);
}

function registeredRoutes(t: TestGateway): Route[] {
  const seen = new Map<string, Route>();
  for (const r of t.gw.app.routes) {
    // Middleware mounted with app.use() on a wildcard is not a route of its own.
    if (r.method === "ALL" && r.path.includes("*")) continue;
    const method = r.method === "ALL" ? "GET" : r.method;
    const key = `${method} ${r.path}`;
    if (!seen.has(key)) seen.set(key, { method, pattern: r.path, path: concrete(r.path, DUMMY_ID) });
  }
  return [...seen.values()];
}

function protectedRoutes(t: TestGateway): Route[] {
  return registeredRoutes(t).filter((r) => !PUBLIC_ROUTES.has(`${r.method} ${r.pattern}`));
}

function declaredNeed(route: Route): OperatorRole | undefined {
  return PROTECTED_ROUTES.find((p) => p.method === route.method && p.path === route.path)?.need;
}

function send(
  t: TestGateway,
  route: Route,
  headers: Record<string, string>,
  path = route.path,
  body = "{}",
): Promise<Response> {
  const hasBody = route.method !== "GET" && route.method !== "DELETE" && route.method !== "HEAD";
  return t.request(path, {
    method: route.method,
    headers: { "content-type": "application/json", ...headers },
    ...(hasBody ? { body } : {}),
  });
}

describe.each(BACKENDS)("control plane auth matrix (%s)", (backend) => {
  let t: TestGateway;
  let agentToken: string;
  /** Objects of tenant "tenant-b", by route pattern, for the cross-tenant checks. */
  const foreign = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestGateway(backend);
    agentToken = (await createSessionAgent(t, { sub: "matrix-agent" })).token;
    const admin = t.adminToken();
    const s = await expectJson<{ execution_id: string }>(
      await t.request(
        "/v1/seal/sessions",
        jsonInit(
          "POST",
          {
            execution_id: "exec-tenant-b",
            sub: "b-agent",
            security_context_name: "default",
            public_key_b64: generateKeyPair().publicKeyB64,
            tenant_id: "tenant-b",
          },
          admin,
        ),
      ),
      201,
    );
    foreign.set("/v1/seal/sessions/:id", s.execution_id);
    const k = await expectJson<{ id: string }>(
      await t.request(
        "/v1/agent-keys",
        jsonInit(
          "POST",
          { sub: "b-agent", public_key_b64: generateKeyPair().publicKeyB64, tenant_id: "tenant-b" },
          admin,
        ),
      ),
      201,
    );
    foreign.set("/v1/agent-keys/:id", k.id);
    await expectJson(
      await t.request(
        "/v1/security-contexts",
        jsonInit(
          "POST",
          {
            name: "ctx-b",
            capabilities: [{ tool_pattern: "demo.*", approval: "required" }],
            tenant_id: "tenant-b",
          },
          admin,
        ),
      ),
      201,
    );
    foreign.set("/v1/security-contexts/:name", "ctx-b");
    foreign.set("/v1/security-contexts/:name/evaluate", "ctx-b");
    foreign.set("/v1/security-contexts/:name/what-if", "ctx-b");
    foreign.set("/v1/security-contexts/:name/suggest", "ctx-b");
    // A real escalated call of a tenant-b agent leaves a pending tenant-b approval.
    const bAgent = await createSessionAgent(t, { sub: "b-caller", context: "ctx-b", tenant: "tenant-b" });
    const pending = await invoke(t, envelopeBody(t, bAgent, "demo.tool", { n: 1 }));
    expect(pending.status, JSON.stringify(pending.body)).toBe(202);
    const approvalId = (pending.body as unknown as { approval_id: string }).approval_id;
    for (const p of ["/v1/approvals/:id", "/v1/approvals/:id/approve", "/v1/approvals/:id/deny"])
      foreign.set(p, approvalId);
    // That call's events make a tenant-b execution with an evidence pack.
    foreign.set("/v1/executions/:execution_id/evidence", bAgent.executionId);
    await expectJson(
      await t.request(
        "/v1/secrets/b/token?tenant_id=tenant-b",
        jsonInit("PUT", { value: "tenant-b-value" }, admin),
      ),
      201,
    );
    foreign.set(SECRET_ROUTE, "b/token");
    const spec = await expectJson<{ id: string }>(
      await t.request(
        "/v1/specs",
        jsonInit("POST", { name: "spec-b", inline_json: MINI_SPEC, tenant_id: "tenant-b" }, admin),
      ),
      201,
    );
    foreign.set("/v1/specs/:id", spec.id);
    foreignWorkflowDefinition = {
      name: "matrix.things",
      description: "tenant-b workflow",
      input_schema: { type: "object" },
      api_spec_id: spec.id,
      steps: [{ name: "list", operation_id: "listThings", on_error: "AbortWorkflow" }],
    };
    const wf = await expectJson<{ id: string }>(
      await t.request(
        "/v1/workflows",
        jsonInit("POST", { ...foreignWorkflowDefinition, tenant_id: "tenant-b" }, admin),
      ),
      201,
    );
    foreign.set("/v1/workflows/:id", wf.id);
    const clt = await expectJson<{ id: string }>(
      await t.request(
        "/v1/cli-tools",
        jsonInit("POST", { ...FOREIGN_CLI_TOOL, tenant_id: "tenant-b" }, admin),
      ),
      201,
    );
    foreign.set("/v1/cli-tools/:id", clt.id);
    const cbd = await expectJson<{ id: string }>(
      await t.request(
        "/v1/credential-bindings",
        jsonInit(
          "POST",
          {
            user: "user-b",
            provider: "github",
            secret: { key: "b/token" },
            grants: [{ tool_pattern: "gh.*" }],
            tenant_id: "tenant-b",
          },
          admin,
        ),
      ),
      201,
    );
    foreign.set("/v1/credential-bindings/:id", cbd.id);
    foreign.set("/v1/credential-bindings/:id/grants", cbd.id);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("finds the control-plane routes and declares the least role of each", () => {
    const routes = protectedRoutes(t);
    expect(routes.length).toBeGreaterThanOrEqual(PROTECTED_ROUTES.length);
    const undeclared = routes
      .filter((r) => declaredNeed(r) === undefined)
      .map((r) => `${r.method} ${r.pattern}`);
    expect(undeclared, "register routes through the route table (src/http/routes.ts) only").toEqual([]);
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const stale = PROTECTED_ROUTES.filter((p) => !registered.has(`${p.method} ${p.path}`));
    expect(stale, "the route table lists routes the app does not register").toEqual([]);
    const publicRegistered = new Set(registeredRoutes(t).map((r) => `${r.method} ${r.pattern}`));
    expect([...PUBLIC_ROUTES].filter((r) => !publicRegistered.has(r))).toEqual([]);
  });

  it("makes only design-sanctioned routes public", () => {
    const extra = [...PUBLIC_ROUTES].filter((r) => !DESIGN_PUBLIC.has(r));
    expect(extra, "a route was made public; DESIGN §7 does not allow it").toEqual([]);
  });

  const CASES: Array<{ name: string; headers: (t: TestGateway) => Record<string, string>; reason?: string }> =
    [
      { name: "no token", headers: () => ({}), reason: "missing_token" },
      { name: "empty bearer", headers: () => ({ authorization: "Bearer " }), reason: "missing_token" },
      {
        name: "other scheme",
        headers: (g) => ({
          authorization: `Basic ${Buffer.from(`admin:${g.adminToken()}`).toString("base64")}`,
        }),
        reason: "missing_token",
      },
      { name: "garbage token", headers: () => bearer("garbage"), reason: "bad_token" },
      { name: "three garbage segments", headers: () => bearer("a.b.c") },
      {
        name: "expired operator token",
        headers: (g) =>
          bearer(
            signAsGateway(g, operatorClaims(g, { iat: nowSeconds(g) - 7200, exp: nowSeconds(g) - 3600 })),
          ),
        reason: "token_expired",
      },
      {
        name: "operator token not valid yet",
        headers: (g) =>
          bearer(
            signAsGateway(g, operatorClaims(g, { iat: nowSeconds(g) + 3600, exp: nowSeconds(g) + 7200 })),
          ),
      },
      {
        name: "operator token living over 24 h",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { exp: nowSeconds(g) + 86_401 }))),
      },
      {
        // Without iat the lifetime cannot be measured from it; the 24 h cap must still hold.
        name: "operator token without iat expiring in 30 days",
        headers: (g) =>
          bearer(signAsGateway(g, operatorClaims(g, { iat: undefined, exp: nowSeconds(g) + 30 * 86_400 }))),
      },
      {
        // A tenant claim the gateway cannot read must not fall back to the default tenant.
        name: "tenant claim that is a number",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { role: "viewer", tenant_id: 42 }))),
      },
      {
        name: "tenant claim that is a list",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { role: "viewer", tenant_id: ["acme"] }))),
      },
      { name: "agent security token from a session", headers: () => bearer(agentToken) },
      {
        name: "unknown signing key claiming the gateway's kid",
        headers: (g) => bearer(signWithStrangerKey(g, g.gw.services.tokens.signingKey.kid)),
      },
      {
        name: "unknown signing key and kid",
        headers: (g) => bearer(signWithStrangerKey(g, "kid-nobody-knows")),
      },
      {
        name: "wrong audience",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { aud: AGENT_AUDIENCE }))),
        reason: "bad_token",
      },
      {
        name: "no audience",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { aud: undefined }))),
      },
      {
        name: "gateway-signed token whose typ is not operator+jwt",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g), { typ: "JWT" })),
      },
      {
        name: "unknown issuer",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { iss: "https://evil.example" }))),
      },
      {
        name: "no role claim",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { role: undefined }))),
        reason: "missing_claim:role",
      },
      {
        name: "unknown role",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { role: "root" }))),
        reason: "missing_claim:role",
      },
      {
        name: "non-admin with tenant *",
        headers: (g) => bearer(signAsGateway(g, operatorClaims(g, { role: "operator", tenant_id: "*" }))),
      },
      { name: "alg none", headers: (g) => bearer(unsigned(operatorClaims(g))) },
      {
        name: "valid token with a tampered role",
        headers: (g) => bearer(tamper(g.operatorToken("viewer"), { role: "admin" })),
      },
    ];

  for (const c of CASES) {
    it(`401 on every protected route: ${c.name}`, async () => {
      for (const route of protectedRoutes(t)) {
        const res = await send(t, route, c.headers(t));
        const err = await expectError(res, 401, c.reason);
        expect(err.error.code, `${route.method} ${route.path}`).toBe(1004);
      }
    });
  }

  it("treats the Bearer scheme name case-insensitively (RFC 9110 §11.1)", async () => {
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const res = await t.request("/v1/events", {
        headers: { authorization: `${scheme} ${t.adminToken()}` },
      });
      expect(res.status, scheme).toBe(200);
    }
  });

  it("a valid admin token passes authentication on every protected route (the matrix has teeth)", async () => {
    for (const route of protectedRoutes(t)) {
      const res = await send(t, route, bearer(t.adminToken()));
      expect([401, 403], `${route.method} ${route.path} answered ${res.status}`).not.toContain(res.status);
    }
  });

  for (const role of ROLES) {
    it(`role ${role}: 403 exactly where its role lacks the declared permission`, async () => {
      const token = t.operatorToken(role, "default");
      for (const route of protectedRoutes(t)) {
        const need = declaredNeed(route);
        expect(need, `${route.method} ${route.pattern} has no declared role`).toBeDefined();
        const res = await send(t, route, bearer(token));
        if (need && satisfies(role, need)) {
          expect([401, 403], `${role} on ${route.method} ${route.path}`).not.toContain(res.status);
        } else {
          await expectError(res, 403, "wrong_role");
        }
      }
    });
  }

  it("role orchestrator: 403 wrong_role on every control-plane route (it may only invoke over gRPC)", async () => {
    const token = t.operatorToken("orchestrator", "default");
    for (const route of protectedRoutes(t)) {
      const res = await send(t, route, bearer(token));
      await expectError(res, 403, "wrong_role");
    }
  });

  it("every mutating route needs more than viewer", () => {
    for (const route of protectedRoutes(t)) {
      if (route.method !== "GET" && !READ_ONLY_POSTS.has(`${route.method} ${route.pattern}`))
        expect(declaredNeed(route), `${route.method} ${route.pattern}`).not.toBe("viewer");
    }
  });

  it("security-context writes need operator or admin; approval decisions need approver or admin", () => {
    const who = (need: OperatorRole | undefined) =>
      ROLES.filter((r) => need !== undefined && satisfies(r, need));
    for (const route of protectedRoutes(t)) {
      const need = declaredNeed(route);
      const key = `${route.method} ${route.pattern}`;
      if (
        route.pattern.startsWith("/v1/security-contexts") &&
        !READ_ONLY_POSTS.has(key) &&
        route.method !== "GET"
      ) {
        expect(who(need), key).toEqual(["operator", "admin"]);
      }
      // DESIGN §7: operators write specs and workflows and use the explorer.
      if (/^\/v1\/(specs|workflows|explorer)/.test(route.pattern) && route.method !== "GET") {
        expect(who(need), key).toEqual(["operator", "admin"]);
      }
      // Secret values are written and deleted by admins only.
      if (route.pattern.startsWith("/v1/secrets") && route.method !== "GET")
        expect(who(need), key).toEqual(["admin"]);
      if (/^\/v1\/approvals\/:id\/(approve|deny)$/.test(route.pattern))
        expect(who(need), key).toEqual(["approver", "admin"]);
      if (route.method === "GET" || READ_ONLY_POSTS.has(key)) expect(who(need), key).toEqual(ROLES);
    }
  });

  it("a denied role changes nothing", async () => {
    const viewer = t.operatorToken("viewer");
    const approver = t.operatorToken("approver");
    await expectError(
      await t.request("/v1/seal/sessions/exec-tenant-b", { method: "DELETE", headers: bearer(viewer) }),
      403,
      "wrong_role",
    );
    const body = {
      execution_id: "exec-denied",
      sub: "x",
      security_context_name: "default",
      public_key_b64: generateKeyPair().publicKeyB64,
    };
    await expectError(
      await t.request("/v1/seal/sessions", jsonInit("POST", body, approver)),
      403,
      "wrong_role",
    );
    await expectError(
      await t.request("/v1/seal/sessions/exec-denied", { headers: bearer(t.adminToken()) }),
      404,
      "not_found",
    );
    const s = await expectJson<{ session_status: string }>(
      await t.request("/v1/seal/sessions/exec-tenant-b", { headers: bearer(t.adminToken()) }),
      200,
    );
    expect(s.session_status).toBe("Active");
  });

  it("another tenant's objects are 404 on every parametric route, never 200, and stay intact", async () => {
    const tokenA = t.operatorToken("admin", "tenant-a");
    for (const route of protectedRoutes(t)) {
      if (route.pattern === route.path) continue;
      const id = foreign.get(route.pattern);
      expect(id, `add a tenant-b fixture for ${route.pattern} to this test`).toBeDefined();
      if (UPSERTS_BY_NAME.has(`${route.method} ${route.pattern}`)) continue;
      const body = VALID_BODIES[`${route.method} ${route.pattern}`]?.(id ?? DUMMY_ID);
      const res = await send(
        t,
        route,
        bearer(tokenA),
        concrete(route.pattern, id ?? DUMMY_ID),
        body === undefined ? "{}" : JSON.stringify(body),
      );
      await expectError(res, 404, "not_found");
    }
    const admin = t.adminToken();
    const s = await expectJson<{ session_status: string }>(
      await t.request("/v1/seal/sessions/exec-tenant-b", { headers: bearer(admin) }),
      200,
    );
    expect(s.session_status).toBe("Active");
    const k = await expectJson<{ status: string }>(
      await t.request(`/v1/agent-keys/${foreign.get("/v1/agent-keys/:id")}`, { headers: bearer(admin) }),
      200,
    );
    expect(k.status).toBe("active");
    const c = await expectJson<{ capabilities: unknown[] }>(
      await t.request("/v1/security-contexts/ctx-b?tenant_id=tenant-b", { headers: bearer(admin) }),
      200,
    );
    expect(c.capabilities).toEqual([{ tool_pattern: "demo.*", approval: "required" }]);
    const a = await expectJson<{ status: string }>(
      await t.request(`/v1/approvals/${foreign.get("/v1/approvals/:id")}`, { headers: bearer(admin) }),
      200,
    );
    expect(a.status).toBe("pending");
    // Writing the same secret name from tenant-a writes tenant-a's secret; tenant-b's is intact.
    const secretB = await expectJson<{ version: number; fingerprint: string }>(
      await t.request("/v1/secrets/b/token?tenant_id=tenant-b", { headers: bearer(admin) }),
      200,
    );
    const written = await expectJson<{ tenant_id: string; version: number }>(
      await t.request("/v1/secrets/b/token", jsonInit("PUT", { value: "tenant-a-value" }, tokenA)),
      201,
    );
    expect(written).toMatchObject({ tenant_id: "tenant-a", version: 1 });
    expect(
      await expectJson(
        await t.request("/v1/secrets/b/token?tenant_id=tenant-b", { headers: bearer(admin) }),
        200,
      ),
    ).toEqual(secretB);
    expect(secretB.version).toBe(1);
    const spec = await expectJson<{ name: string }>(
      await t.request(`/v1/specs/${foreign.get("/v1/specs/:id")}`, { headers: bearer(admin) }),
      200,
    );
    expect(spec.name).toBe("spec-b");
    const wf = await expectJson<{ name: string; description: string }>(
      await t.request(`/v1/workflows/${foreign.get("/v1/workflows/:id")}`, { headers: bearer(admin) }),
      200,
    );
    expect(wf).toMatchObject({ name: "matrix.things", description: "tenant-b workflow" });
    const clt = await expectJson<{ name: string; description: string }>(
      await t.request(`/v1/cli-tools/${foreign.get("/v1/cli-tools/:id")}`, { headers: bearer(admin) }),
      200,
    );
    expect(clt).toMatchObject({ name: "matrix.jq", description: "tenant-b cli tool" });
    const cbd = await expectJson<{ user: string; tenant_id: string }>(
      await t.request(`/v1/credential-bindings/${foreign.get("/v1/credential-bindings/:id")}`, {
        headers: bearer(admin),
      }),
      200,
    );
    expect(cbd).toMatchObject({
      user: "user-b",
      tenant_id: "tenant-b",
      grants: [{ tool_pattern: "gh.*" }],
    });
  });

  it("the same object is reachable from its own tenant (the 404 above is tenancy, not a bad id)", async () => {
    const tokenB = t.operatorToken("viewer", "tenant-b");
    const gets = new Set(
      protectedRoutes(t)
        .filter((r) => r.method === "GET")
        .map((r) => r.pattern),
    );
    for (const [pattern, id] of foreign) {
      if (gets.has(pattern))
        await expectJson(await t.request(concrete(pattern, id), { headers: bearer(tokenB) }), 200);
    }
    await expectJson(
      await t.request(
        "/v1/security-contexts/ctx-b/evaluate",
        jsonInit("POST", { tool: "demo.tool" }, tokenB),
      ),
      200,
    );
    await expectJson(
      await t.request(
        "/v1/security-contexts/ctx-b/what-if",
        jsonInit("POST", { candidate: { name: "ctx-b", capabilities: [] } }, tokenB),
      ),
      200,
    );
  });
});

describe.each(BACKENDS)("configurable operator claims (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend, {
      SEAL_GATEWAY_OPERATOR_ROLE_CLAIM: "roles",
      SEAL_GATEWAY_OPERATOR_TENANT_CLAIM: "org",
    });
  });
  afterAll(async () => {
    await t?.close();
  });
  const token = (extra: Record<string, unknown>) =>
    signAsGateway(t, operatorClaims(t, { role: undefined, tenant_id: undefined, ...extra }));

  it("reads the role from the configured claim, as a list or a string", async () => {
    await expectJson(
      await t.request("/v1/events", { headers: bearer(token({ roles: ["admin"], org: "*" })) }),
      200,
    );
    await expectJson(await t.request("/v1/events", { headers: bearer(token({ roles: "viewer" })) }), 200);
    await expectJson(await t.request("/v1/events", { headers: bearer(t.operatorToken("viewer")) }), 200);
    const strongest = token({ roles: ["viewer", "operator"], org: "acme" });
    const created = await expectJson<{ tenant_id: string }>(
      await t.request(
        "/v1/seal/sessions",
        jsonInit(
          "POST",
          { sub: "a", security_context_name: "default", public_key_b64: generateKeyPair().publicKeyB64 },
          strongest,
        ),
      ),
      201,
    );
    expect(created.tenant_id).toBe("acme");
  });

  it("ignores the default claim names once others are configured", async () => {
    await expectError(
      await t.request("/v1/events", { headers: bearer(token({ role: "admin" })) }),
      401,
      "missing_claim:role",
    );
    await expectError(
      await t.request("/v1/events", { headers: bearer(token({ roles: ["ADMIN"] })) }),
      401,
      "missing_claim:role",
    );
    await expectError(
      await t.request("/v1/events", { headers: bearer(token({ roles: [["admin"]] })) }),
      401,
      "missing_claim:role",
    );
    const viewer = token({ roles: ["viewer"] });
    await expectError(await t.request("/v1/seal/sessions", jsonInit("POST", {}, viewer)), 403, "wrong_role");
    // tenant_id is no longer the tenant claim: this viewer is in "default", not "*".
    const scoped = token({ roles: ["admin"], tenant_id: "*" });
    await expectError(
      await t.request("/v1/events?tenant_id=other", { headers: bearer(scoped) }),
      403,
      "wrong_tenant",
    );
  });
});

function unsigned(claims: Record<string, unknown>): string {
  const h = Buffer.from(JSON.stringify({ alg: "none", typ: "operator+jwt" })).toString("base64url");
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
}

function tamper(token: string, extra: Record<string, unknown>): string {
  const [h, p, s] = token.split(".");
  const claims = { ...JSON.parse(Buffer.from(p ?? "", "base64url").toString("utf8")), ...extra };
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
}
