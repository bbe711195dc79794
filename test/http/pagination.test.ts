/**
 * Every listing of the route table pages the same way (docs/api.md "Pagination"): `limit` and
 * `cursor` in, the rows and `next_cursor` out, refused cursors answer 400 `bad_cursor`, and a
 * cursor never reaches past the caller's tenant. The route table is read, not a list written
 * here, so a new listing that forgets pagination fails the first test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { openApiDocument } from "../../src/http/openapi.js";
import { type ControlRoute, controlRoutesOf, ROUTES } from "../../src/http/routes.js";
import {
  agentKey,
  apiSpec,
  approval,
  cliTool,
  credentialBinding,
  newEvent,
  secretWrite,
  securityContext,
  session,
  uid,
  workflow,
} from "../store/fixtures.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearer, expectError, expectJson } from "./support.js";

/**
 * Control GETs without a path parameter that are not listings: one state, not rows — and the
 * signing keys' JWKS, one document a verifier takes whole (a handful of keys, one per rotation).
 */
const NOT_LISTINGS = new Set(["GET /v1/audit/chain", "GET /v1/audit/keys"]);

const LISTINGS = controlRoutesOf().filter((r) => r.http.listing !== undefined);

type Page = Record<string, unknown> & { next_cursor: string | null };

function rowsOf(route: ControlRoute, page: Page): Record<string, unknown>[] {
  const rows = page[route.http.listing as string];
  expect(Array.isArray(rows), `${route.path} answers ${route.http.listing}`).toBe(true);
  return rows as Record<string, unknown>[];
}

/** What identifies a row in each listing's answer. */
function idOf(row: Record<string, unknown>): string {
  return String(row.id ?? row.execution_id ?? `${String(row.tenant_id)}/${String(row.name ?? row.key)}`);
}

describe("the route table's listings", () => {
  it("every control GET without a path parameter is a listing, or is named here as not one", () => {
    for (const r of controlRoutesOf()) {
      if (r.method !== "GET" || r.path.includes(":") || r.http.sse || r.http.text) continue;
      const name = `${r.method} ${r.path}`;
      if (NOT_LISTINGS.has(name)) continue;
      expect(r.http.listing, `${name} must page (http.listing)`).toBeTypeOf("string");
    }
    expect(LISTINGS.map((r) => r.path).sort()).toEqual(
      [
        "/v1/agent-keys",
        "/v1/approvals",
        "/v1/cli-tools",
        "/v1/credential-bindings",
        "/v1/events",
        "/v1/seal/sessions",
        "/v1/secrets",
        "/v1/security-contexts",
        "/v1/specs",
        "/v1/workflows",
      ].sort(),
    );
  });

  it("every listing's schema takes limit and cursor", () => {
    for (const r of LISTINGS) {
      const shape = (r.input as z.ZodObject | undefined)?.shape ?? {};
      expect(Object.keys(shape), r.path).toEqual(expect.arrayContaining(["limit", "cursor"]));
      expect(r.http.query, r.path).toBe(true);
    }
  });

  it("documents limit, cursor and next_cursor for every listing in /openapi.json", () => {
    const doc = openApiDocument(ROUTES, "test") as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    for (const r of LISTINGS) {
      const op = doc.paths[r.path]?.get as {
        parameters: { name: string; in: string; schema: Record<string, unknown> }[];
        responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }>;
      };
      const query = op.parameters.filter((p) => p.in === "query");
      const limit = query.find((p) => p.name === "limit");
      expect(limit?.schema, r.path).toMatchObject({ minimum: 1, maximum: 1000, default: 100 });
      expect(
        query.map((p) => p.name),
        r.path,
      ).toContain("cursor");
      const answer = op.responses["200"]?.content["application/json"]?.schema as {
        required: string[];
        properties: Record<string, unknown>;
      };
      expect(answer.required, r.path).toEqual([r.http.listing, "next_cursor"]);
      expect(answer.properties.next_cursor, r.path).toMatchObject({ type: ["string", "null"] });
    }
  });
});

