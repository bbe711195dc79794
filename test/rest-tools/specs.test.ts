/**
 * POST/GET/DELETE /v1/specs against a real gateway and a real local upstream: real published
 * specs (Petstore, the > 1 MB OpenAI description), source_url through the egress guard, every
 * refusal with all its problems, conflicts, tenancy and the audit rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events } from "../authorization/support.js";
import { BACKENDS, jsonInit } from "../support/gateway.js";
import {
  BILLING_YAML,
  createWorkflow,
  errorOf,
  invoicesWorkflow,
  LOOPBACK_ALLOWED,
  OPENAI_YAML,
  PETSTORE_YAML,
  postJson,
  problemsOf,
  type RestEnv,
  registerBilling,
  registerPetstore,
  registerSpec,
  type SpecView,
  sentSince,
  startRestEnv,
} from "./support.js";

const MINI = (extra: Record<string, unknown> = {}) => ({
  openapi: "3.1.0",
  info: { title: "mini", version: "1" },
  servers: [{ url: "https://mini.example.com" }],
  paths: { "/things": { get: { operationId: "listThings", responses: { "200": { description: "ok" } } } } },
  ...extra,
});

describe.each(BACKENDS)("REST specs (%s)", (backend) => {
  let env: RestEnv;
  beforeAll(async () => {
    env = await startRestEnv(backend);
  });
  afterAll(async () => {
    await env?.close();
  });

  describe("registration", () => {
    it("registers the real Petstore spec from inline YAML and lists its operations", async () => {
      const view = await registerPetstore(env, "petstore");
      expect(view.id).toMatch(/^spec_/);
      expect(view.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(view.openapi).toBe("3.0.4");
      expect(view.title).toBe("Swagger Petstore - OpenAPI 3.0");
      expect(view.operations).toHaveLength(19);
      expect(view.operations).toContainEqual({
        operation_id: "findPetsByStatus",
        method: "GET",
        path: "/pet/findByStatus",
      });
      expect(view.operations).toContainEqual({
        operation_id: "deleteOrder",
        method: "DELETE",
        path: "/store/order/{orderId}",
      });
      // The spec's own server host and the base_url host, nothing else.
      expect(view.allowed_hosts.sort()).toEqual(["127.0.0.1", "petstore3.swagger.io"]);
      expect(view.base_url).toBe(`${env.up.url}/api/v3`);
      expect(view.credential_path).toBeNull();

      const one = await postJson(
        env.t,
        `/v1/specs/${view.id}`,
        undefined,
        env.t.operatorToken("viewer"),
        "GET",
      );
      expect(one.status).toBe(200);
      expect(one.body.operations).toEqual(view.operations);
      expect(one.body.hash).toBe(view.hash);
      const list = await postJson(env.t, "/v1/specs", undefined, env.t.operatorToken("viewer"), "GET");
      expect((list.body.specs as SpecView[]).map((s) => s.id)).toContain(view.id);

      const [registered] = (await events(env.t, { type: "ApiSpecRegistered" })).filter(
        (e) => e.payload.spec_id === view.id,
      );
      expect(registered?.tenant_id).toBe("default");
      expect(registered?.payload).toMatchObject({
        name: "petstore",
        hash: view.hash,
        operations: 19,
        credential_path: null,
      });
    });

    it("registers the OpenAI spec (over 1 MB of inline YAML) and serves it back", async () => {
      const yaml = OPENAI_YAML();
      expect(Buffer.byteLength(yaml)).toBeGreaterThan(1024 * 1024);
      const view = await registerSpec(env.t, { name: "openai", inline_yaml: yaml });
      expect(view.operations?.length).toBeGreaterThan(100);
      expect(view.operations).toContainEqual(
        expect.objectContaining({
          operation_id: "createChatCompletion",
          method: "POST",
          path: "/chat/completions",
        }),
      );
      expect(view.allowed_hosts).toEqual(["api.openai.com"]);
      const one = await postJson(env.t, `/v1/specs/${view.id}`, undefined, env.t.adminToken(), "GET");
      expect(one.status).toBe(200);
      expect((one.body.operations as unknown[]).length).toBe(view.operations?.length);
    });

    it("registers from a source_url served by the upstream; a relative server resolves against it", async () => {
      const from = env.up.requests.length;
      const json = await registerSpec(env.t, {
        name: "petstore-remote",
        source_url: `${env.up.url}/api/v3/openapi.json`,
      });
      expect(json.source_url).toBe(`${env.up.url}/api/v3/openapi.json`);
      expect(json.operations).toHaveLength(19);
      // No base_url: the relative "/api/v3" became the upstream's own origin.
      expect(json.allowed_hosts).toEqual(["127.0.0.1"]);
      const yaml = await registerSpec(env.t, {
        name: "petstore-remote-yaml",
        source_url: `${env.up.url}/api/v3/openapi.yaml`,
      });
      expect(yaml.operations).toHaveLength(19);
      expect(sentSince(env.up, from).map((r) => `${r.method} ${r.rawPath}`)).toEqual([
        "GET /api/v3/openapi.json",
        "GET /api/v3/openapi.yaml",
      ]);

      // And the resolved server is where calls go.
      const r = await postJson(env.t, "/v1/explorer", {
        api_spec_id: json.id,
        operation_id: "getPetById",
        parameters: { petId: 1 },
        fields: ["$.name"],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.sliced_data).toEqual({ "$.name": ["Rex"] });
    });

    it("a source_url that does not answer 2xx is refused, and nothing is stored", async () => {
      const r = await postJson(env.t, "/v1/specs", {
        name: "missing",
        source_url: `${env.up.url}/api/v3/nope.json`,
      });
      expect(r.status).toBe(400);
      expect(errorOf(r.body).details).toMatchObject({ reason: "source_fetch_failed", status: 404 });
      await expectNoSpecNamed("missing");
    });

    it("refuses a source_url at the cloud metadata address before connecting (4030)", async () => {
      // IP literals are never resolved: the address check refuses them before any socket
      // exists, so this cannot reach a real metadata service. The time bound backs that up:
      // a connect attempt to an unroutable address would take the connect timeout.
      for (const url of [
        "http://169.254.169.254/latest/meta-data/openapi.json",
        "http://[::ffff:169.254.169.254]/openapi.json",
        "http://0xa9fea9fe/openapi.json",
        "http://169.254.169.254:8080/openapi.json",
      ]) {
        const started = Date.now();
        const r = await postJson(env.t, "/v1/specs", { name: "metadata", source_url: url });
        expect(Date.now() - started, url).toBeLessThan(1000);
        expect(r.status, `${url}: ${r.text}`).toBe(403);
        const err = errorOf(r.body);
        expect(err.code).toBe(4030);
        expect(err.details).toMatchObject({ reason: "address_not_allowed", range: "link-local" });
        // The refusal names the host, never the path or the address it resolved to.
        expect(r.text).not.toContain("meta-data");
      }
      await expectNoSpecNamed("metadata");
    });

    it("refuses a source_url on loopback outside allow_networks (a gateway without the test exception)", async () => {
      const strict = await startRestEnv(backend, {});
      try {
        const from = strict.up.requests.length;
        const r = await postJson(strict.t, "/v1/specs", {
          name: "loop",
          source_url: `${strict.up.url}/api/v3/openapi.json`,
        });
        expect(r.status, r.text).toBe(403);
        expect(errorOf(r.body)).toMatchObject({
          code: 4030,
          details: { reason: "address_not_allowed", range: "loopback" },
        });
        expect(sentSince(strict.up, from)).toEqual([]);
      } finally {
        await strict.close();
      }
    });
  });

  describe("refusals list every problem", () => {
    it("Swagger 2.0", async () => {
      const r = await postJson(env.t, "/v1/specs", {
        name: "swagger",
        inline_json: { swagger: "2.0", info: { title: "old", version: "1" }, paths: {} },
      });
      expect(r.status).toBe(400);
      expect(errorOf(r.body).details.reason).toBe("invalid_spec");
      expect(problemsOf(r.body)).toEqual([
        expect.objectContaining({
          path: "$.swagger",
          message: expect.stringMatching(/2\.0 is not supported/),
        }),
      ]);
    });

    it("remote $ref, dangling $ref, empty and duplicate operationIds: all at once, each at its path", async () => {
      const doc = MINI({
        paths: {
          "/a": {
            get: {
              operationId: "same",
              responses: {
                "200": {
                  description: "ok",
                  content: {
                    "application/json": { schema: { $ref: "https://evil.example/schemas.yaml#/Pet" } },
                  },
                },
              },
            },
            post: { operationId: "same", responses: { "200": { description: "ok" } } },
            put: { operationId: "", responses: { "200": { description: "ok" } } },
            delete: { operationId: 42, responses: { "200": { description: "ok" } } },
          },
          "/b": {
            get: {
              operationId: "b",
              parameters: [{ $ref: "#/components/parameters/Nope" }],
              responses: { "200": { description: "ok" } },
            },
          },
        },
      });
      const r = await postJson(env.t, "/v1/specs", { name: "broken", inline_json: doc });
      expect(r.status, r.text).toBe(400);
      const problems = problemsOf(r.body);
      const at = (pattern: RegExp) => problems.filter((p) => pattern.test(`${p.path} ${p.message}`));
      expect(problems).toContainEqual({
        path: "$.paths['/a'].get.responses['200'].content['application/json'].schema['$ref']",
        message: expect.stringMatching(/^remote \$ref is not supported/),
      });
      expect(at(/duplicate operationId/).length, JSON.stringify(problems)).toBe(1);
      expect(
        at(/\$\.paths\['\/a'\]\.put\.operationId|\.put\.operationId/).length,
        JSON.stringify(problems),
      ).toBe(1);
      expect(at(/\.delete\.operationId/).length, JSON.stringify(problems)).toBe(1);
      expect(at(/Nope/).length, JSON.stringify(problems)).toBeGreaterThanOrEqual(1);
      await expectNoSpecNamed("broken");
    });

    it("a spec over 16 MB is refused by the loader; a body over 17 MiB by the route (413)", async () => {
      const big = `${BILLING_YAML()}\n# ${"a".repeat(16 * 1024 * 1024)}\n`;
      const r = await postJson(env.t, "/v1/specs", { name: "too-big", inline_yaml: big });
      expect(r.status).toBe(400);
      expect(problemsOf(r.body)).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/larger than 16777216 bytes/) }),
      ]);
      const huge = `# ${"a".repeat(17 * 1024 * 1024)}`;
      const r2 = await env.t.request(
        "/v1/specs",
        jsonInit("POST", { name: "too-big", inline_yaml: huge }, env.t.adminToken()),
      );
      expect(r2.status).toBe(413);
      await expectNoSpecNamed("too-big");
    });

    it("YAML alias bombs and custom tags are refused", async () => {
      const bomb = [
        "openapi: 3.1.0",
        "a: &a [x, x, x, x, x, x, x, x, x, x]",
        ...Array.from(
          { length: 8 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
        ),
      ].join("\n");
      const r = await postJson(env.t, "/v1/specs", { name: "bomb", inline_yaml: bomb });
      expect(r.status).toBe(400);
      expect(problemsOf(r.body)).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/aliases expand too far/) }),
      ]);
      const tagged = await postJson(env.t, "/v1/specs", {
        name: "tagged",
        inline_yaml: `${BILLING_YAML()}\nx-evil: !!js/function "function () { return 1 }"\n`,
      });
      expect(tagged.status).toBe(400);
      expect(errorOf(tagged.body).details.reason).toBe("invalid_spec");
    });

    const BAD_CREDENTIAL_PATHS: Array<[string, unknown]> = [
      ["unknown variant", { Magic: { key: "x" } }],
      ["two variants", { StaticRef: { key: "a" }, UserBound: { provider: "github" } }],
      ["extra field", { StaticRef: { key: "shared/token", extra: true } }],
      ["missing field", { SystemJit: { openbao_engine_path: "database" } }],
      ["key with ..", { StaticRef: { key: "shared/../root/token" } }],
      ["key that is ..", { StaticRef: { key: ".." } }],
      ["key with a NUL", { StaticRef: { key: "shared/tok\u0000en" } }],
      ["key with a newline", { StaticRef: { key: "shared/token\nother" } }],
      ["key with DEL", { StaticRef: { key: "shared/token\u007f" } }],
      ["absolute key", { StaticRef: { key: "/etc/passwd" } }],
      ["empty key", { StaticRef: { key: "" } }],
      ["a string", "StaticRef"],
      ["an array", [{ StaticRef: { key: "a" } }]],
      ["variant value not an object", { StaticRef: "shared/token" }],
      ["lowercase variant", { staticref: { key: "a" } }],
    ];
    for (const [name, credentialPath] of BAD_CREDENTIAL_PATHS) {
      it(`malformed credential_path: ${name}`, async () => {
        const r = await postJson(env.t, "/v1/specs", {
          name: "cred",
          inline_yaml: BILLING_YAML(),
          base_url: env.up.url,
          credential_path: credentialPath,
        });
        expect(r.status, r.text).toBe(400);
        expect(errorOf(r.body).details.reason).toBe("invalid_body");
        const problems = problemsOf(r.body);
        expect(problems.length).toBeGreaterThan(0);
        for (const p of problems) expect(p.path).toMatch(/^credential_path/);
        // A control character must not be echoed back into the answer.
        expect(r.text).not.toMatch(/tok\\u0000en|token\\nother/);
        await expectNoSpecNamed("cred");
      });
    }

    it("a base_url calls could not use is refused at registration", async () => {
      for (const [baseUrl, message] of [
        ["http://0x7f.1:8080", /spells its host differently/],
        ["http://[::ffff:127.0.0.1]:8080", /spells its host differently/],
        ["http://user:secret@billing.example.com", /must not contain credentials/],
        ["https://billing.example.com/v1?token=abc", /must not have a query or fragment/],
        ["ftp://billing.example.com", /Invalid URL/],
        ["not a url", /Invalid URL/],
      ] as const) {
        const r = await postJson(env.t, "/v1/specs", {
          name: "bad-base",
          inline_yaml: BILLING_YAML(),
          base_url: baseUrl,
        });
        expect(r.status, `${baseUrl}: ${r.text}`).toBe(400);
        expect(
          problemsOf(r.body).map((p) => p.path),
          baseUrl,
        ).toEqual(["base_url"]);
        expect(problemsOf(r.body)[0]?.message, baseUrl).toMatch(message);
        expect(r.text, baseUrl).not.toContain("secret@");
      }
      await expectNoSpecNamed("bad-base");
    });

    it("unknown fields, no source and two sources are refused with every problem", async () => {
      const r = await postJson(env.t, "/v1/specs", {
        name: "Bad Name",
        inline_yaml: BILLING_YAML(),
        inline_json: MINI(),
        allowed_host: ["x"],
      });
      expect(r.status).toBe(400);
      const paths = problemsOf(r.body).map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(["name", "allowed_host", "inline_json"]));
      const none = await postJson(env.t, "/v1/specs", { name: "nothing" });
      expect(none.status).toBe(400);
    });

    it("a refused registration writes no ApiSpecRegistered row", async () => {
      const before = (await events(env.t, { type: "ApiSpecRegistered" })).length;
      await postJson(env.t, "/v1/specs", { name: "refused", inline_json: { swagger: "2.0" } });
      await postJson(env.t, "/v1/specs", {
        name: "refused",
        inline_yaml: BILLING_YAML(),
        credential_path: { Nope: {} },
      });
      expect((await events(env.t, { type: "ApiSpecRegistered" })).length).toBe(before);
    });
  });

  describe("lifecycle", () => {
    it("a well-formed StaticRef credential_path is stored and shown by name only", async () => {
      const view = await registerBilling(env, "billing-cred", {
        credential_path: { StaticRef: { key: "shared/billing-token" } },
      });
      expect(view.credential_path).toEqual({ StaticRef: { key: "shared/billing-token" } });
      const [row] = (await events(env.t, { type: "ApiSpecRegistered" })).filter(
        (e) => e.payload.spec_id === view.id,
      );
      expect(row?.payload.credential_path).toEqual({ StaticRef: { key: "shared/billing-token" } });
    });

    it("a duplicate name is 409; the same name in another tenant is a different spec", async () => {
      await registerBilling(env, "dup");
      const again = await postJson(env.t, "/v1/specs", {
        name: "dup",
        inline_yaml: BILLING_YAML(),
        base_url: env.up.url,
      });
      expect(again.status).toBe(409);
      expect(errorOf(again.body).details.reason).toBe("exists");
      const other = await registerBilling(env, "dup", {}, env.t.operatorToken("operator", "tenant-x"));
      expect(other.tenant_id).toBe("tenant-x");
    });

    it("concurrent registrations of one name: exactly one wins", async () => {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          postJson(env.t, "/v1/specs", { name: "race", inline_yaml: BILLING_YAML(), base_url: env.up.url }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409]);
      const list = await postJson(env.t, "/v1/specs", undefined, env.t.adminToken(), "GET");
      expect((list.body.specs as SpecView[]).filter((s) => s.name === "race")).toHaveLength(1);
      // The registration and its row commit together: the trail holds exactly the one that
      // happened, and the losers left no row.
      const tried = (await events(env.t, { type: "ApiSpecRegistered" }))
        .filter((e) => e.payload.name === "race")
        .map((e) => e.payload.spec_id);
      expect(tried).toEqual([answers.find((a) => a.status === 201)?.body.id]);
    });

    it("deleting a spec a workflow uses is 409; once the workflow is gone it is deleted and audited", async () => {
      const spec = await registerBilling(env, "billing-used");
      const wf = await createWorkflow(env.t, invoicesWorkflow(spec.id, "billing.used"));
      const blocked = await postJson(env.t, `/v1/specs/${spec.id}`, undefined, env.t.adminToken(), "DELETE");
      expect(blocked.status).toBe(409);
      expect(errorOf(blocked.body).details).toMatchObject({
        reason: "in_use",
        workflows: 1,
        workflow_names: ["billing.used"],
      });
      expect(errorOf(blocked.body).message).toContain('"billing.used"');
      expect(
        (await postJson(env.t, `/v1/specs/${spec.id}`, undefined, env.t.adminToken(), "GET")).status,
      ).toBe(200);

      expect(
        (await postJson(env.t, `/v1/workflows/${wf.id}`, undefined, env.t.adminToken(), "DELETE")).status,
      ).toBe(200);
      const gone = await postJson(
        env.t,
        `/v1/specs/${spec.id}`,
        undefined,
        env.t.operatorToken("operator"),
        "DELETE",
      );
      expect(gone.status, gone.text).toBe(200);
      expect(
        (await postJson(env.t, `/v1/specs/${spec.id}`, undefined, env.t.adminToken(), "GET")).status,
      ).toBe(404);
      const deleted = (await events(env.t, { type: "ApiSpecDeleted" })).filter(
        (e) => e.payload.spec_id === spec.id,
      );
      expect(deleted).toHaveLength(1);
      expect(deleted[0]?.payload).toMatchObject({
        name: "billing-used",
        hash: spec.hash,
        actor: "test-operator",
      });
    });

    it("tenants are isolated: another tenant's spec is 404, unlisted, and unusable", async () => {
      const a = await registerBilling(env, "billing-a", {}, env.t.operatorToken("operator", "tenant-a"));
      expect(a.tenant_id).toBe("tenant-a");
      const b = env.t.operatorToken("admin", "tenant-b");
      expect((await postJson(env.t, `/v1/specs/${a.id}`, undefined, b, "GET")).status).toBe(404);
      expect((await postJson(env.t, `/v1/specs/${a.id}`, undefined, b, "DELETE")).status).toBe(404);
      const listed = await postJson(env.t, "/v1/specs", undefined, b, "GET");
      expect((listed.body.specs as SpecView[]).map((s) => s.id)).not.toContain(a.id);
      // A tenant-bound token cannot read or write another tenant by naming it.
      expect((await postJson(env.t, "/v1/specs?tenant_id=tenant-a", undefined, b, "GET")).status).toBe(403);
      expect(
        (
          await postJson(
            env.t,
            "/v1/specs",
            { name: "x", inline_yaml: BILLING_YAML(), tenant_id: "tenant-a" },
            b,
          )
        ).status,
      ).toBe(403);
      // Neither a workflow nor the explorer of tenant-b can use it.
      const wf = await postJson(env.t, "/v1/workflows", invoicesWorkflow(a.id, "billing.steal"), b);
      expect(wf.status).toBe(400);
      expect(problemsOf(wf.body)).toEqual([{ path: "api_spec_id", message: "no such spec in this tenant" }]);
      const from = env.up.requests.length;
      const ex = await postJson(
        env.t,
        "/v1/explorer",
        {
          api_spec_id: a.id,
          operation_id: "searchCustomers",
          parameters: { email: "ada@example.com" },
          fields: ["$"],
        },
        b,
      );
      expect(ex.status).toBe(400);
      expect(errorOf(ex.body).details.reason).toBe("unknown_spec");
      expect(sentSince(env.up, from)).toEqual([]);
      // The owner still has it.
      expect(
        (
          await postJson(
            env.t,
            `/v1/specs/${a.id}`,
            undefined,
            env.t.operatorToken("viewer", "tenant-a"),
            "GET",
          )
        ).status,
      ).toBe(200);
    });

    it("a viewer reads specs but cannot register or delete them", async () => {
      const viewer = env.t.operatorToken("viewer");
      expect(
        (await postJson(env.t, "/v1/specs", { name: "v", inline_yaml: PETSTORE_YAML() }, viewer)).status,
      ).toBe(403);
      const spec = await registerBilling(env, "billing-v");
      expect((await postJson(env.t, `/v1/specs/${spec.id}`, undefined, viewer, "DELETE")).status).toBe(403);
      expect((await postJson(env.t, `/v1/specs/${spec.id}`, undefined, viewer, "GET")).status).toBe(200);
    });
  });

  async function expectNoSpecNamed(name: string) {
    const list = await postJson(env.t, "/v1/specs", undefined, env.t.adminToken(), "GET");
    expect((list.body.specs as SpecView[]).filter((s) => s.name === name)).toEqual([]);
  }
});

describe.each(BACKENDS)("REST specs under a configured tools.max_spec_bytes (%s)", (backend) => {
  let env: RestEnv;
  const LIMIT = 8 * 1024;
  beforeAll(async () => {
    env = await startRestEnv(backend, {
      ...LOOPBACK_ALLOWED,
      SEAL_GATEWAY_TOOLS_MAX_SPEC_BYTES: String(LIMIT),
    });
  });
  afterAll(async () => {
    await env?.close();
  });
  const names = async () =>
    ((await postJson(env.t, "/v1/specs", undefined, env.t.adminToken(), "GET")).body.specs as SpecView[]).map(
      (s) => s.name,
    );

  it("a spec under the limit registers; one over it is refused inline and from source_url", async () => {
    await registerSpec(env.t, { name: "mini", inline_json: MINI() });
    const over = await postJson(env.t, "/v1/specs", { name: "petstore", inline_yaml: PETSTORE_YAML() });
    expect(Buffer.byteLength(PETSTORE_YAML())).toBeGreaterThan(LIMIT);
    expect(over.status).toBe(400);
    expect(problemsOf(over.body)).toEqual([
      expect.objectContaining({ message: expect.stringMatching(new RegExp(`larger than ${LIMIT} bytes`)) }),
    ]);
    const fetched = await postJson(env.t, "/v1/specs", {
      name: "petstore-remote",
      source_url: `${env.up.url}/api/v3/openapi.json`,
    });
    expect(fetched.status, fetched.text).toBe(400);
    expect(problemsOf(fetched.body)).toEqual([
      { path: "source_url", message: expect.stringMatching(new RegExp(`larger than ${LIMIT} bytes`)) },
    ]);
    expect(await names()).toEqual(["mini"]);
  });

  it("the route's body limit follows the setting: above limit + 1 MiB is 413 before parsing", async () => {
    const huge = `# ${"a".repeat(LIMIT + 1024 * 1024)}`;
    const r = await env.t.request(
      "/v1/specs",
      jsonInit("POST", { name: "huge", inline_yaml: huge }, env.t.adminToken()),
    );
    expect(r.status).toBe(413);
    expect(await names()).toEqual(["mini"]);
  });
});
