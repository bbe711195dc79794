/**
 * An independent client: grpcurl, built from the Go module proxy by scripts/grpcurl.sh, reads
 * the services by reflection (no proto file), describes them and calls methods with the
 * descriptors reflection serves (map entries named as protoc names them: src/grpc/descriptors.ts).
 */
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { staticTools } from "../../src/tools/registry.js";
import { putContext, sessionAgent, testTool } from "../authorization/support.js";
import { envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
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
    expect(r?.stdout).toMatch(/seal-code: 100\d/);
  });
});
