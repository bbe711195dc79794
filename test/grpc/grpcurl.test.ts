/**
 * An independent client: grpcurl, built from the Go module proxy by scripts/grpcurl.sh, reads
 * the services by reflection (no proto file), describes them and calls methods with the
 * descriptors reflection serves (map entries named as protoc names them: src/grpc/descriptors.ts).
 * Then docs/grpc.md "Walk-through with grpcurl" is run as written — its sh blocks, in order —
 * against a real gateway process (dist/src/main.js with the gRPC listener on), so the document
 * and the product cannot drift apart.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { staticTools } from "../../src/tools/registry.js";
import { putContext, sessionAgent, testTool } from "../authorization/support.js";
import { freePort, type GatewayProcess, startGateway, tempDir } from "../cli/process.js";
import { cliToken, ok, type ProcessApi } from "../credentials/process-support.js";
import { BILLING_YAML } from "../rest-tools/support.js";
import { runDocBlock } from "../support/doc-blocks.js";
import { envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { type GrpcEnv, startGrpc } from "./support.js";

const root = packageRoot();
const grpcurl = join(root, ".cache", "bin", "grpcurl");
const tool = testTool("curl.tool", {
  info: { kind: "cli" },
  result: () => ({ exit_code: 0, stdout: "hi", stderr: "" }),
});

describe("grpcurl via reflection", () => {
  let t: TestGateway;
  let g: GrpcEnv;

  beforeAll(async () => {
    execFileSync("bash", [join(root, "scripts", "grpcurl.sh")], { stdio: "inherit" });
    t = await startTestGateway("sqlite", {}, { tools: [staticTools([tool])] });
    g = await startGrpc(t);
    await putContext(t, { name: "curl", capabilities: [{ tool_pattern: "curl.*" }] });
  }, 600_000);
  afterAll(async () => {
    await g?.close();
    await t?.close();
  });
  // Asynchronous: the server under test runs on this event loop.
  const run = async (...args: string[]) =>
    (await promisify(execFile)(grpcurl, ["-plaintext", ...args], { encoding: "utf8", timeout: 15_000 }))
      .stdout;

  const addr = () => `127.0.0.1:${g.serving.port}`;

  it("lists the services by reflection", async () => {
    expect((await run(addr(), "list")).trim().split("\n").sort()).toEqual([
      "aegis.seal_gateway.v1.GatewayInvocationService",
      "aegis.seal_gateway.v1.ToolWorkflowService",
      "grpc.health.v1.Health",
    ]);
  });

  it("describes the messages with maps, as the proto declares them", async () => {
    expect(await run(addr(), "describe", "aegis.seal_gateway.v1.WorkflowStep")).toContain(
      "map<string, string> extractors = 4;",
    );
    expect(await run(addr(), "describe", "grpc.health.v1.HealthListResponse")).toMatch(
      /map<string, \.?grpc\.health\.v1\.HealthCheckResponse> statuses = 1;/,
    );
    const svc = await run(addr(), "describe", "aegis.seal_gateway.v1.GatewayInvocationService");
    for (const m of ["InvokeWorkflow", "InvokeCli", "ExploreApi", "ListTools"])
      expect(svc).toContain(`rpc ${m} (`);
  });

  it("calls methods by reflection: health, and InvokeCli with the agent's envelope", async () => {
    expect(JSON.parse(await run(addr(), "grpc.health.v1.Health/Check"))).toEqual({ status: "SERVING" });
    const agent = await sessionAgent(t, { context: "curl" });
    const args = { subcommand: "hello", args: ["a"] };
    const out = await run(
      "-H",
      `x-seal-envelope: ${envelopeBody(t, agent, "curl.tool", args)}`,
      "-d",
      JSON.stringify({ tool_name: "curl.tool", ...args }),
      addr(),
      "aegis.seal_gateway.v1.GatewayInvocationService/InvokeCli",
    );
    expect(JSON.parse(out)).toMatchObject({ stdout: "hi" });
  });

  it("shows a refusal's status and SEAL trailers", async () => {
    const r = await promisify(execFile)(
      grpcurl,
      [
        "-plaintext",
        "-v",
        "-d",
        '{"tool_name":"curl.tool","subcommand":"x"}',
        addr(),
        "aegis.seal_gateway.v1.GatewayInvocationService/InvokeCli",
      ],
      { encoding: "utf8", timeout: 15_000 },
    ).then(
      () => null,
      (err: { stdout: string; stderr: string }) => err,
    );
    expect(r?.stderr).toContain("Code: Unauthenticated");
    // As docs/grpc.md says.
    expect(r?.stdout).toContain("seal-code: 1004");
    expect(r?.stdout).toContain("seal-reason: missing_credentials");
  });
});

const HEADING = "## Walk-through with grpcurl";
const DOC = readFileSync(join(root, "docs", "grpc.md"), "utf8");
/** Printed by the test between the blocks (not part of the document), to split the output. */
const CUT = "----8<---- next block";

/** Every sh block of the walk-through section, in order. */
function walkthroughBlocks(doc: string): string[] {
  const start = doc.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`docs/grpc.md has no "${HEADING}" section`);
  const rest = doc.slice(start + HEADING.length + 2);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

