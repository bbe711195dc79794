/**
 * Traces of a CLI tool call on the real container engine: the container run is a span under the
 * `execute` stage span, with its outcome, and nothing of the arguments, stdin or the credential
 * the container received reaches the export (docs/operations.md "Traces").
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, putContext, sessionAgent } from "../authorization/support.js";
import { ENGINE_SETUP_TIMEOUT_MS, testEngine } from "../engines/cli/support/engine.js";
import { expectJson } from "../http/support.js";
import { jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type Collector, type OtlpSpan, startCollector } from "./otlp-support.js";

const run = promisify(execFile);
const SECRET = "cli-trace-credential-51c9e0a7";
const STDIN = '{"marker":"cli-trace-stdin-3d8f"}';
const PROGRAM = "{cli_trace_argument: .marker}";

describe("traces of a CLI tool call (real engine)", () => {
  let collector: Collector;
  let t: TestGateway;
  let spans: OtlpSpan[];
  let callId: string;

  beforeAll(async () => {
    const engine = await testEngine();
    collector = await startCollector();
    t = await startTestGateway("sqlite", {
      SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath,
      SEAL_GATEWAY_TRACING_ENABLED: "true",
      SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: collector.endpoint,
    });
    const jq = (
      await run("docker", [
        "-H",
        `unix://${engine.socketPath}`,
        "image",
        "inspect",
        "seal-test/jq",
        "--format",
        "{{.Id}}",
      ])
    ).stdout.trim();
    expect(jq).toMatch(/^sha256:/);
    await expectJson(
      await t.request("/v1/secrets/cli/trace", jsonInit("PUT", { value: SECRET }, t.adminToken())),
      201,
    );
    await expectJson(
      await t.request(
        "/v1/cli-tools",
        jsonInit(
          "POST",
          {
            name: "jq",
            docker_image: jq,
            allowed_subcommands: ["-c"],
            argv_profile: "jq",
            env_credentials: { TRACE_TOKEN: { StaticRef: { key: "cli/trace" } } },
          },
          t.adminToken(),
        ),
      ),
      201,
    );
    await putContext(t, {
      name: "cli-trace",
      capabilities: [{ tool_pattern: "jq", command_allowlist: ["jq"], subcommand_allowlist: ["-c"] }],
    });
    const agent = await sessionAgent(t, { context: "cli-trace" });
    const r = await call(t, agent, "jq", { subcommand: "-c", args: [PROGRAM], stdin: STDIN });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toMatchObject({ exit_code: 0 });
    callId = String(r.body.call_id);
    await t.close();
    spans = await collector.waitFor((all) => all.some((s) => s.name === "seal.container.run"));
  }, ENGINE_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await collector?.close();
  });

  it("the container run is a span under the execute stage, with its outcome", () => {
    const root = spans.find((s) => s.kind === 2 && s.attributes["seal.call_id"] === callId);
    expect(root?.attributes).toMatchObject({ "seal.tool.kind": "cli", "seal.call.status": "success" });
    const execute = spans.find((s) => s.traceId === root?.traceId && s.name === "seal.stage execute");
    expect(execute?.parentSpanId).toBe(root?.spanId);
    const runs = spans.filter((s) => s.name === "seal.container.run");
    expect(runs).toHaveLength(1);
    expect(runs[0]?.parentSpanId).toBe(execute?.spanId);
    expect(runs[0]?.traceId).toBe(root?.traceId);
    expect(runs[0]?.attributes).toEqual({ "seal.container.outcome": "exit_zero" });
  });

  it("nothing of the arguments, stdin or the container's credential is in the export", () => {
    const raw = collector.raw.join("\n");
    for (const needle of [SECRET, "cli-trace-stdin-3d8f", "cli_trace_argument", "TRACE_TOKEN", "seal-test"])
      expect(raw, needle).not.toContain(needle);
  });
});
