/**
 * Every RPC of proto/seal_gateway.proto driven by a @grpc/grpc-js client loaded from the proto,
 * on both stores: the control RPCs over the workflow verbs, the invocation RPCs through the
 * whole pipeline (by envelope and by orchestrator token), health and reflection, bad input,
 * and the client's deadline reaching the tool run.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTools } from "../../src/tools/registry.js";
import { events, putContext, type SessionAgent, sessionAgent, testTool } from "../authorization/support.js";
import { type RestEnv, registerBilling, startRestEnv } from "../rest-tools/support.js";
import { BACKENDS, envelopeBody } from "../support/gateway.js";
import { type Answer, bearerMd, call, type GrpcEnv, md, startGrpc } from "./support.js";

const cliTool = testTool("demo.cli", {
  info: { kind: "cli" },
  result: (ctx) => ({ exit_code: 3, stdout: `ran ${JSON.stringify(ctx.arguments)}`, stderr: "warn" }),
});

/**
 * Waits until its signal aborts, as engines do (a container is killed then). The counters are
 * module-wide (both stores share this tool), so a test compares against its own baseline.
 */
const hang = {
  ...testTool("demo.hang", { info: { kind: "cli" } }),
  started: 0,
  aborted: 0,
  run({ signal }: { signal: AbortSignal }) {
    hang.started += 1;
    return new Promise<never>((_, reject) =>
      signal.addEventListener("abort", () => {
        hang.aborted += 1;
        reject(signal.reason);
      }),
    );
  },
};

function ok(a: Answer): Record<string, unknown> {
  if (!a.ok) throw new Error(`expected OK, got ${a.code} ${a.details} ${a.seal.reason}`);
  return a.res;
}
function refused(a: Answer, code: number, reason?: string) {
  if (a.ok) throw new Error(`expected status ${code}, got OK ${JSON.stringify(a.res)}`);
  expect([a.code, a.details]).toEqual([code, a.details]);
  if (reason) expect(a.seal.reason, a.details).toBe(reason);
  return a;
}

