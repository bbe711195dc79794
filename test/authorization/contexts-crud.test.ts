/**
 * /v1/security-contexts: create, read, update, delete; validation that lists every problem
 * with its path; audit rows for every change; roles; tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearer, events, sessionAgent } from "./support.js";

interface ContextView {
  name: string;
  description?: string;
  tenant_id: string;
  capabilities: unknown[];
  created_at: string;
  updated_at: string;
  [k: string]: unknown;
}

const DOC = {
  name: "crud-basic",
  description: "crud test",
  deny_list: ["fs.delete", "shell.*"],
  capabilities: [
    {
      tool_pattern: "fs.*",
      path_allowlist: ["/workspace/**"],
      rate_limit: { calls: 20, per_seconds: 60 },
      max_response_size: 1048576,
      approval: "none",
    },
  ],
  visible_tools: ["fs.*"],
  revoke_after_denials: { count: 10, per_seconds: 60 },
};

describe.each(BACKENDS)("security contexts CRUD (%s)", (backend) => {
  let t: TestGateway;
  let admin: string;
  const post = (body: unknown, token = admin) =>
    t.request("/v1/security-contexts", jsonInit("POST", body, token));
  const put = (name: string, body: unknown, token = admin) =>
    t.request(`/v1/security-contexts/${name}`, jsonInit("PUT", body, token));
  const get = (path: string, token = admin) => t.request(path, { headers: bearer(token) });
  const del = (path: string, token = admin) => t.request(path, { method: "DELETE", headers: bearer(token) });

  beforeAll(async () => {
    t = await startTestGateway(backend);
    admin = t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("creates (201) and returns the document exactly as sent, with tenant and times", async () => {
    const created = await expectJson<ContextView>(await post(DOC), 201);
    const { tenant_id, created_at, updated_at, ...doc } = created;
    expect(doc).toEqual(DOC);
    expect(tenant_id).toBe("default");
    expect(created_at).toBe(new Date(t.clock.nowMs()).toISOString());
    expect(updated_at).toBe(created_at);
    const got = await expectJson<ContextView>(await get("/v1/security-contexts/crud-basic"), 200);
    expect(got).toEqual(created);
  });

  it("refuses a duplicate name with 409 and keeps the original", async () => {
    const err = await expectError(await post({ ...DOC, description: "second" }), 409, "exists");
    expect(err.error.message).toMatch(/use PUT/);
    const got = await expectJson<ContextView>(await get("/v1/security-contexts/crud-basic"), 200);
    expect(got.description).toBe("crud test");
  });

  it("a concurrent create race on one name: exactly one 201", async () => {
    const doc = { name: "crud-race", capabilities: [] };
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => post(doc)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(5);
    // The create and its row commit together: exactly one row, for the create that happened.
    const rows = (await events(t, { type: "ConfigChanged" })).filter((e) => e.payload.name === "crud-race");
    expect(rows.map((e) => e.payload.action)).toEqual(["create"]);
  });

  it("concurrent deletes: one 200, the rest 404, one effective delete in the audit", async () => {
    await expectJson(await post({ name: "crud-del-race", capabilities: [] }), 201);
    const res = await Promise.all(
      Array.from({ length: 5 }, () => del("/v1/security-contexts/crud-del-race")),
    );
    const statuses = res.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 404)).toHaveLength(4);
    const rows = (await events(t, { type: "ConfigChanged" })).filter(
      (e) => e.payload.name === "crud-del-race",
    );
    expect(rows.map((e) => e.payload.action).sort()).toEqual(["create", "delete"]);
  });

  it("lists and gets; an unknown name is 404", async () => {
    await expectJson(await post({ name: "crud-list-a", capabilities: [] }), 201);
    const list = await expectJson<{ security_contexts: ContextView[] }>(
      await get("/v1/security-contexts"),
      200,
    );
    const names = list.security_contexts.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["crud-basic", "crud-list-a"]));
    await expectError(await get("/v1/security-contexts/no-such-context"), 404, "not_found");
  });

  it("PUT replaces the document, keeps created_at, moves updated_at; unknown name 404", async () => {
    await expectJson(await post({ name: "crud-upd", capabilities: [] }), 201);
    const before = await expectJson<ContextView>(await get("/v1/security-contexts/crud-upd"), 200);
    t.clock.advance(5_000);
    const next = { name: "crud-upd", capabilities: [{ tool_pattern: "web.search" }] };
    const updated = await expectJson<ContextView>(await put("crud-upd", next), 200);
    expect(updated.capabilities).toEqual([{ tool_pattern: "web.search" }]);
    expect(updated.created_at).toBe(before.created_at);
    expect(updated.updated_at).toBe(new Date(t.clock.nowMs()).toISOString());
    const got = await expectJson<ContextView>(await get("/v1/security-contexts/crud-upd"), 200);
    expect(got.capabilities).toEqual([{ tool_pattern: "web.search" }]);
    await expectError(
      await put("never-created", { name: "never-created", capabilities: [] }),
      404,
      "not_found",
    );
  });

  it("PUT with a name that differs from the path is 400 and changes nothing", async () => {
    const err = await expectError(
      await put("crud-upd", { name: "other-name", capabilities: [] }),
      400,
      "invalid_body",
    );
    expect(err.error.details.problems).toEqual([{ path: "name", message: expect.stringMatching(/path/) }]);
    const got = await expectJson<ContextView>(await get("/v1/security-contexts/crud-upd"), 200);
    expect(got.capabilities).toEqual([{ tool_pattern: "web.search" }]);
    await expectError(await get("/v1/security-contexts/other-name"), 404, "not_found");
  });

  it("PUT with an invalid document is 400 with its problems and keeps the stored one", async () => {
    const err = await expectError(
      await put("crud-upd", {
        name: "crud-upd",
        capabilities: [{ tool_pattern: "web.*", path_allowlist: ["relative"] }],
      }),
      400,
      "invalid_body",
    );
    expect(err.error.details.problems?.map((p) => p.path)).toEqual(["capabilities[0].path_allowlist[0]"]);
    const got = await expectJson<ContextView>(await get("/v1/security-contexts/crud-upd"), 200);
    expect(got.capabilities).toEqual([{ tool_pattern: "web.search" }]);
  });

  it("DELETE is refused (409) while an Active session uses the context, allowed once revoked", async () => {
    await expectJson(await post({ name: "crud-in-use", capabilities: [] }), 201);
    const agent = await sessionAgent(t, { context: "crud-in-use" });
    const err = await expectError(await del("/v1/security-contexts/crud-in-use"), 409, "in_use");
    expect(err.error.details.sessions).toBe(1);
    await expectJson(await get("/v1/security-contexts/crud-in-use"), 200);
    await expectJson(await del(`/v1/seal/sessions/${agent.executionId}`), 200);
    const ok = await expectJson<{ status: string; name: string }>(
      await del("/v1/security-contexts/crud-in-use"),
      200,
    );
    expect(ok).toMatchObject({ status: "success", name: "crud-in-use", tenant_id: "default" });
    await expectError(await get("/v1/security-contexts/crud-in-use"), 404, "not_found");
    await expectError(await del("/v1/security-contexts/crud-in-use"), 404, "not_found");
  });

  it("DELETE is allowed once the only session using the context has expired", async () => {
    await expectJson(await post({ name: "crud-expiring", capabilities: [] }), 201);
    const res = await t.request(
      "/v1/seal/sessions",
      jsonInit(
        "POST",
        {
          sub: "short",
          security_context_name: "crud-expiring",
          public_key_b64: generateKeyPair().publicKeyB64,
          ttl_seconds: 60,
        },
        admin,
      ),
    );
    expect(res.status).toBe(201);
    await expectError(await del("/v1/security-contexts/crud-expiring"), 409, "in_use");
    t.clock.advance(61_000);
    await expectJson(await del("/v1/security-contexts/crud-expiring"), 200);
  });

  it("a session of another tenant using the same name does not block the delete", async () => {
    await expectJson(await post({ name: "crud-shared-name", capabilities: [] }), 201);
    await expectJson(await post({ name: "crud-shared-name", capabilities: [], tenant_id: "tenant-x" }), 201);
    await sessionAgent(t, { context: "crud-shared-name", tenant: "tenant-x" });
    await expectJson(await del("/v1/security-contexts/crud-shared-name"), 200);
    await expectError(await del("/v1/security-contexts/crud-shared-name?tenant_id=tenant-x"), 409, "in_use");
  });

  it("writes one ConfigChanged row per change, naming actor, action and document", async () => {
    await expectJson(await post({ name: "crud-audited", capabilities: [] }), 201);
    await expectJson(
      await put("crud-audited", { name: "crud-audited", capabilities: [{ tool_pattern: "a.b" }] }),
      200,
    );
    await expectJson(await del("/v1/security-contexts/crud-audited"), 200);
    // Refused changes write nothing.
    await expectError(await post({ name: "crud-audited", capabilities: [], bogus: 1 }), 400, "invalid_body");
    const rows = (await events(t, { type: "ConfigChanged" })).filter(
      (e) => e.payload.name === "crud-audited",
    );
    expect(rows.map((r) => r.payload.action)).toEqual(["create", "update", "delete"]);
    for (const r of rows) {
      expect(r).toMatchObject({
        tenant_id: "default",
        stage: "control",
        payload: { actor: "test-admin", object: "security_context" },
      });
    }
    expect(rows[0]?.payload.document).toEqual({ name: "crud-audited", capabilities: [] });
    expect(rows[1]?.payload.document).toEqual({
      name: "crud-audited",
      capabilities: [{ tool_pattern: "a.b" }],
    });
    expect(rows[2]?.payload.document).toBeUndefined();
  });
});

describe.each(BACKENDS)("security contexts: malformed documents (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function problems(body: unknown): Promise<Array<{ path: string; message: string }>> {
    const res = await t.request("/v1/security-contexts", jsonInit("POST", body, t.adminToken()));
    const err = await expectError(res, 400, "invalid_body");
    expect(err.error.code).toBe(4000);
    return err.error.details.problems ?? [];
  }

  it("lists every problem at once, each with its path", async () => {
    const got = await problems({
      name: "Bad Name",
      extra: true,
      deny_list: ["fs*", "ok.name"],
      capabilities: [
        { tool_pattern: "fs.*", path_allowlsit: ["/x"], path_allowlist: ["../etc"] },
        {
          tool_pattern: "web.*",
          domain_allowlist: ["evil.com", "*"],
          rate_limit: { calls: 0, per_seconds: 60 },
        },
        { tool_pattern: "cli.*", command_allowlist: ["git status"], approval: "maybe" },
      ],
      revoke_after_denials: { count: 3 },
    });
    const paths = got.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "name",
        "extra",
        "deny_list[0]",
        "capabilities[0].path_allowlsit",
        "capabilities[0].path_allowlist[0]",
        "capabilities[1].domain_allowlist[1]",
        "capabilities[1].rate_limit.calls",
        "capabilities[2].command_allowlist[0]",
        "capabilities[2].approval",
        "revoke_after_denials.per_seconds",
      ]),
    );
    expect(paths).not.toContain("deny_list[1]");
    expect(paths).not.toContain("capabilities[1].domain_allowlist[0]");
    expect(got.find((p) => p.path === "extra")?.message).toBe("unknown field");
    expect(got.find((p) => p.path === "capabilities[0].path_allowlsit")?.message).toBe("unknown field");
  });

  it("refuses regex-like and wildcard-in-segment patterns rather than guessing", async () => {
    const got = await problems({
      name: "regexish",
      deny_list: ["fs.*$", "^shell", "fs.re*", "**", "shell.(exec|run)", "a..b", "fs read"],
      capabilities: [
        { tool_pattern: ".*", path_allowlist: ["/work/[a-z]+", "/work/?", "/x/{a,b}", "/a\\b"] },
        {
          tool_pattern: "x",
          domain_allowlist: ["^api\\.example\\.com$", "*example.com", "api.*.com", "Example.com"],
        },
      ],
    });
    const paths = got.map((p) => p.path);
    for (let i = 0; i < 7; i++) expect(paths).toContain(`deny_list[${i}]`);
    expect(paths).toContain("capabilities[0].tool_pattern");
    for (let i = 0; i < 4; i++) expect(paths).toContain(`capabilities[0].path_allowlist[${i}]`);
    for (let i = 0; i < 4; i++) expect(paths).toContain(`capabilities[1].domain_allowlist[${i}]`);
  });

  it("refuses huge lists as a whole with one problem each", async () => {
    const huge = Array.from({ length: 5000 }, (_, i) => `t${i}.x`);
    const got = await problems({
      name: "huge",
      deny_list: huge,
      visible_tools: huge,
      capabilities: [{ tool_pattern: "a", path_allowlist: Array.from({ length: 1025 }, () => "/a") }],
    });
    expect(got).toEqual(
      expect.arrayContaining([
        { path: "deny_list", message: "must have at most 1024 entries" },
        { path: "visible_tools", message: "must have at most 1024 entries" },
        { path: "capabilities[0].path_allowlist", message: "must have at most 1024 entries" },
      ]),
    );
    expect(got).toHaveLength(3);
    const caps = await problems({
      name: "many-caps",
      capabilities: Array.from({ length: 257 }, () => ({ tool_pattern: "a" })),
    });
    expect(caps).toEqual([{ path: "capabilities", message: "must have at most 256 capabilities" }]);
  });

  it("refuses bad names, missing capabilities and non-objects", async () => {
    for (const name of ["", "1abc", "-abc", "UPPER", "with space", "a_b", "ä", "a".repeat(65), 42, null]) {
      const got = await problems({ name, capabilities: [] });
      expect(
        got.map((p) => p.path),
        JSON.stringify(name),
      ).toEqual(["name"]);
    }
    expect((await problems({ name: "no-caps" })).map((p) => p.path)).toEqual(["capabilities"]);
    expect((await problems({ capabilities: [] })).map((p) => p.path)).toEqual(["name"]);
    for (const body of [[], JSON.stringify("text"), 5, null]) {
      expect(
        (await problems(body)).map((p) => p.path),
        JSON.stringify(body),
      ).toEqual([""]);
    }
  });

  it("refuses malformed JSON, duplicate keys and oversized bodies without storing anything", async () => {
    const raw = (body: string) =>
      t.request("/v1/security-contexts", {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(t.adminToken()) },
        body,
      });
    await expectError(await raw("{"), 400);
    await expectError(await raw('{"name":"dup-key","name":"other","capabilities":[]}'), 400);
    const big = JSON.stringify({ name: "too-big", capabilities: [], description: "x".repeat(2_000_000) });
    expect((await raw(big)).status).toBe(413);
    const list = await expectJson<{ security_contexts: Array<{ name: string }> }>(
      await t.request("/v1/security-contexts", { headers: bearer(t.adminToken()) }),
      200,
    );
    expect(list.security_contexts).toEqual([]);
  });

  it("accepts the boundary values", async () => {
    const doc = {
      name: `a${"b".repeat(63)}`,
      description: "d".repeat(2048),
      deny_list: null,
      visible_tools: null,
      revoke_after_denials: null,
      capabilities: [
        {
          tool_pattern: "*",
          path_allowlist: Array.from({ length: 1024 }, (_, i) => `/p${i}`),
          domain_allowlist: null,
          rate_limit: { calls: 1_000_000, per_seconds: 2_592_000 },
          max_response_size: 1_073_741_824,
          approval: null,
        },
      ],
    };
    const res = await t.request("/v1/security-contexts", jsonInit("POST", doc, t.adminToken()));
    expect(res.status, await res.clone().text()).toBe(201);
    const over = { ...doc, name: "over", description: "d".repeat(2049) };
    expect((await problems(over)).map((p) => p.path)).toEqual(["description"]);
  });
});

describe.each(BACKENDS)("security contexts: roles and tenants (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    await expectJson(
      await t.request(
        "/v1/security-contexts",
        jsonInit("POST", { name: "ctx-a", capabilities: [], tenant_id: "tenant-a" }, t.adminToken()),
      ),
      201,
    );
    await expectJson(
      await t.request(
        "/v1/security-contexts",
        jsonInit("POST", { name: "ctx-b", capabilities: [], tenant_id: "tenant-b" }, t.adminToken()),
      ),
      201,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it("viewer and approver read but cannot write; operator writes", async () => {
    for (const role of ["viewer", "approver"] as const) {
      const token = t.operatorToken(role, "tenant-a");
      await expectJson(await t.request("/v1/security-contexts/ctx-a", { headers: bearer(token) }), 200);
      await expectJson(await t.request("/v1/security-contexts", { headers: bearer(token) }), 200);
      await expectError(
        await t.request(
          "/v1/security-contexts",
          jsonInit("POST", { name: `by-${role}`, capabilities: [] }, token),
        ),
        403,
        "wrong_role",
      );
      await expectError(
        await t.request(
          "/v1/security-contexts/ctx-a",
          jsonInit("PUT", { name: "ctx-a", capabilities: [{ tool_pattern: "*" }] }, token),
        ),
        403,
        "wrong_role",
      );
      await expectError(
        await t.request("/v1/security-contexts/ctx-a", { method: "DELETE", headers: bearer(token) }),
        403,
        "wrong_role",
      );
    }
    // The admin "*" acts in "default" unless told otherwise: ctx-a lives in tenant-a.
    await expectError(
      await t.request("/v1/security-contexts/ctx-a", { headers: bearer(t.adminToken()) }),
      404,
      "not_found",
    );
    const stored = await expectJson<{ capabilities: unknown[] }>(
      await t.request("/v1/security-contexts/ctx-a?tenant_id=tenant-a", { headers: bearer(t.adminToken()) }),
      200,
    );
    expect(stored.capabilities).toEqual([]);

    const op = t.operatorToken("operator", "tenant-a");
    const created = await expectJson<{ tenant_id: string }>(
      await t.request(
        "/v1/security-contexts",
        jsonInit("POST", { name: "by-operator", capabilities: [] }, op),
      ),
      201,
    );
    expect(created.tenant_id).toBe("tenant-a");
    await expectJson(
      await t.request(
        "/v1/security-contexts/by-operator",
        jsonInit("PUT", { name: "by-operator", capabilities: [{ tool_pattern: "x" }] }, op),
      ),
      200,
    );
    await expectJson(
      await t.request("/v1/security-contexts/by-operator", { method: "DELETE", headers: bearer(op) }),
      200,
    );
  });

  it("an operator of tenant A cannot see, update or delete B's context (404) and B's stays intact", async () => {
    const op = t.operatorToken("operator", "tenant-a");
    await expectError(
      await t.request("/v1/security-contexts/ctx-b", { headers: bearer(op) }),
      404,
      "not_found",
    );
    await expectError(
      await t.request(
        "/v1/security-contexts/ctx-b",
        jsonInit("PUT", { name: "ctx-b", capabilities: [{ tool_pattern: "*" }] }, op),
      ),
      404,
      "not_found",
    );
    await expectError(
      await t.request("/v1/security-contexts/ctx-b", { method: "DELETE", headers: bearer(op) }),
      404,
      "not_found",
    );
    await expectError(
      await t.request("/v1/security-contexts/ctx-b/evaluate", jsonInit("POST", { tool: "x" }, op)),
      404,
      "not_found",
    );
    const list = await expectJson<{ security_contexts: Array<{ name: string; tenant_id: string }> }>(
      await t.request("/v1/security-contexts", { headers: bearer(op) }),
      200,
    );
    expect(list.security_contexts.map((c) => c.name)).toEqual(["ctx-a"]);
    // Naming the other tenant explicitly is refused outright.
    await expectError(
      await t.request("/v1/security-contexts?tenant_id=tenant-b", { headers: bearer(op) }),
      403,
      "wrong_tenant",
    );
    await expectError(
      await t.request("/v1/security-contexts/ctx-b?tenant_id=tenant-b", { headers: bearer(op) }),
      403,
      "wrong_tenant",
    );
    await expectError(
      await t.request(
        "/v1/security-contexts",
        jsonInit("POST", { name: "smuggled", capabilities: [], tenant_id: "tenant-b" }, op),
      ),
      403,
      "wrong_tenant",
    );
    const b = await expectJson<{ capabilities: unknown[]; tenant_id: string }>(
      await t.request("/v1/security-contexts/ctx-b", {
        headers: bearer(t.operatorToken("viewer", "tenant-b")),
      }),
      200,
    );
    expect(b).toMatchObject({ capabilities: [], tenant_id: "tenant-b" });
  });

  it("tenant A may create a context with B's name: names are unique per tenant", async () => {
    const op = t.operatorToken("operator", "tenant-a");
    await expectJson(
      await t.request(
        "/v1/security-contexts",
        jsonInit("POST", { name: "ctx-b", capabilities: [{ tool_pattern: "a" }] }, op),
      ),
      201,
    );
    const inB = await expectJson<{ capabilities: unknown[] }>(
      await t.request("/v1/security-contexts/ctx-b", {
        headers: bearer(t.operatorToken("viewer", "tenant-b")),
      }),
      200,
    );
    expect(inB.capabilities).toEqual([]);
    await expectJson(
      await t.request("/v1/security-contexts/ctx-b", { method: "DELETE", headers: bearer(op) }),
      200,
    );
    await expectJson(
      await t.request("/v1/security-contexts/ctx-b", {
        headers: bearer(t.operatorToken("viewer", "tenant-b")),
      }),
      200,
    );
  });

  it('admin "*" sees every tenant and acts in one with tenant_id', async () => {
    const admin = t.adminToken();
    const all = await expectJson<{ security_contexts: Array<{ name: string; tenant_id: string }> }>(
      await t.request("/v1/security-contexts", { headers: bearer(admin) }),
      200,
    );
    expect(all.security_contexts.map((c) => `${c.tenant_id}/${c.name}`)).toEqual(
      expect.arrayContaining(["tenant-a/ctx-a", "tenant-b/ctx-b"]),
    );
    const onlyB = await expectJson<{ security_contexts: Array<{ tenant_id: string }> }>(
      await t.request("/v1/security-contexts?tenant_id=tenant-b", { headers: bearer(admin) }),
      200,
    );
    expect(onlyB.security_contexts.every((c) => c.tenant_id === "tenant-b")).toBe(true);
    await expectJson(
      await t.request(
        "/v1/security-contexts/ctx-b",
        jsonInit(
          "PUT",
          { name: "ctx-b", capabilities: [{ tool_pattern: "b" }], tenant_id: "tenant-b" },
          admin,
        ),
      ),
      200,
    );
    const b = await expectJson<{ capabilities: unknown[] }>(
      await t.request("/v1/security-contexts/ctx-b?tenant_id=tenant-b", { headers: bearer(admin) }),
      200,
    );
    expect(b.capabilities).toEqual([{ tool_pattern: "b" }]);
    const rows = (await events(t, { type: "ConfigChanged", tenant_id: "tenant-b" })).filter(
      (e) => e.payload.name === "ctx-b",
    );
    expect(rows.map((r) => r.payload.action)).toEqual(["create", "update"]);
    await expectJson(
      await t.request("/v1/security-contexts/ctx-b?tenant_id=tenant-b", {
        method: "DELETE",
        headers: bearer(admin),
      }),
      200,
    );
    await expectError(
      await t.request("/v1/security-contexts/ctx-b?tenant_id=tenant-b", { headers: bearer(admin) }),
      404,
      "not_found",
    );
  });
});
