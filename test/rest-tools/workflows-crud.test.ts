/**
 * /v1/workflows: create, read, replace (PUT), delete, tenancy and audit rows; and every way a
 * definition is refused at registration, all its problems at once, each at its JSONPath.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, events, putContext, sessionAgent } from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  createWorkflow,
  errorOf,
  invoicesWorkflow,
  oneStep,
  postJson,
  problemsOf,
  type RestEnv,
  registerBilling,
  type SpecView,
  sentSince,
  startRestEnv,
  type WorkflowView,
} from "./support.js";

describe.each(BACKENDS)("workflows CRUD (%s)", (backend) => {
  let env: RestEnv;
  let spec: SpecView;
  beforeAll(async () => {
    env = await startRestEnv(backend);
    spec = await registerBilling(env);
    await putContext(env.t, { name: "billing-ctx", capabilities: [{ tool_pattern: "billing.*" }] });
  });
  afterAll(async () => {
    await env?.close();
  });

  const get = (id: string, token = env.t.adminToken()) =>
    postJson(env.t, `/v1/workflows/${id}`, undefined, token, "GET");
  const list = async (token = env.t.adminToken()) =>
    ((await postJson(env.t, "/v1/workflows", undefined, token, "GET")).body.workflows as WorkflowView[]).map(
      (w) => w.name,
    );

  it("creates a workflow (201), shows it, lists it and audits WorkflowRegistered with its hash", async () => {
    const wf = await createWorkflow(
      env.t,
      invoicesWorkflow(spec.id, "billing.crud"),
      env.t.operatorToken("operator"),
    );
    expect(wf.id).toMatch(/^wf_/);
    expect(wf.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(wf).toMatchObject({ name: "billing.crud", api_spec_id: spec.id, tenant_id: "default" });
    expect(wf.steps).toHaveLength(2);
    const viewer = env.t.operatorToken("viewer");
    const one = await get(wf.id, viewer);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(wf);
    expect(await list(viewer)).toContain("billing.crud");
    const rows = (await events(env.t, { type: "WorkflowRegistered" })).filter(
      (e) => e.payload.workflow_id === wf.id,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tool_name: "billing.crud", stage: "control", tenant_id: "default" });
    expect(rows[0]?.payload).toMatchObject({ hash: wf.hash, api_spec_id: spec.id, actor: "test-operator" });
  });

  it("a second workflow with the same name is 409; a viewer cannot write", async () => {
    await createWorkflow(env.t, invoicesWorkflow(spec.id, "billing.twice"));
    const again = await postJson(env.t, "/v1/workflows", invoicesWorkflow(spec.id, "billing.twice"));
    expect(again.status).toBe(409);
    expect(errorOf(again.body).details.reason).toBe("exists");
    const viewer = await postJson(
      env.t,
      "/v1/workflows",
      invoicesWorkflow(spec.id, "billing.viewer"),
      env.t.operatorToken("viewer"),
    );
    expect(viewer.status).toBe(403);
    expect(await list()).not.toContain("billing.viewer");
  });

  it("concurrent creates of one name: exactly one wins, and only the winner is recorded", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(env.t, "/v1/workflows", invoicesWorkflow(spec.id, "billing.race")),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const winner = answers.find((a) => a.status === 201)?.body.id;
    const tried = (await events(env.t, { type: "WorkflowRegistered" }))
      .filter((e) => e.payload.name === "billing.race")
      .map((e) => e.payload.workflow_id);
    // The change and its row commit together: a loser leaves neither a workflow nor a row.
    expect(tried).toEqual([winner]);
    expect(await list()).toEqual(expect.arrayContaining(["billing.race"]));
  });

  it("PUT replaces the definition, takes effect on the next call, and is audited", async () => {
    const wf = await createWorkflow(env.t, invoicesWorkflow(spec.id, "billing.put"));
    const agent = await sessionAgent(env.t, { context: "billing-ctx" });
    const first = await call(env.t, agent, "billing.put", { email: "ada@example.com" });
    expect(first.status, JSON.stringify(first.body)).toBe(200);

    const v2 = invoicesWorkflow(spec.id, "billing.put");
    const steps = v2.steps as Record<string, unknown>[];
    steps[1] = { ...steps[1], query_params: { status: "open" } };
    const put = await postJson(
      env.t,
      `/v1/workflows/${wf.id}`,
      { ...v2, description: "open invoices only" },
      env.t.operatorToken("operator"),
      "PUT",
    );
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ id: wf.id, name: "billing.put", description: "open invoices only" });
    expect(put.body.hash).not.toBe(wf.hash);
    expect(put.body.created_at).toBe(wf.created_at);

    const from = env.up.requests.length;
    const second = await call(env.t, agent, "billing.put", { email: "ada@example.com" });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(sentSince(env.up, from).map((r) => r.query.status)).toEqual([undefined, ["open"]]);
    const state = (second.body.result as { state: { invoices: { ids: string[] } } }).state;
    expect(state.invoices.ids).toEqual(["inv_2", "inv_3"]);

    const completed = (
      await events(env.t, { execution_id: agent.executionId, type: "ToolCallCompleted" })
    ).map((e) => e.payload.definition_hash);
    expect(completed).toEqual([wf.hash, put.body.hash]);
    const updated = (await events(env.t, { type: "WorkflowUpdated" })).filter(
      (e) => e.payload.workflow_id === wf.id,
    );
    expect(updated.map((e) => e.payload.hash)).toEqual([put.body.hash]);
  });

  it("PUT cannot rename, cannot install an invalid definition, and 404s for unknown ids", async () => {
    const wf = await createWorkflow(env.t, invoicesWorkflow(spec.id, "billing.fixed"));
    const renamed = await postJson(
      env.t,
      `/v1/workflows/${wf.id}`,
      invoicesWorkflow(spec.id, "billing.other"),
      env.t.adminToken(),
      "PUT",
    );
    expect(renamed.status).toBe(400);
    expect(problemsOf(renamed.body)).toEqual([
      { path: "name", message: expect.stringMatching(/cannot be renamed/) },
    ]);
    const broken = invoicesWorkflow(spec.id, "billing.fixed");
    const brokenSteps = broken.steps as Record<string, unknown>[];
    brokenSteps[0] = { ...brokenSteps[0], operation_id: "nope" };
    const bad = await postJson(env.t, `/v1/workflows/${wf.id}`, broken, env.t.adminToken(), "PUT");
    expect(bad.status).toBe(400);
    expect(problemsOf(bad.body)).toEqual([
      { path: "$.steps[0].operation_id", message: "the spec has no operation with this operationId" },
    ]);
    expect((await get(wf.id)).body.hash).toBe(wf.hash);
    expect(
      (
        await postJson(
          env.t,
          "/v1/workflows/wf_nope",
          invoicesWorkflow(spec.id, "billing.fixed"),
          env.t.adminToken(),
          "PUT",
        )
      ).status,
    ).toBe(404);
  });

  it("DELETE removes the tool at once and is audited", async () => {
    const wf = await createWorkflow(env.t, invoicesWorkflow(spec.id, "billing.gone"));
    const agent = await sessionAgent(env.t, { context: "billing-ctx" });
    expect(
      (await postJson(env.t, `/v1/workflows/${wf.id}`, undefined, env.t.operatorToken("viewer"), "DELETE"))
        .status,
    ).toBe(403);
    const del = await postJson(
      env.t,
      `/v1/workflows/${wf.id}`,
      undefined,
      env.t.operatorToken("operator"),
      "DELETE",
    );
    expect(del.status, del.text).toBe(200);
    expect(del.body).toEqual({ status: "success", id: wf.id });
    expect((await get(wf.id)).status).toBe(404);
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.gone", { email: "ada@example.com" });
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe(4004);
    expect(sentSince(env.up, from)).toEqual([]);
    const rows = (await events(env.t, { type: "WorkflowDeleted" })).filter(
      (e) => e.payload.workflow_id === wf.id,
    );
    expect(rows).toHaveLength(1);
    expect(
      (await postJson(env.t, `/v1/workflows/${wf.id}`, undefined, env.t.adminToken(), "DELETE")).status,
    ).toBe(404);
  });

  it("tenants are isolated: another tenant's workflow is 404 and not listed; names are per tenant", async () => {
    const b = env.t.operatorToken("operator", "tenant-b");
    const specB = await registerBilling(env, "billing-b", {}, b);
    const wfB = await createWorkflow(env.t, invoicesWorkflow(specB.id, "billing.crud"), b);
    expect(wfB.tenant_id).toBe("tenant-b");
    const a = env.t.operatorToken("admin", "default");
    expect((await get(wfB.id, a)).status).toBe(404);
    expect(
      (await postJson(env.t, `/v1/workflows/${wfB.id}`, invoicesWorkflow(specB.id, "billing.crud"), a, "PUT"))
        .status,
    ).toBe(404);
    expect((await postJson(env.t, `/v1/workflows/${wfB.id}`, undefined, a, "DELETE")).status).toBe(404);
    expect(await list(env.t.operatorToken("viewer", "tenant-b"))).toEqual(["billing.crud"]);
    expect((await get(wfB.id, env.t.operatorToken("viewer", "tenant-b"))).status).toBe(200);
    // An agent of the default tenant calling that name reaches the default tenant's workflow only.
    const agent = await sessionAgent(env.t, { context: "billing-ctx" });
    const from = env.up.requests.length;
    const r = await call(env.t, agent, "billing.crud", { email: "ada@example.com" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body.result as { workflow_id: string }).workflow_id).not.toBe(wfB.id);
    expect(sentSince(env.up, from)).toHaveLength(2);
  });

  describe("invalid definitions are refused with every problem", () => {
    const step = (extra: Record<string, unknown>) => ({
      operation_id: "searchCustomers",
      query_params: { email: "{{input.email}}" },
      ...extra,
    });
    const CASES: Array<{
      name: string;
      def: () => Record<string, unknown>;
      problems: Array<{ path: string; message: RegExp }>;
    }> = [
      {
        name: "unknown operation",
        def: () => oneStep(spec.id, "t.op", { operation_id: "nope" }),
        problems: [{ path: "$.steps[0].operation_id", message: /no operation with this operationId/ }],
      },
      {
        name: "unknown method+path",
        def: () => oneStep(spec.id, "t.mp", { method: "DELETE", path: "/customers" }),
        problems: [{ path: "$.steps[0].path", message: /no operation DELETE \/customers/ }],
      },
      {
        name: "unknown parameter",
        def: () => oneStep(spec.id, "t.param", step({ query_params: { email: "x", mail: "y" } })),
        problems: [{ path: "$.steps[0].query_params.mail", message: /no query parameter "mail"/ }],
      },
      {
        name: "missing required parameter",
        def: () => oneStep(spec.id, "t.req", step({ query_params: {} })),
        problems: [
          { path: "$.steps[0].query_params", message: /required query parameter "email" is not set/ },
        ],
      },
      {
        name: "bad JSONPath extractors (including script-expression syntax)",
        def: () =>
          oneStep(
            spec.id,
            "t.jp",
            step({
              extractors: {
                a: "$.data[?(@.x",
                b: "$[(@.length-1)]",
                c: "$[?(@.a && process.exit())]",
                d: "data.id",
              },
            }),
          ),
        problems: [
          { path: "$.steps[0].extractors.a", message: /JSONPath syntax error/ },
          { path: "$.steps[0].extractors.b", message: /JSONPath syntax error/ },
          { path: "$.steps[0].extractors.c", message: /JSONPath syntax error/ },
          { path: "$.steps[0].extractors.d", message: /./ },
        ],
      },
      {
        name: "unknown helper",
        def: () =>
          oneStep(spec.id, "t.helper", step({ query_params: { email: "{{uppercase input.email}}" } })),
        problems: [{ path: "$.steps[0].query_params.email", message: /unknown helper uppercase/ }],
      },
      {
        name: "the log helper",
        def: () => oneStep(spec.id, "t.log", step({ query_params: { email: "{{log input.email}}" } })),
        problems: [{ path: "$.steps[0].query_params.email", message: /unknown helper log/ }],
      },
      {
        name: "{{constructor.constructor}}",
        def: () =>
          oneStep(spec.id, "t.ctor", step({ query_params: { email: "{{constructor.constructor}}" } })),
        problems: [
          { path: "$.steps[0].query_params.email", message: /constructor\.constructor is not allowed/ },
        ],
      },
      {
        name: "constructor reached through input",
        def: () =>
          oneStep(
            spec.id,
            "t.ctor2",
            step({ query_params: { email: "{{input.email.constructor.constructor}}" } }),
          ),
        problems: [{ path: "$.steps[0].query_params.email", message: /is not allowed/ }],
      },
      {
        name: '{{lookup this "__proto__"}}',
        def: () =>
          oneStep(spec.id, "t.proto", step({ query_params: { email: '{{lookup this "__proto__"}}' } })),
        problems: [{ path: "$.steps[0].query_params.email", message: /"__proto__" is not allowed/ }],
      },
      {
        name: "__proto__ as a path segment",
        def: () => oneStep(spec.id, "t.proto2", step({ query_params: { email: "{{input.__proto__.x}}" } })),
        problems: [{ path: "$.steps[0].query_params.email", message: /not allowed/ }],
      },
      {
        name: "partials",
        def: () => oneStep(spec.id, "t.partial", step({ query_params: { email: "{{> evil}}" } })),
        problems: [{ path: "$.steps[0].query_params.email", message: /./ }],
      },
      {
        name: "plain {{input.x}} outside a JSON string in a string body",
        def: () =>
          oneStep(
            spec.id,
            "t.body",
            { operation_id: "sumInvoices", body_template: '{"customer_id": {{input.id}}, "amounts": [1]}' },
            { type: "object", properties: { id: { type: "string" } }, additionalProperties: false },
          ),
        problems: [
          {
            path: "$.steps[0].body_template",
            message: /outside a JSON string only \{\{json …\}\} may be used/,
          },
        ],
      },
      {
        name: "input.x not declared by a closed input schema",
        def: () =>
          oneStep(spec.id, "t.closed", step({ query_params: { email: "{{input.mail}}" } }), {
            type: "object",
            properties: { email: { type: "string" } },
            additionalProperties: false,
          }),
        problems: [
          { path: "$.steps[0].query_params.email", message: /input\.mail is not a property of input_schema/ },
        ],
      },
      {
        name: "a framing header",
        def: () =>
          oneStep(spec.id, "t.hdr", step({ headers: { Host: "evil.example", Authorization: "Bearer x" } })),
        problems: [
          { path: "$.steps[0].headers.Host", message: /set by the gateway/ },
          { path: "$.steps[0].headers.Authorization", message: /set by the gateway/ },
        ],
      },
      {
        name: "a misspelt key",
        def: () => oneStep(spec.id, "t.typo", step({ extractor: { a: "$.x" } })),
        problems: [{ path: "$.steps[0]", message: /Unrecognized key: "extractor"/ }],
      },
      {
        name: "an unsupported input_schema keyword",
        def: () => oneStep(spec.id, "t.kw", step({}), { type: "object", format2: "x" }),
        problems: [{ path: "$.input_schema.format2", message: /./ }],
      },
      {
        name: "the built-in name explorer",
        def: () => oneStep(spec.id, "explorer", step({})),
        problems: [{ path: "name", message: /explorer is a built-in tool name/ }],
      },
      {
        name: "an unknown spec",
        def: () => oneStep("spec_nope", "t.nospec", step({})),
        problems: [{ path: "api_spec_id", message: /no such spec/ }],
      },
    ];
    for (const c of CASES) {
      it(c.name, async () => {
        const before = (await events(env.t, { type: "WorkflowRegistered" })).length;
        const def = c.def();
        const r = await postJson(env.t, "/v1/workflows", def);
        expect(r.status, r.text).toBe(400);
        expect(errorOf(r.body)).toMatchObject({ code: 4000, details: { reason: "invalid_body" } });
        const problems = problemsOf(r.body);
        for (const want of c.problems) {
          const hit = problems.find((p) => p.path === want.path && want.message.test(p.message));
          expect(hit, `${want.path} ${want.message} in ${JSON.stringify(problems)}`).toBeDefined();
        }
        expect(problems.length, JSON.stringify(problems)).toBe(c.problems.length);
        expect(await list()).not.toContain(def.name);
        expect((await events(env.t, { type: "WorkflowRegistered" })).length).toBe(before);
      });
    }

    it("reports all problems of a many-fault definition together, the reserved name included", async () => {
      const def = {
        ...invoicesWorkflow(spec.id, "explorer"),
        steps: [
          { name: "s1", operation_id: "nope", on_error: "AbortWorkflow" },
          {
            name: "s2",
            operation_id: "searchCustomers",
            query_params: { email: "{{constructor.constructor}}", mail: "x" },
            extractors: { a: "$[(@.length-1)]" },
            on_error: "AbortWorkflow",
          },
          {
            name: "s3",
            operation_id: "sumInvoices",
            body_template: '{"amounts": {{input.email}} }',
            on_error: "fail",
          },
        ],
      };
      const r = await postJson(env.t, "/v1/workflows", def);
      expect(r.status).toBe(400);
      const paths = problemsOf(r.body).map((p) => p.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          "name",
          "$.steps[0].operation_id",
          "$.steps[1].query_params.email",
          "$.steps[1].query_params.mail",
          "$.steps[1].extractors.a",
          "$.steps[2].body_template",
        ]),
      );
    });
  });
});
