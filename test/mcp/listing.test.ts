/**
 * tools/list as MCP clients need it: schemas without $ref (recursive ones refused when the
 * workflow is registered), effect hints from the steps' HTTP methods, names within what MCP
 * clients accept (longer names refused at registration).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IndexedSpec } from "../../src/engines/openapi/types.js";
import type { WorkflowDefinition } from "../../src/engines/workflow/definition.js";
import { workflowHints } from "../../src/engines/workflow/hints.js";
import { createLogger } from "../../src/log/logger.js";
import { toMcpTool } from "../../src/mcp/tool-listing.js";
import { dereferenceSchema } from "../../src/tools/schema-deref.js";
import { putContext, sessionAgent } from "../authorization/support.js";
import {
  createWorkflow,
  oneStep,
  postJson,
  problemsOf,
  type RestEnv,
  registerBilling,
  startRestEnv,
} from "../rest-tools/support.js";
import { mcpClient } from "./support.js";

const log = createLogger("error");

describe("schema inlining", () => {
  it("inlines shared definitions, keeps literal values, and drops the definitions", () => {
    const r = dereferenceSchema({
      type: "object",
      $defs: { id: { type: "string", minLength: 1 } },
      properties: {
        a: { $ref: "#/$defs/id" },
        b: { $ref: "#/$defs/id", description: "second" },
        c: { type: "object", default: { $ref: "#/$defs/id" } },
      },
    });
    expect(r).toEqual({
      ok: true,
      schema: {
        type: "object",
        properties: {
          a: { type: "string", minLength: 1 },
          b: { type: "string", minLength: 1 },
          c: { type: "object", default: { $ref: "#/$defs/id" } },
        },
      },
    });
  });

  it("refuses a recursive schema and one that explodes once inlined", () => {
    const recursive = dereferenceSchema({
      $defs: {
        node: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/node" } } } },
      },
      $ref: "#/$defs/node",
    });
    expect(recursive).toMatchObject({ ok: false, message: expect.stringContaining("recursive") });
    const defs: Record<string, unknown> = { l0: { type: "string" } };
    for (let i = 1; i <= 20; i++)
      defs[`l${i}`] = { allOf: [{ $ref: `#/$defs/l${i - 1}` }, { $ref: `#/$defs/l${i - 1}` }] };
    const bomb = dereferenceSchema({ $defs: defs, $ref: "#/$defs/l20" } as never);
    expect(bomb).toMatchObject({ ok: false, message: expect.stringContaining("more than") });
  });
});

describe("tool hints and names", () => {
  const spec = (methods: Record<string, string>) =>
    ({
      byOperationId: new Map(Object.entries(methods).map(([id, method]) => [id, { method }])),
      byMethodPath: new Map(),
      operations: [],
    }) as unknown as IndexedSpec;
  const def = (...ops: string[]) =>
    ({ steps: ops.map((operation_id) => ({ operation_id })) }) as unknown as WorkflowDefinition;

  it("read-only when every step is a GET, destructive with a DELETE, nothing claimed otherwise", () => {
    const s = spec({ a: "GET", b: "GET", c: "DELETE", d: "POST" });
    expect(workflowHints(def("a", "b"), s)).toEqual({ readOnlyHint: true });
    expect(workflowHints(def("a", "c"), s)).toEqual({ destructiveHint: true });
    expect(workflowHints(def("a", "d"), s)).toEqual({});
  });

  it("leaves out names MCP clients refuse and roots every input schema at an object", async () => {
    const base = {
      description: "",
      info: { kind: "native" as const },
      definitionHash: "h",
      run: async () => ({ result: null, isError: false }),
    };
    expect(await toMcpTool({ ...base, name: "a".repeat(65), inputSchema: {} }, log)).toBeNull();
    expect(await toMcpTool({ ...base, name: "bad name", inputSchema: {} }, log)).toBeNull();
    expect((await toMcpTool({ ...base, name: "ok.name", inputSchema: {} }, log))?.inputSchema).toEqual({
      type: "object",
    });
    expect(
      (await toMcpTool({ ...base, name: "ok.two", inputSchema: { type: "string" } }, log))?.inputSchema,
    ).toEqual({
      type: "object",
      allOf: [{ type: "string" }],
    });
  });
});

describe("workflows in tools/list (sqlite)", () => {
  let env: RestEnv;
  let specId: string;
  beforeAll(async () => {
    env = await startRestEnv("sqlite");
    specId = (await registerBilling(env)).id;
    await putContext(env.t, { name: "list-ctx", capabilities: [{ tool_pattern: "billing.*" }] });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("shows inlined schemas and the hints of the steps' methods", async () => {
    const schema = {
      type: "object",
      $defs: { email: { type: "string", pattern: "^[^@]+@[^@]+$" } },
      properties: { email: { $ref: "#/$defs/email" } },
      required: ["email"],
    };
    await createWorkflow(
      env.t,
      oneStep(
        specId,
        "billing.find",
        { operation_id: "searchCustomers", query_params: { email: "{{input.email}}" } },
        schema,
      ),
    );
    await createWorkflow(
      env.t,
      oneStep(specId, "billing.sum", { operation_id: "sumInvoices", body_template: "{{json input}}" }),
    );
    const agent = await sessionAgent(env.t, { context: "list-ctx" });
    const client = await mcpClient({
      url: "http://127.0.0.1/mcp",
      token: agent.token,
      fetch: async (url, init) => await env.t.gw.app.request(String(url), init),
    });
    try {
      const { tools } = await client.listTools();
      const find = tools.find((x) => x.name === "billing.find");
      expect(find?.inputSchema).toEqual({
        type: "object",
        properties: { email: { type: "string", pattern: "^[^@]+@[^@]+$" } },
        required: ["email"],
      });
      expect(find?.annotations).toEqual({ readOnlyHint: true });
      expect(tools.find((x) => x.name === "billing.sum")?.annotations).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it("refuses at registration a recursive input schema and a name longer than 64 characters", async () => {
    const recursive = oneStep(
      specId,
      "billing.tree",
      { operation_id: "searchCustomers" },
      {
        type: "object",
        $defs: {
          n: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/n" } } } },
        },
        properties: { root: { $ref: "#/$defs/n" } },
      },
    );
    const r1 = await postJson(env.t, "/v1/workflows", recursive, env.t.adminToken());
    expect(r1.status).toBe(400);
    expect(problemsOf(r1.body)).toContainEqual({
      path: "$.input_schema",
      message: expect.stringContaining("recursive"),
    });
    const long = oneStep(specId, `billing.${"x".repeat(57)}`, {
      operation_id: "searchCustomers",
      query_params: { email: "x" },
    });
    const r2 = await postJson(env.t, "/v1/workflows", long, env.t.adminToken());
    expect(r2.status).toBe(400);
    expect(problemsOf(r2.body).map((p) => p.path)).toContain("$.name");
  });
});