describe("the docs/grpc.md walk-through blocks", () => {
  it("list, register, invoke by envelope and by orchestrator — by reflection, with nothing machine-specific", () => {
    const blocks = walkthroughBlocks(DOC);
    expect(blocks).toHaveLength(4);
    const all = blocks.join("\n");
    for (const literal of ["127.0.0.1", "localhost", "50055", "-proto", "-import-path", "dist/src/main.js"])
      expect(all, `the blocks must not hard-code ${literal}`).not.toContain(literal);
    expect(blocks[0]).toMatch(/grpcurl -plaintext "\$GRPC_ADDR" list/);
    expect(blocks[1]).toContain("ToolWorkflowService/CreateWorkflow");
    expect(blocks[1]).toMatch(/seal-gateway token --role operator/);
    expect(blocks[2]).toMatch(
      /-H "x-seal-envelope: \$ENVELOPE"[\s\S]*GatewayInvocationService\/InvokeWorkflow/,
    );
    expect(blocks[3]).toMatch(
      /seal-gateway token --role orchestrator[\s\S]*"execution_id": "'"\$EXECUTION_ID"'"/,
    );
    expect(DOC).not.toContain("Known defect");
  });
});

describe("docs/grpc.md walk-through against a real gateway process", () => {
  const dir = tempDir("seal-grpc-doc-");
  const work = tempDir("seal-grpc-doc-work-");
  let up: Upstream;
  let gw: GatewayProcess;
  let grpcPort: number;
  const env: Record<string, string> = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
    SEAL_GATEWAY_GRPC_ENABLED: "true",
  };

  beforeAll(async () => {
    execFileSync("bash", [join(root, "scripts", "grpcurl.sh")], { stdio: "inherit" });
    up = await startUpstream();
    grpcPort = await freePort();
    env.SEAL_GATEWAY_GRPC_PORT = String(grpcPort);
    gw = await startGateway({ env, cwd: dir });
    // The HTTP listener answers /health; the gRPC one must accept connections too.
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(grpcPort, "127.0.0.1", () => {
          s.end();
          resolve(true);
        }).on("error", () => resolve(false));
      });
      if (up) break;
      if (i > 100) throw new Error(`the gRPC listener is not up:\n${gw.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 600_000);
  afterAll(async () => {
    await gw?.kill();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("runs as written: lists, registers billing.find, invokes it by envelope and by orchestrator token", async () => {
    const p: ProcessApi = { url: gw.url, admin: await cliToken(env, dir) };
    const spec = await ok(p, "POST", "/v1/specs", {
      name: "billing",
      inline_yaml: BILLING_YAML(),
      base_url: up.url,
    });
    await ok(p, "POST", "/v1/security-contexts", {
      name: "orchestrated",
      capabilities: [{ tool_pattern: "billing.*" }],
    });
    const pair = generateKeyPair();
    const session = await ok(p, "POST", "/v1/seal/sessions", {
      sub: "agent-7",
      security_context_name: "orchestrated",
      public_key_b64: pair.publicKeyB64,
    });
    const executionId = String(session.execution_id);

    const r = await runDocBlock(
      walkthroughBlocks(DOC).join(`\necho ${JSON.stringify(CUT)}\n`),
      {
        ...env,
        PATH: `${join(root, ".cache", "bin")}:${process.env.PATH ?? ""}`,
        GRPC_ADDR: `127.0.0.1:${grpcPort}`,
        SPEC_ID: String(spec.id),
        SEAL_TOKEN: String(session.security_token),
        SEAL_PRIVATE_KEY: pair.privateKeyB64,
        EXECUTION_ID: executionId,
      },
      work,
    );
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`).toBe(
      0,
    );
    const [listing = "", created = "", byEnvelope = "", byOrchestrator = ""] = r.stdout.split(`${CUT}\n`);
    const [services, health] = [listing.slice(0, listing.indexOf("{")), listing.slice(listing.indexOf("{"))];
    expect(services.trim().split("\n")).toEqual([
      "aegis.seal_gateway.v1.GatewayInvocationService",
      "aegis.seal_gateway.v1.ToolWorkflowService",
      "grpc.health.v1.Health",
    ]);
    expect(JSON.parse(health)).toEqual({ status: "SERVING" });
    const workflowId = String((JSON.parse(created) as { workflow_id: string }).workflow_id);
    expect(workflowId).toMatch(/^wf_/);
    const result = (text: string) => JSON.parse(JSON.parse(text).result_json) as Record<string, unknown>;
    expect(result(byEnvelope)).toMatchObject({ state: { find: { id: "ada@example.com" } } });
    expect(result(byOrchestrator)).toMatchObject({ state: { find: { id: "alan@example.com" } } });
    // The upstream saw both runs; the audit trail has each call, the second with both identities.
    expect(up.requests.filter((q) => q.method === "POST").map((q) => JSON.parse(String(q.body)))).toEqual([
      { email: "ada@example.com" },
      { email: "alan@example.com" },
    ]);
    const rows = (await ok(p, "GET", `/v1/events?execution_id=${executionId}&tool=billing.find`)) as {
      items: Array<{ event_type: string; agent_id: string; payload: Record<string, unknown> }>;
    };
    const completed = rows.items.filter((e) => e.event_type === "ToolCallCompleted");
    expect(completed).toHaveLength(2);
    for (const e of completed) expect([e.agent_id, e.payload.transport]).toEqual(["agent-7", "grpc"]);
    expect(completed.map((e) => e.payload.orchestrator ?? null).sort()).toEqual(
      ["orchestrator-1", null].sort(),
    );
  });
});
