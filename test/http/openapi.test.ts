/**
 * GET /openapi.json (DESIGN §7): generated from the route table and the verbs' zod schemas.
 * Every route the app serves is in the document and every operation in the document is a
 * route the app serves; every operation is described; the schemas are the ones that validate
 * (a bound in the document is the bound a request is refused past).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../../src/engines/openapi/load-spec.js";
import { openApiPath } from "../../src/http/openapi.js";
import { ROUTES } from "../../src/http/routes.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
};

describe("GET /openapi.json", () => {
  let t: TestGateway;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestGateway("sqlite");
    const res = await t.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as Doc;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is OpenAPI 3.1 with the package's version, served without a token", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("holds every route the app serves, and nothing it does not", () => {
    const served = new Set(
      t.gw.app.routes
        // The console's static files: GETs of non-API paths only (test/http/console-static.test.ts).
        .filter((r) => !(r.method === "ALL" && r.path === "/*"))
        .map((r) => `${r.method} ${openApiPath(r.path).path}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented.size).toBe(ROUTES.length);
  });

  it("describes every operation, with its security and, for control routes, the least role", () => {
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(String(op.description ?? "").length, where).toBeGreaterThan(3);
        expect(Array.isArray(op.security), where).toBe(true);
        expect(op.responses, where).toHaveProperty("default");
        const route = ROUTES.find(
          (r) => r.method === method.toUpperCase() && openApiPath(r.path).path === path,
        );
        if (route && !route.public) {
          expect(op["x-seal-role"], where).toBe(route.role);
          expect(op.security, where).toEqual([{ operatorToken: [] }]);
        } else expect(op.security, where).toEqual([]);
        const params = (op.parameters as Array<{ name: string; in: string }> | undefined) ?? [];
        for (const name of path.match(/\{([^}]+)\}/g) ?? [])
          expect(
            params.some((p) => p.in === "path" && `{${p.name}}` === name),
            `${where} path parameter ${name}`,
          ).toBe(true);
      }
  });

  it("gives every control route that reads a body or a query a schema from the table", () => {
    for (const route of ROUTES) {
      if (route.public) continue;
      const readsInput = route.http.body !== undefined || route.http.query === true;
      if (readsInput) expect(route.input ?? route.document, `${route.method} ${route.path}`).toBeDefined();
    }
  });

  it("loads as an API description (the gateway's own OpenAPI loader)", () => {
    const loaded = loadSpec({ inline_json: JSON.stringify(doc) });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems).slice(0, 2000));
    expect(loaded.ok).toBe(true);
  });

  it("documents the bound that validation enforces: the session's ttl and an event listing's limit", async () => {
    const events = doc.paths["/v1/events"]?.get as {
      parameters: Array<{ name: string; schema: { maximum?: number } }>;
    };
    const limit = events.parameters.find((p) => p.name === "limit");
    expect(limit?.schema.maximum).toBe(1000);
    const admin = t.adminToken();
    const over = await t.request(`/v1/events?limit=${(limit?.schema.maximum ?? 0) + 1}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(over.status).toBe(400);
    const at = await t.request(`/v1/events?limit=${limit?.schema.maximum}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(at.status).toBe(200);

    const create = doc.paths["/v1/seal/sessions"]?.post as {
      requestBody: {
        content: {
          "application/json": {
            schema: { properties: Record<string, unknown>; additionalProperties?: unknown };
          };
        };
      };
    };
    const body = create.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["sub", "security_context_name", "ttl_seconds"]),
    );
    // A strict schema: an unknown field is refused by the verb and closed in the document.
    expect(body.additionalProperties).toBe(false);
    const unknown = await t.request("/v1/seal/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ sub: "a", security_context_name: "x", not_a_field: 1 }),
    });
    expect(unknown.status).toBe(400);
  });
});
