/**
 * The gRPC auth matrix: every RPC the proto declares (enumerated from the service definitions,
 * so a new RPC without an entry here fails) is refused without a token, with a bad token, with
 * the wrong role and across tenants — each refusal with its status, an audit row, nothing run.
 */
import { type Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTools } from "../../src/tools/registry.js";
import { events, putContext, type SessionAgent, sessionAgent, testTool } from "../authorization/support.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type Answer, bearerMd, call, declaredRpcs, type GrpcEnv, md, startGrpc } from "./support.js";

const tool = testTool("matrix.tool", { info: { kind: "cli" } });

type Who = "viewer" | "operator" | "approver" | "admin" | "orchestrator";
interface Entry {
  /** A valid request (for the session `agent` where it names one). */
  request: (agent: SessionAgent) => Record<string, unknown>;
  /** Roles refused PERMISSION_DENIED; the others pass authorization. */
  deniedRoles: Who[];
  /** A request naming another tenant (or its object), and how it is refused. */
  wrongTenant?: (other: SessionAgent) => { request: Record<string, unknown>; code: number };
}

const CONTROL_DENIED: Who[] = ["viewer", "approver", "orchestrator"];
const READ_DENIED: Who[] = ["orchestrator"];
const INVOKE_DENIED: Who[] = ["viewer", "operator", "approver", "admin"];

const wf = {
  name: "matrix.wf",
  description: "",
  api_spec_id: "spec_none",
  input_schema_json: "{}",
  steps: [],
};

const MATRIX: Record<string, Entry> = {
  "ToolWorkflowService/CreateWorkflow": { request: () => ({ workflow: wf }), deniedRoles: CONTROL_DENIED },
  "ToolWorkflowService/GetWorkflow": {
    request: () => ({ workflow_id: "wf_missing" }),
    deniedRoles: READ_DENIED,
  },
  "ToolWorkflowService/ListWorkflows": { request: () => ({}), deniedRoles: READ_DENIED },
  "ToolWorkflowService/UpdateWorkflow": {
    request: () => ({ workflow: { ...wf, id: "wf_missing" } }),
    deniedRoles: CONTROL_DENIED,
  },
  "ToolWorkflowService/DeleteWorkflow": {
    request: () => ({ workflow_id: "wf_missing" }),
    deniedRoles: CONTROL_DENIED,
  },
  "GatewayInvocationService/InvokeWorkflow": {
    request: (a) => ({ execution_id: a.executionId, workflow_name: "matrix.tool", input_json: "{}" }),
    deniedRoles: INVOKE_DENIED,
    wrongTenant: (o) => ({
      request: { execution_id: o.executionId, workflow_name: "matrix.tool", input_json: "{}" },
      code: status.UNAUTHENTICATED,
    }),
  },
  "GatewayInvocationService/InvokeCli": {
    request: (a) => ({ execution_id: a.executionId, tool_name: "matrix.tool", subcommand: "x" }),
    deniedRoles: INVOKE_DENIED,
    wrongTenant: (o) => ({
      request: { execution_id: o.executionId, tool_name: "matrix.tool", subcommand: "x", tenant_id: "other" },
      code: status.PERMISSION_DENIED,
    }),
  },
  "GatewayInvocationService/ExploreApi": {
    request: (a) => ({ execution_id: a.executionId, api_spec_id: "s", operation_id: "o", fields: ["$"] }),
    deniedRoles: INVOKE_DENIED,
    wrongTenant: (o) => ({
      request: { execution_id: o.executionId, api_spec_id: "s", operation_id: "o", fields: ["$"] },
      code: status.UNAUTHENTICATED,
    }),
  },
  "GatewayInvocationService/ListTools": { request: () => ({}), deniedRoles: INVOKE_DENIED },
};

