/**
 * A query member named `__proto__` (or `constructor`) is an unknown member like any other: every
 * route that reads its query refuses it, and none lets it vanish through the prototype setter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRoutesOf, ROUTES } from "../../src/http/routes.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { expectError } from "./support.js";

const QUERY_ROUTES = controlRoutesOf(ROUTES).filter(
  (r) => r.method === "GET" && r.http.query && !r.path.includes(":") && !r.path.endsWith("/stream"),
);

describe("hostile query member names", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway("sqlite");
  });
  afterAll(async () => {
    await t?.close();
  });

  it("covers the listings", () => {
    expect(QUERY_ROUTES.map((r) => r.path)).toEqual(
      expect.arrayContaining(["/v1/events", "/v1/audit/chain"]),
    );
  });

  for (const name of ["__proto__", "constructor"]) {
    it(`every GET with a query refuses a member named ${name}`, async () => {
      for (const route of QUERY_ROUTES) {
        const res = await t.request(`${route.path}?${name}=1`, {
          headers: { authorization: `Bearer ${t.adminToken()}` },
        });
        const err = await expectError(res, 400, "invalid_query");
        expect(JSON.stringify(err), route.path).toContain(name);
      }
    });
  }
});