describe.each(BACKENDS)("pagination of every listing (%s)", (backend) => {
  let t: TestGateway;
  let viewerA: string;
  let viewerB: string;
  const get = (path: string, token = viewerA) => t.request(path, { headers: bearer(token) });
  const withQuery = (path: string, q: string) => `${path}${path.includes("?") ? "&" : "?"}${q}`;

  /** Three rows of every listing in tenant pg-a, one in pg-b. */
  async function seed(tenantId: string, n: number) {
    const store = t.gw.services.store;
    const spec = apiSpec({ tenantId, name: uid("base") });
    await store.insertSpec(spec);
    for (let i = 0; i < n; i++) {
      await store.insertSession(session({ tenantId, createdAt: t.clock.nowMs() + i }));
      await store.insertAgentKey(agentKey({ tenantId }));
      await store.insertApproval(approval({ tenantId }));
      const name = uid(`c${i}`).replace("_", "-");
      const document = JSON.stringify({ name, capabilities: [{ tool_pattern: "wf:*" }] });
      await store.insertSecurityContext(securityContext({ tenantId, name, document }));
      await store.insertSpec(apiSpec({ tenantId, name: uid(`s${i}`) }));
      await store.insertWorkflow(workflow(spec.id, { tenantId, name: uid(`w${i}`) }));
      await store.insertCliTool(cliTool({ tenantId, name: uid(`t${i}`).replace("_", "-") }));
      await store.putSecret(secretWrite({ tenantId, key: `k/${uid(`x${i}`)}` }), t.clock.nowMs());
      await store.appendEvent(newEvent({ tenantId }));
      await store.insertCredentialBinding(credentialBinding({ tenantId, createdAt: t.clock.nowMs() + i }));
    }
  }

  async function walk(route: ControlRoute, limit: number, token = viewerA): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    // Events grow with every refused request of this file (ControlRequestRejected): room for them.
    for (let n = 0; n < 5000; n++) {
      const q: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await expectJson<Page>(await get(withQuery(route.path, q), token), 200);
      const rows = rowsOf(route, page);
      expect(rows.length).toBeLessThanOrEqual(limit);
      ids.push(...rows.map(idOf));
      if (page.next_cursor === null) return ids;
      expect(typeof page.next_cursor).toBe("string");
      expect(rows.length, "a page with a next_cursor is full").toBe(limit);
      cursor = page.next_cursor;
    }
    throw new Error("paging did not end");
  }

  /** A real cursor of the listing (its first page of one row). */
  async function cursorOf(route: ControlRoute): Promise<string> {
    const page = await expectJson<Page>(await get(withQuery(route.path, "limit=1")), 200);
    expect(typeof page.next_cursor, route.path).toBe("string");
    return page.next_cursor as string;
  }

  beforeAll(async () => {
    t = await startTestGateway(backend);
    viewerA = t.operatorToken("viewer", "pg-a");
    viewerB = t.operatorToken("viewer", "pg-b");
    await seed("pg-a", 3);
    await seed("pg-b", 1);
  });
  afterAll(async () => {
    await t?.close();
  });

  for (const route of LISTINGS) {
    describe(route.path, () => {
      it("pages through every row once, in the listing's order, and ends with next_cursor null", async () => {
        const whole = await expectJson<Page>(await get(withQuery(route.path, "limit=1000")), 200);
        expect(whole.next_cursor).toBeNull();
        const expected = rowsOf(route, whole).map(idOf);
        expect(expected.length).toBeGreaterThanOrEqual(3);
        for (const limit of [1, 2, expected.length]) {
          const ids = await walk(route, limit);
          expect(new Set(ids).size, `no duplicates at limit=${limit}`).toBe(ids.length);
          // Events of this file's own requests may join the newest end; the rows that existed
          // are all there, once, in order.
          expect(ids.filter((id) => expected.includes(id))).toEqual(expected);
        }
        const dflt = await expectJson<Page>(await get(route.path), 200);
        expect(rowsOf(route, dflt).length).toBeLessThanOrEqual(100);
        expect(dflt).toHaveProperty("next_cursor");
      });

      it("keeps a cursor inside the caller's tenant", async () => {
        const cursor = await cursorOf(route);
        const res = await get(
          withQuery(route.path, `limit=1000&cursor=${encodeURIComponent(cursor)}`),
          viewerB,
        );
        const rows = rowsOf(route, await expectJson<Page>(res, 200));
        expect(rows.every((r) => r.tenant_id === "pg-b")).toBe(true);
        const mine = rowsOf(
          route,
          await expectJson<Page>(await get(withQuery(route.path, "limit=1000")), 200),
        );
        for (const r of rows) expect(mine.map(idOf)).not.toContain(idOf(r));
      });

      it("refuses a cursor it did not mint with 400 bad_cursor", async () => {
        const real = await cursorOf(route);
        const text = Buffer.from(real, "base64url").toString("utf8");
        const kind = text.slice(0, text.indexOf(":"));
        const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url");
        const other = LISTINGS.find((r) => r !== route) as ControlRoute;
        const bad = [
          "!!!",
          "a b",
          b64("nonsense"),
          b64(`${kind}:`),
          b64(`${kind}:{"a":1}`),
          b64(`${kind}:[1,2,3]`),
          b64(`${kind}:"x"`),
          b64(`${kind}:null`),
          b64(`${kind}:[-1,"x"]`),
          b64(`${kind}:["", ""]`),
          b64(`${kind}:0`),
          b64(`${kind}:-5`),
          b64(`${kind}:1.5`),
          b64(`${kind}:9007199254740993`),
          b64(`other:${text.slice(kind.length + 1)}`),
          `${real}=`,
          `${real}A`,
          "A".repeat(1025),
          await cursorOf(other),
        ];
        for (const cursor of bad) {
          const res = await get(withQuery(route.path, `cursor=${encodeURIComponent(cursor)}`));
          await expectError(res, 400, "bad_cursor");
        }
      });

      it("takes limit 1 to 1000 and refuses anything else with invalid_query on limit", async () => {
        await expectJson<Page>(await get(withQuery(route.path, "limit=1000")), 200);
        for (const limit of ["0", "-1", "1001", "1.5", "abc", "", "1e9"]) {
          const err = await expectError(
            await get(withQuery(route.path, `limit=${limit}`)),
            400,
            "invalid_query",
          );
          expect(
            err.error.details.problems?.map((p) => p.path),
            `limit=${limit}`,
          ).toEqual(["limit"]);
        }
      });
    });
  }

  it("rows written between pages neither repeat nor hide the rows that existed", async () => {
    const route = LISTINGS.find((r) => r.path === "/v1/agent-keys") as ControlRoute;
    const store = t.gw.services.store;
    for (let i = 0; i < 7; i++) await store.insertAgentKey(agentKey({ tenantId: "pg-a" }));
    const before = rowsOf(
      route,
      await expectJson<Page>(await get(withQuery(route.path, "limit=1000")), 200),
    ).map(idOf);
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 100; n++) {
      const q: string = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await expectJson<Page>(await get(withQuery(route.path, q)), 200);
      ids.push(...rowsOf(route, page).map(idOf));
      if (page.next_cursor === null) break;
      cursor = page.next_cursor;
      // Same creation time (the test clock stands still): the random id decides where they sort.
      for (let k = 0; k < 2; k++) await store.insertAgentKey(agentKey({ tenantId: "pg-a" }));
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => before.includes(id))).toEqual(before);
  });
});