describe.each(BACKENDS)("gRPC auth matrix (%s)", (backend) => {
  let t: TestGateway;
  let g: GrpcEnv;
  let agent: SessionAgent;
  let other: SessionAgent;

  beforeAll(async () => {
    t = await startTestGateway(backend, {}, { tools: [staticTools([tool])] });
    g = await startGrpc(t);
    await putContext(t, {
      name: "matrix",
      capabilities: [{ tool_pattern: "matrix.*" }, { tool_pattern: "explorer" }],
    });
    await putContext(t, { name: "matrix", tenant_id: "other", capabilities: [{ tool_pattern: "matrix.*" }] });
    agent = await sessionAgent(t, { context: "matrix" });
    other = await sessionAgent(t, { context: "matrix", tenant: "other" });
  });
  afterAll(async () => {
    await g?.close();
    await t?.close();
  });

  const send = (rpc: string, req: unknown, metadata: Metadata): Promise<Answer> => {
    const [service, method] = rpc.split("/") as [keyof GrpcEnv["clients"], string];
    return call(g.clients[service], method, req, metadata);
  };
  const rowCount = async () => (await events(t, {})).length;

  /** Refused with `code` (and `reason`), one more audit row, the tool never ran. */
  async function expectRefused(rpc: string, req: unknown, metadata: Metadata, code: number, reason?: string) {
    const before = await rowCount();
    const runs = tool.runs.length;
    const a = await send(rpc, req, metadata);
    if (a.ok) throw new Error(`${rpc}: answered OK`);
    expect([rpc, a.code], a.details).toEqual([rpc, code]);
    if (reason) expect(a.seal.reason, rpc).toBe(reason);
    expect(a.seal.code, `${rpc}: seal-code`).toMatch(/^\d{4}$/);
    expect(await rowCount(), `${rpc}: an audit row`).toBeGreaterThan(before);
    expect(tool.runs.length, `${rpc}: nothing ran`).toBe(runs);
  }

  it("covers every RPC the proto declares (a new RPC cannot be added open)", () => {
    expect(Object.keys(MATRIX).sort()).toEqual(declaredRpcs().sort());
  });

  it("no credentials → UNAUTHENTICATED on every RPC", async () => {
    for (const rpc of declaredRpcs()) {
      const entry = MATRIX[rpc] as Entry;
      await expectRefused(rpc, entry.request(agent), md(), status.UNAUTHENTICATED);
    }
  });

  it("a bad token (garbage, tampered, an agent token on the control plane) → UNAUTHENTICATED", async () => {
    const tampered = `${t.operatorToken("admin").slice(0, -4)}AAAA`;
    for (const rpc of declaredRpcs()) {
      const entry = MATRIX[rpc] as Entry;
      for (const token of ["not-a-jwt", tampered])
        await expectRefused(rpc, entry.request(agent), bearerMd(token), status.UNAUTHENTICATED);
      if (rpc.startsWith("ToolWorkflowService"))
        await expectRefused(rpc, entry.request(agent), bearerMd(agent.token), status.UNAUTHENTICATED);
    }
  });

  it("the wrong role → PERMISSION_DENIED exactly where the matrix says; other roles pass", async () => {
    const roles: Who[] = ["viewer", "operator", "approver", "admin", "orchestrator"];
    for (const rpc of declaredRpcs()) {
      const entry = MATRIX[rpc] as Entry;
      for (const role of roles) {
        const metadata = bearerMd(t.operatorToken(role, "default"));
        if (entry.deniedRoles.includes(role)) {
          await expectRefused(rpc, entry.request(agent), metadata, status.PERMISSION_DENIED, "wrong_role");
        } else {
          const a = await send(rpc, entry.request(agent), metadata);
          expect(a.ok ? "ok" : a.seal.reason, `${role} on ${rpc}`).not.toBe("wrong_role");
          expect(a.ok ? status.OK : a.code, `${role} on ${rpc}`).not.toBe(status.UNAUTHENTICATED);
        }
      }
    }
  });

  it("another tenant: its session, object or tenant_id is refused and nothing of it is shown", async () => {
    const orch = bearerMd(t.operatorToken("orchestrator", "default"));
    for (const [rpc, entry] of Object.entries(MATRIX)) {
      if (!entry.wrongTenant) continue;
      const w = entry.wrongTenant(other);
      await expectRefused(rpc, w.request, orch, w.code);
    }
    // The control plane: another tenant's workflow is not found, and not listed.
    const created = await call(
      g.clients.ToolWorkflowService,
      "CreateWorkflow",
      { workflow: wf },
      bearerMd(t.operatorToken("operator", "other")),
    );
    expect(created.ok).toBe(false);
    const listed = await call(
      g.clients.ToolWorkflowService,
      "ListWorkflows",
      {},
      bearerMd(t.operatorToken("viewer", "acme")),
    );
    expect(listed.ok && listed.res.workflows).toEqual([]);
    // An envelope naming another tenant in tenant_id.
    const { envelopeBody } = await import("../support/gateway.js");
    await expectRefused(
      "GatewayInvocationService/InvokeCli",
      { tool_name: "matrix.tool", subcommand: "x", tenant_id: "other" },
      md({ "x-seal-envelope": envelopeBody(t, agent, "matrix.tool", { subcommand: "x" }) }),
      status.PERMISSION_DENIED,
      "wrong_tenant",
    );
  });

  it("both credentials at once are refused, and a valid orchestrator call runs (the matrix has teeth)", async () => {
    const both = bearerMd(t.operatorToken("orchestrator"));
    both.set("x-seal-envelope", "{}");
    await expectRefused(
      "GatewayInvocationService/InvokeCli",
      MATRIX["GatewayInvocationService/InvokeCli"]?.request(agent),
      both,
      status.INVALID_ARGUMENT,
      "two_credentials",
    );
    const runs = tool.runs.length;
    const a = await send(
      "GatewayInvocationService/InvokeCli",
      MATRIX["GatewayInvocationService/InvokeCli"]?.request(agent),
      bearerMd(t.operatorToken("orchestrator")),
    );
    expect(a.ok, a.ok ? "" : a.details).toBe(true);
    expect(tool.runs.length).toBe(runs + 1);
  });
});
