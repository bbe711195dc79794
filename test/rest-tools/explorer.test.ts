/**
 * The explorer on both planes: POST /v1/explorer (operator) and the built-in `explorer` tool
 * through a signed envelope. Slices, metadata, audit, JSONPath that never evaluates code, and
 * a multi-megabyte answer sliced down to a few bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  events,
  eventsOf,
  expectCode,
  lastSeq,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  errorOf,
  postJson,
  type RestEnv,
  registerBilling,
  registerPetstore,
  type SpecView,
  sentSince,
  startRestEnv,
} from "./support.js";

interface ExplorerOut {
  sliced_data: Record<string, unknown[]>;
  operation_metadata: { status: number; bytes_before: number; bytes_after: number };
}

const INJECTIONS = [
  "$[?(@.a && process.exit())]",
  "$[(@.length-1)]",
  "$[?(@.name == require('child_process').execSync('id'))]",
  "$..[?(@.constructor.constructor('return process')())]",
  "$.constructor.constructor('return 1')()",
  "$[?(@.id > 0)].toString()",
  "$[`id`]",
  "",
  "id",
];

describe.each(BACKENDS)("explorer (%s)", (backend) => {
  let env: RestEnv;
  let pet: SpecView;
  let billing: SpecView;
  let agent: SessionAgent;

  beforeAll(async () => {
    env = await startRestEnv(backend);
    pet = await registerPetstore(env);
    billing = await registerBilling(env);
    await putContext(env.t, { name: "explore-ctx", capabilities: [{ tool_pattern: "explorer" }] });
    agent = await sessionAgent(env.t, { context: "explore-ctx", sub: "explorer-agent" });
  });
  afterAll(async () => {
    await env?.close();
  });

  const available = () => ({
    api_spec_id: pet.id,
    operation_id: "findPetsByStatus",
    parameters: { status: "available" },
    fields: ["$[*].id", "$[*].name"],
  });

  it("POST /v1/explorer slices Petstore findPetsByStatus and reports status and bytes", async () => {
    const from = env.up.requests.length;
    const r = await postJson(env.t, "/v1/explorer", available(), env.t.operatorToken("operator"));
    expect(r.status, r.text).toBe(200);
    const out = r.body as unknown as ExplorerOut;
    expect(out.sliced_data).toEqual({ "$[*].id": [1, 3], "$[*].name": ["Rex", "Kiwi"] });
    const sent = sentSince(env.up, from);
    expect(sent.map((q) => `${q.method} ${q.rawPath}`)).toEqual(["GET /api/v3/pet/findByStatus"]);
    expect(sent[0]?.query).toEqual({ status: ["available"] });
    const upstreamBody = JSON.stringify([
      { id: 1, name: "Rex", status: "available", photoUrls: [], tags: [{ id: 1, name: "dog" }] },
      { id: 3, name: "Kiwi", status: "available", photoUrls: [], tags: [{ id: 3, name: "bird" }] },
    ]);
    expect(out.operation_metadata).toEqual({
      status: 200,
      bytes_before: Buffer.byteLength(upstreamBody),
      bytes_after: Buffer.byteLength(JSON.stringify(out.sliced_data)),
    });
    const [row] = (await events(env.t, { type: "ExplorerRequestExecuted" })).slice(-1);
    expect(row).toMatchObject({
      tool_name: "explorer",
      stage: "execute",
      tenant_id: "default",
      execution_id: null,
    });
    // The operator plane has no ToolCallAuthorized: its own row precedes the request.
    const [requested] = (await events(env.t, { type: "ExplorerRequested" })).slice(-1);
    expect(requested?.payload).toMatchObject({
      spec_id: pet.id,
      operation_id: "findPetsByStatus",
      actor: "test-operator",
    });
    expect(Number(requested?.seq)).toBeLessThan(Number(row?.seq));
    expect(row?.payload).toMatchObject({
      spec_id: pet.id,
      spec_hash: pet.hash,
      operation_id: "findPetsByStatus",
      status: 200,
      bytes_before: out.operation_metadata.bytes_before,
      bytes_after: out.operation_metadata.bytes_after,
      fields: ["$[*].id", "$[*].name"],
      actor: "test-operator",
    });
  });

  it("needs the operator role on the control plane", async () => {
    const from = env.up.requests.length;
    const r = await postJson(env.t, "/v1/explorer", available(), env.t.operatorToken("viewer"));
    expect(r.status).toBe(403);
    expect(sentSince(env.up, from)).toEqual([]);
  });

  it("the explorer tool through an envelope answers sliced_data in result and payload.result.structuredContent", async () => {
    const seq = await lastSeq(env.t);
    const r = await call(env.t, agent, "explorer", available());
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const out = r.body.result as ExplorerOut;
    expect(out.sliced_data).toEqual({ "$[*].id": [1, 3], "$[*].name": ["Rex", "Kiwi"] });
    expect(r.body.payload?.result.structuredContent).toEqual(out);
    expect(JSON.parse(r.body.payload?.result.content[0]?.text ?? "null")).toEqual(out);
    const rows = await eventsOf(env.t, agent.executionId, seq);
    expect(rows.map((e) => e.event_type)).toEqual([
      "ToolCallAuthorized",
      "ExplorerRequestExecuted",
      "ToolCallCompleted",
    ]);
    expect(rows[1]).toMatchObject({
      agent_id: "explorer-agent",
      call_id: r.body.call_id,
      tool_name: "explorer",
    });
    expect(rows[1]?.payload).toMatchObject({
      bytes_before: out.operation_metadata.bytes_before,
      bytes_after: out.operation_metadata.bytes_after,
      spec_hash: pet.hash,
    });
    expect(rows[2]?.payload.definition_hash).toBe("builtin:explorer:v1");
  });

  it("slices a multi-megabyte answer down to a few bytes", async () => {
    const bytes = 6_000_000;
    const args = {
      api_spec_id: billing.id,
      operation_id: "huge",
      parameters: { bytes },
      fields: ["$[-1]", "$[0].nope"],
    };
    const r = await call(env.t, agent, "explorer", args);
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
    const out = r.body.result as ExplorerOut;
    expect(out.sliced_data).toEqual({ "$[-1]": ["end"], "$[0].nope": [] });
    expect(out.operation_metadata.bytes_before).toBeGreaterThanOrEqual(bytes);
    expect(out.operation_metadata.bytes_after).toBeLessThan(40);
    expect(Buffer.byteLength(JSON.stringify(r.body))).toBeLessThan(2000);
  });

  describe("JSONPath never evaluates code: 4000 and nothing sent", () => {
    for (const expr of INJECTIONS) {
      it(`refuses ${JSON.stringify(expr)} on both planes`, async () => {
        const from = env.up.requests.length;
        const args = { ...available(), fields: ["$[*].id", expr] };
        const viaAgent = expectCode(await call(env.t, agent, "explorer", args), 400, 4000);
        expect(["invalid_jsonpath", "invalid_arguments"]).toContain(viaAgent.error?.details.reason);
        const viaOperator = await postJson(env.t, "/v1/explorer", args);
        expect(viaOperator.status).toBe(400);
        expect(errorOf(viaOperator.body).code).toBe(4000);
        expect(sentSince(env.up, from)).toEqual([]);
      });
    }

    it("names like constructor and __proto__ are data: valid RFC 9535 queries that match nothing inherited", async () => {
      // `$..[?(@.constructor)]` is a well-formed existence test (RFC 9535 §2.3.5); it must
      // look at own members only, so it finds nothing in JSON without such a member.
      const fields = [
        "$..[?(@.constructor)]",
        "$..constructor",
        "$..__proto__",
        "$..['__proto__']",
        "$[?@.toString]",
        "$[*].name.length",
      ];
      const r = await call(env.t, agent, "explorer", { ...available(), fields });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const out = r.body.result as ExplorerOut;
      for (const f of fields) expect(out.sliced_data[f], f).toEqual([]);
    });
  });

  describe("bad arguments", () => {
    const CASES: Array<[string, Record<string, unknown>, string]> = [
      ["an unknown operation", { operation_id: "nope" }, "unknown_operation"],
      ["an unknown spec", { api_spec_id: "spec_nope" }, "unknown_spec"],
      ["an undeclared parameter", { parameters: { status: "available", admin: true } }, "unknown_parameter"],
      [
        "a parameter outside its enum or type",
        { operation_id: "getPetById", parameters: { petId: "../admin" } },
        "",
      ],
      ["no fields", { fields: [] }, "invalid_arguments"],
      ["an unknown argument", { extra: 1 }, "invalid_arguments"],
      ["fields that are not strings", { fields: [1] }, "invalid_arguments"],
      ["too many fields", { fields: Array.from({ length: 65 }, (_, i) => `$[${i}]`) }, "invalid_arguments"],
      [
        "a required parameter missing",
        { api_spec_id: "", operation_id: "searchCustomers", parameters: {} },
        "",
      ],
    ];
    for (const [name, patch, reason] of CASES) {
      it(`${name} → 4000, nothing sent`, async () => {
        const args = { ...available(), ...patch };
        if (name === "a required parameter missing") args.api_spec_id = billing.id;
        const from = env.up.requests.length;
        const body = expectCode(await call(env.t, agent, "explorer", args), 400, 4000);
        if (reason) expect(body.error?.details.reason).toBe(reason);
        expect(sentSince(env.up, from)).toEqual([]);
      });
    }

    it("path parameters are encoded within their segment", async () => {
      const from = env.up.requests.length;
      const r = await call(env.t, agent, "explorer", {
        api_spec_id: pet.id,
        operation_id: "getUserByName",
        parameters: { username: "../../admin?x=1" },
        fields: ["$.username"],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(sentSince(env.up, from).map((q) => q.rawPath)).toEqual(["/api/v3/user/..%2F..%2Fadmin%3Fx%3D1"]);
      expect((r.body.result as ExplorerOut).sliced_data).toEqual({ "$.username": ["../../admin?x=1"] });
    });

    it("a non-2xx upstream answer is 4020, not a slice of an error page, and is audited on both planes", async () => {
      const args = {
        api_spec_id: pet.id,
        operation_id: "getPetById",
        parameters: { petId: 999 },
        fields: ["$"],
      };
      const r = await call(env.t, agent, "explorer", args);
      expect(expectCode(r, 502, 4020).error?.details).toMatchObject({ status: 404 });
      const op = await postJson(env.t, "/v1/explorer", args, env.t.operatorToken("operator"));
      expect(op.status).toBe(502);
      const failedRows = (await events(env.t, { type: "ExplorerRequestFailed" })).slice(-2);
      expect(failedRows.map((e) => [e.agent_id, e.payload.actor])).toEqual([
        ["explorer-agent", undefined],
        [null, "test-operator"],
      ]);
      for (const e of failedRows) {
        expect(e).toMatchObject({ tool_name: "explorer", code: 4020 });
        expect(e.payload).toMatchObject({
          spec_id: pet.id,
          operation_id: "getPetById",
          status: 404,
          code: "UPSTREAM_ERROR",
          reason: "upstream_status",
        });
        expect(JSON.stringify(e.payload)).not.toContain("999");
      }
    });
  });

  describe("authorization uses the named spec's hosts", () => {
    it("domain_allowlist without the spec's hosts → 2004, nothing sent", async () => {
      await putContext(env.t, {
        name: "explore-elsewhere",
        capabilities: [{ tool_pattern: "explorer", domain_allowlist: ["petstore3.swagger.io"] }],
      });
      const limited = await sessionAgent(env.t, { context: "explore-elsewhere" });
      const from = env.up.requests.length;
      expectCode(await call(env.t, limited, "explorer", available()), 403, 2004);
      expect(sentSince(env.up, from)).toEqual([]);
    });

    it("another tenant's spec id is unknown to an agent (4000 unknown_spec), nothing sent", async () => {
      await putContext(env.t, {
        name: "explore-b",
        capabilities: [{ tool_pattern: "explorer" }],
        tenant_id: "tenant-b",
      });
      const other = await sessionAgent(env.t, { context: "explore-b", tenant: "tenant-b" });
      const from = env.up.requests.length;
      const body = expectCode(await call(env.t, other, "explorer", available()), 400, 4000);
      expect(body.error?.details.reason).toBe("unknown_spec");
      expect(sentSince(env.up, from)).toEqual([]);
    });
  });
});