describe.each(BACKENDS)("gRPC aegis.seal_gateway.v1 (%s)", (backend) => {
  let env: RestEnv;
  let g: GrpcEnv;
  let specId: string;
  let agent: SessionAgent;
  const workflow = (name: string) => ({
    name,
    description: "a customer by e-mail",
    api_spec_id: specId,
    input_schema_json: JSON.stringify({ type: "object", properties: { email: { type: "string" } } }),
    steps: [
      {
        name: "find",
        operation_id: "echoBody",
        body_template: '{"email": "{{input.email}}"}',
        extractors: { id: "$.received.email" },
        on_error: "",
      },
    ],
  });

  beforeAll(async () => {
    env = await startRestEnv(
      backend,
      { SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8", SEAL_GATEWAY_GRPC_MAX_MESSAGE_BYTES: "65536" },
      { tools: [staticTools([cliTool, hang])] },
    );
    g = await startGrpc(env.t);
    specId = (await registerBilling(env)).id;
    await putContext(env.t, {
      name: "grpc-ctx",
      capabilities: [{ tool_pattern: "billing.*" }, { tool_pattern: "demo.*" }, { tool_pattern: "explorer" }],
    });
    agent = await sessionAgent(env.t, { context: "grpc-ctx" });
  });
  afterAll(async () => {
    await g?.close();
    await env?.close();
  });

  const wf = () => g.clients.ToolWorkflowService;
  const inv = () => g.clients.GatewayInvocationService;
  const operator = () => bearerMd(env.t.operatorToken("operator"));
  const orchestrator = (tenant = "default") => bearerMd(env.t.operatorToken("orchestrator", tenant));
  const envelopeMd = (tool: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
    md({ "x-seal-envelope": signed(tool, args, meta) });
  const signed = (tool: string, args: Record<string, unknown>, _meta?: Record<string, unknown>) =>
    envelopeBody(env.t, agent, tool, args);

  it("ToolWorkflowService: create, get, list, update, delete — the same verbs and rows as /v1/workflows", async () => {
    const created = ok(
      await call(wf(), "CreateWorkflow", { workflow: workflow("billing.grpc_crud") }, operator()),
    );
    const id = String(created.workflow_id);
    expect(id).toMatch(/^wf_/);
    const got = ok(await call(wf(), "GetWorkflow", { workflow_id: id }, operator()));
    const w = got.workflow as Record<string, unknown>;
    expect(w).toMatchObject({ id, name: "billing.grpc_crud", api_spec_id: specId });
    expect(JSON.parse(String(w.input_schema_json))).toEqual({
      type: "object",
      properties: { email: { type: "string" } },
    });
    expect((w.steps as Record<string, unknown>[])[0]).toMatchObject({
      name: "find",
      operation_id: "echoBody",
      body_template: '{"email": "{{input.email}}"}',
      extractors: { id: "$.received.email" },
      on_error: "AbortWorkflow",
    });
    const listed = ok(await call(wf(), "ListWorkflows", {}, operator()));
    expect(listed.workflows).toContainEqual({
      id,
      name: "billing.grpc_crud",
      description: "a customer by e-mail",
    });
    const http = await env.t.request(`/v1/workflows/${id}`, {
      headers: { authorization: `Bearer ${env.t.adminToken()}` },
    });
    expect(http.status).toBe(200);
    const upd = ok(
      await call(
        wf(),
        "UpdateWorkflow",
        { workflow: { ...workflow("billing.grpc_crud"), id, description: "v2" } },
        operator(),
      ),
    );
    expect(upd).toEqual({ updated: true });
    const again = ok(await call(wf(), "GetWorkflow", { workflow_id: id }, operator()));
    expect((again.workflow as Record<string, unknown>).description).toBe("v2");
    expect(ok(await call(wf(), "DeleteWorkflow", { workflow_id: id }, operator()))).toEqual({
      deleted: true,
    });
    refused(await call(wf(), "GetWorkflow", { workflow_id: id }, operator()), status.NOT_FOUND, "not_found");
    const rows = await events(env.t, { tool: "billing.grpc_crud" });
    expect(rows.map((r) => r.event_type)).toEqual([
      "WorkflowRegistered",
      "WorkflowUpdated",
      "WorkflowDeleted",
    ]);
    expect(rows[0]?.payload.actor).toBe("test-operator");
  });

  it("InvokeWorkflow with the agent's envelope runs the workflow through the pipeline", async () => {
    ok(await call(wf(), "CreateWorkflow", { workflow: workflow("billing.grpc_find") }, operator()));
    const args = { email: "ada@example.com" };
    const out = ok(
      await call(
        inv(),
        "InvokeWorkflow",
        {
          execution_id: agent.executionId,
          workflow_name: "billing.grpc_find",
          input_json: JSON.stringify(args),
        },
        envelopeMd("billing.grpc_find", args),
      ),
    );
    const result = JSON.parse(String(out.result_json)) as { state: Record<string, unknown> };
    expect(result.state).toMatchObject({ find: { id: "ada@example.com" } });
    const rows = await events(env.t, { execution_id: agent.executionId, tool: "billing.grpc_find" });
    const completed = rows.find((r) => r.event_type === "ToolCallCompleted");
    expect(completed?.payload.transport).toBe("grpc");
    expect(completed?.agent_id).toBe(agent.sub);
  });

  it("InvokeWorkflow by an orchestrator token: runs for the session, rows name agent and orchestrator", async () => {
    const out = ok(
      await call(
        inv(),
        "InvokeWorkflow",
        {
          execution_id: agent.executionId,
          workflow_name: "billing.grpc_find",
          input_json: JSON.stringify({ email: "alan@example.com" }),
          tenant_id: "default",
        },
        orchestrator(),
      ),
    );
    expect(JSON.parse(String(out.result_json)).state.find.id).toBe("alan@example.com");
    const rows = await events(env.t, { execution_id: agent.executionId, tool: "billing.grpc_find" });
    const mine = rows.filter((r) => r.payload.orchestrator === "test-orchestrator");
    expect(mine.map((r) => r.event_type)).toEqual(
      expect.arrayContaining(["ToolCallAuthorized", "ToolCallCompleted"]),
    );
    for (const r of mine) expect(r.agent_id).toBe(agent.sub);
    expect(mine[0]?.payload.binding).toBe("orchestrator");
  });

  it("the orchestrator's call is judged by the session's context (a tool it does not allow is refused)", async () => {
    const a = refused(
      await call(
        inv(),
        "InvokeWorkflow",
        { execution_id: agent.executionId, workflow_name: "crm.other", input_json: "{}" },
        orchestrator(),
      ),
      status.PERMISSION_DENIED,
    );
    expect(a.seal.code).toBe("2006");
  });

  it("InvokeCli and ExploreApi, by envelope; ListTools for the agent and for an orchestrator", async () => {
    const cli = ok(
      await call(
        inv(),
        "InvokeCli",
        { execution_id: agent.executionId, tool_name: "demo.cli", subcommand: "status", args: ["-v"] },
        envelopeMd("demo.cli", { subcommand: "status", args: ["-v"] }),
      ),
    );
    expect(cli).toEqual({
      exit_code: 3,
      stdout: 'ran {"args":["-v"],"subcommand":"status"}',
      stderr: "warn",
    });
    const explored = ok(
      await call(
        inv(),
        "ExploreApi",
        {
          execution_id: agent.executionId,
          api_spec_id: specId,
          operation_id: "searchCustomers",
          parameters_json: JSON.stringify({ email: "ada@example.com" }),
          fields: ["$.data[0].name"],
        },
        envelopeMd("explorer", {
          api_spec_id: specId,
          operation_id: "searchCustomers",
          parameters: { email: "ada@example.com" },
          fields: ["$.data[0].name"],
        }),
      ),
    );
    expect(JSON.parse(String(explored.sliced_data_json))).toEqual({ "$.data[0].name": ["Ada Lovelace"] });
    expect(JSON.parse(String(explored.operation_metadata_json)).status).toBe(200);
    const mineOnly = ok(await call(inv(), "ListTools", {}, bearerMd(agent.token)));
    const names = (mineOnly.tools as { name: string; kind: string }[]).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["demo.cli", "explorer", "billing.grpc_find"]));
    const all = ok(await call(inv(), "ListTools", {}, orchestrator()));
    const cliRow = (all.tools as Record<string, unknown>[]).find((t) => t.name === "demo.cli");
    expect(cliRow).toMatchObject({ kind: "cli", input_schema_json: '{"type":"object"}' });
  });

  it("bad input: each a clear status, an audit row, nothing run", async () => {
    const runsBefore = cliTool.runs.length;
    const upBefore = env.up.requests.length;
    const cases: { name: string; run: () => Promise<Answer>; code: number; reason: string }[] = [
      {
        name: "envelope arguments differ from the request's",
        run: () =>
          call(
            inv(),
            "InvokeCli",
            { tool_name: "demo.cli", subcommand: "rm", args: ["-rf"] },
            envelopeMd("demo.cli", { subcommand: "status" }),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "arguments_mismatch",
      },
      {
        name: "envelope tool differs",
        run: () =>
          call(
            inv(),
            "InvokeCli",
            { tool_name: "demo.other", subcommand: "x" },
            envelopeMd("demo.cli", { subcommand: "x" }),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "name_mismatch",
      },
      {
        name: "input_json is not JSON",
        run: () =>
          call(
            inv(),
            "InvokeWorkflow",
            { execution_id: agent.executionId, workflow_name: "billing.grpc_find", input_json: "{nope" },
            orchestrator(),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_request",
      },
      {
        name: "input_json is not an object",
        run: () =>
          call(
            inv(),
            "InvokeWorkflow",
            { execution_id: agent.executionId, workflow_name: "billing.grpc_find", input_json: "[1]" },
            orchestrator(),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_request",
      },
      {
        name: "missing workflow_name",
        run: () => call(inv(), "InvokeWorkflow", { execution_id: agent.executionId }, orchestrator()),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_request",
      },
      {
        name: "missing execution_id (orchestrator)",
        run: () => call(inv(), "InvokeWorkflow", { workflow_name: "billing.grpc_find" }, orchestrator()),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_request",
      },
      {
        name: "fsal_mounts (not supported)",
        run: () =>
          call(
            inv(),
            "InvokeCli",
            {
              execution_id: agent.executionId,
              tool_name: "demo.cli",
              subcommand: "x",
              fsal_mounts: [{ volume_id: "v" }],
            },
            orchestrator(),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_request",
      },
      {
        name: "missing workflow (CreateWorkflow)",
        run: () => call(wf(), "CreateWorkflow", {}, operator()),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_body",
      },
      {
        name: "unknown enum value on_error",
        run: () =>
          call(
            wf(),
            "CreateWorkflow",
            {
              workflow: {
                ...workflow("billing.bad_enum"),
                steps: [{ ...workflow("x").steps[0], on_error: "explode" }],
              },
            },
            operator(),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "invalid_body",
      },
      {
        name: "oversized message",
        run: () =>
          call(
            inv(),
            "InvokeWorkflow",
            {
              execution_id: agent.executionId,
              workflow_name: "billing.grpc_find",
              input_json: JSON.stringify({ pad: "x".repeat(70_000) }),
            },
            orchestrator(),
          ),
        code: status.RESOURCE_EXHAUSTED,
        reason: "message_too_large",
      },
      {
        name: "a malformed envelope",
        run: () =>
          call(
            inv(),
            "InvokeCli",
            { tool_name: "demo.cli", subcommand: "x" },
            md({ "x-seal-envelope": '{"protocol":1}' }),
          ),
        code: status.INVALID_ARGUMENT,
        reason: "bad_field:protocol",
      },
    ];
    for (const c of cases) {
      const before = (await events(env.t, {})).length;
      const a = await c.run();
      if (a.ok) throw new Error(`${c.name}: answered OK`);
      expect([c.name, a.code, a.seal.reason]).toEqual([c.name, c.code, c.reason]);
      expect(a.seal.error, c.name).toMatchObject({ details: { reason: c.reason } });
      expect((await events(env.t, {})).length, `${c.name}: an audit row`).toBeGreaterThan(before);
    }
    expect(cliTool.runs.length).toBe(runsBefore);
    expect(env.up.requests.length).toBe(upBefore);
  });

  it("wrong wire types and truncated fields are refused before anything runs", async () => {
    const raw = (bytes: number[], metadata = orchestrator()) =>
      new Promise<{ code: number; reason?: string }>((resolve) => {
        inv().makeUnaryRequest(
          "/aegis.seal_gateway.v1.GatewayInvocationService/InvokeWorkflow",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(bytes),
          metadata,
          (err) =>
            resolve({ code: err?.code ?? 0, reason: err?.metadata?.get("seal-reason")[0]?.toString() }),
        );
      });
    // field 2 (workflow_name, a string) sent as a varint; a length past the end; an unknown field.
    for (const bytes of [
      [0x10, 0x01],
      [0x12, 0x05, 0x61],
      [0x78, 0x01],
    ])
      expect(await raw(bytes)).toEqual({ code: status.INVALID_ARGUMENT, reason: "malformed_message" });
  });

  it("a client deadline aborts the tool run (its signal), answered DEADLINE_EXCEEDED and audited", async () => {
    const before = { started: hang.started, aborted: hang.aborted };
    const started = Date.now();
    // Long enough for admission on a loaded machine, so the run itself is what the deadline cuts.
    const a = await call(
      inv(),
      "InvokeCli",
      { execution_id: agent.executionId, tool_name: "demo.hang", subcommand: "wait" },
      orchestrator(),
      1000,
    );
    refused(a, status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(3500);
    expect(hang.started).toBe(before.started + 1);
    await expect.poll(() => hang.aborted).toBe(before.aborted + 1);
    await expect
      .poll(async () =>
        (await events(env.t, { execution_id: agent.executionId, tool: "demo.hang" })).map(
          (r) => r.payload.reason,
        ),
      )
      .toContain("deadline_exceeded");
  });

  it("health (grpc.health.v1) answers SERVING for the gateway's services", async () => {
    const { HealthClient } = await import("./health-client.js");
    const h = new HealthClient(g.serving.port);
    try {
      expect(await h.check("")).toBe("SERVING");
      expect(await h.check("aegis.seal_gateway.v1.GatewayInvocationService")).toBe("SERVING");
    } finally {
      h.close();
    }
  });
});
