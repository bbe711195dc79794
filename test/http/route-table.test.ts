/**
 * The route table is the one list of routes: the hono app and the auth matrix derive from it.
 * These checks hold it to that, and prove the verbs authorize themselves — called directly, with
 * no HTTP layer in front, a caller below the declared role is refused by the verb.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { satisfies } from "../../src/auth/roles.js";
import { OPERATOR_ROLES } from "../../src/auth/tokens.js";
import { GatewayError } from "../../src/errors.js";
import { controlRoutesOf, isPublic, ROUTES } from "../../src/http/routes.js";
import type { Actor, ServiceContext } from "../../src/services/context.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

describe("the route table", () => {
  it("lists each method and path once, every entry described", () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of ROUTES) expect(r.description.length, `${r.method} ${r.path}`).toBeGreaterThan(3);
  });

  it("gives every control route a verb and a least role; public routes are few and named", () => {
    for (const r of controlRoutesOf()) {
      expect(typeof r.verb, `${r.method} ${r.path}`).toBe("function");
      expect(OPERATOR_ROLES).toContain(r.role);
    }
    expect(ROUTES.filter(isPublic).map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v1/invoke",
      "POST /v1/seal/invoke",
      "POST /v1/seal/attest",
      "GET /v1/tools",
      "GET /v1/seal/approvals/:id",
      "POST /mcp",
      "GET /mcp",
      "DELETE /mcp",
      "GET /health",
      "GET /openapi.json",
      "GET /ready",
    ]);
  });

  it("registers exactly the table on the app", async () => {
    const t = await startTestGateway("sqlite");
    try {
      const registered = new Set(t.gw.app.routes.map((r) => `${r.method} ${r.path}`));
      // The web console's static files are the one handler outside the table: GETs of non-API
      // paths only (test/http/console-static.test.ts holds that it never answers an API path).
      expect(registered.delete("ALL /*")).toBe(true);
      expect([...registered].sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    } finally {
      await t.close();
    }
  });
});

describe("verbs authorize themselves (no HTTP in front)", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway("sqlite");
  });
  afterAll(async () => {
    await t?.close();
  });
  const ctx = (actor: Actor): ServiceContext => ({ actor, requestId: "req_test", deps: t.gw.services });

  async function refusal(p: Promise<unknown>): Promise<GatewayError | null> {
    try {
      await p;
      return null;
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
  }

  it("every verb refuses a role below its route's, and every agent, before reading its input", async () => {
    for (const route of controlRoutesOf()) {
      const name = `${route.method} ${route.path}`;
      for (const role of OPERATOR_ROLES) {
        if (satisfies(role, route.role)) continue;
        const err = await refusal(
          route.verb({
            ctx: ctx({ kind: "operator", sub: "t", role, tenant: "default" }),
            input: "not an input",
          }),
        );
        expect(err?.details.reason, `${role} on ${name}`).toBe("wrong_role");
      }
      const agent: Actor = {
        kind: "agent",
        sub: "a",
        tenant: "default",
        securityContext: "default",
        executionId: "ses_x",
      };
      expect((await refusal(route.verb({ ctx: ctx(agent), input: {} })))?.details.reason, name).toBe(
        "wrong_role",
      );
    }
  });

  it("a caller with the role gets past the role check to its own input parsing", async () => {
    const err = await refusal(
      controlRoutesOf()
        .find((r) => r.method === "POST" && r.path === "/v1/seal/sessions")
        ?.verb({
          ctx: ctx({ kind: "cli", sub: "cli", role: "operator", tenant: "default" }),
          input: { sub: 1 },
        }) ?? Promise.resolve(),
    );
    expect(err?.details.reason).toBe("invalid_body");
  });
});
