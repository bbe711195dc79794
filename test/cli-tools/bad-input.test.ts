/**
 * Issue 12's bad input through the whole gateway (real engine): an unknown subcommand, a
 * disallowed flag, endless output, a fork bomb, a memory hog, a process that ignores SIGTERM,
 * an image that does not exist and the engine down — each answers clearly with its code, is
 * audited, leaves no container of this file's tenant, and the gateway answers the next call.
 * (The engine-level behaviour of each is in test/engines/cli/hostile.test.ts.)
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dockerRuntime } from "../../src/engines/cli/docker-runtime.js";
import type { ContainerRuntime } from "../../src/engines/cli/runtime.js";
import {
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  send,
  sessionAgent,
  signedCall,
} from "../authorization/support.js";
import {
  ENGINE_SETUP_TIMEOUT_MS,
  expectNoContainers,
  type TestEngine,
  testEngine,
} from "../engines/cli/support/engine.js";
import { expectJson } from "../http/support.js";
import { jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

const run = promisify(execFile);
const TENANT = `bad-${randomBytes(4).toString("hex")}`;
const noContainers = { tenantId: TENANT, executionId: "", callId: "" };

let engine: TestEngine;
let t: TestGateway;
let agent: SessionAgent;
let created = 0;

function counting(runtime: ContainerRuntime): ContainerRuntime {
  return {
    ...runtime,
    create: async (spec) => {
      created++;
      return await runtime.create(spec);
    },
  };
}

async function register(gw: TestGateway, body: Record<string, unknown>) {
  await expectJson(
    await gw.request("/v1/cli-tools", jsonInit("POST", { ...body, tenant_id: TENANT }, gw.adminToken())),
    201,
  );
}

async function imageId(image: string): Promise<string> {
  const { stdout } = await run("docker", [
    "-H",
    `unix://${engine.socketPath}`,
    "image",
    "inspect",
    image,
    "--format",
    "{{.Id}}",
  ]);
  return stdout.trim();
}

beforeAll(async () => {
  engine = await testEngine();
  t = await startTestGateway(
    "sqlite",
    { SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath },
    { cliRuntime: counting(engine.runtime) },
  );
  const busybox = await imageId("seal-test/busybox");
  const jq = await imageId("seal-test/jq");
  const sh = (name: string, limits: Record<string, number>, timeout: number) =>
    register(t, {
      name,
      command: "sh",
      docker_image: busybox,
      allowed_subcommands: ["sh"],
      limits,
      default_timeout_seconds: timeout,
    });
  await sh("loud", { max_output_bytes: 65_536 }, 20);
  await sh("bomb", { pids_limit: 16, cpus: 0.25 }, 3);
  await sh("hog", { memory_mb: 32 }, 20);
  await sh("stubborn", {}, 2);
  await register(t, { name: "jq", docker_image: jq, allowed_subcommands: ["-c"], argv_profile: "jq" });
  await register(t, {
    name: "ghost",
    command: "jq",
    docker_image: `sha256:${"1".repeat(64)}`,
    allowed_subcommands: ["-c"],
  });
  // No subcommand_allowlist: the tool's own allowed_subcommands is what refuses.
  await putContext(t, {
    name: "bad-ctx",
    tenant_id: TENANT,
    capabilities: [{ tool_pattern: "*", command_allowlist: ["sh", "jq"] }],
  });
  agent = await sessionAgent(t, { context: "bad-ctx", tenant: TENANT });
}, ENGINE_SETUP_TIMEOUT_MS);

afterEach(async () => {
  await expectNoContainers(engine.runtime, noContainers);
  // The gateway is healthy after each: it answers and runs the next call.
  expect((await t.request("/health")).status).toBe(200);
  const next = await send(t, signedCall(t, agent, "jq", { subcommand: "-c", args: ["."], stdin: "[1]" }));
  expect(next.status, JSON.stringify(next.body)).toBe(200);
  expect(next.body.result).toMatchObject({ exit_code: 0, stdout: "[1]\n" });
});

afterAll(async () => {
  await t?.close();
});

type Cli = { exit_code: number; stdout: string; truncated?: string[] };

/** The payload of the agent's latest CliToolInvocationFailed row (calls here run one at a time). */
async function lastFailure(): Promise<Record<string, unknown> | undefined> {
  const rows = await eventsOf(t, agent.executionId);
  return rows.filter((e) => e.event_type === "CliToolInvocationFailed").at(-1)?.payload;
}

const call = (tool: string, args: Record<string, unknown>) => send(t, signedCall(t, agent, tool, args));

describe("bad input through the gateway (real engine)", () => {
  it("an unknown subcommand: 2003 before any container, audited", async () => {
    created = 0;
    const r = await call("loud", { subcommand: "-x", args: ["echo hi"] });
    expect(expectCode(r, 403, 2003).error?.details.reason).toBe("subcommand_not_allowed");
    expect(created).toBe(0);
    const rows = await eventsOf(t, agent.executionId);
    expect(
      rows.some(
        (e) => e.event_type === "CliToolInvocationFailed" && e.payload.reason === "subcommand_not_allowed",
      ),
    ).toBe(true);
  });

  it("a disallowed flag: 4000 argument_refused before any container, audited", async () => {
    created = 0;
    const r = await call("jq", { subcommand: "-c", args: ["--rawfile", "x", "/etc/passwd", "."] });
    expect(expectCode(r, 400, 4000).error?.details.reason).toBe("argument_refused");
    expect(created).toBe(0);
    expect((await lastFailure())?.reason).toBe("argument_refused");
  });

  it("endless output: capped, killed, a truncated result (isError), completion audited", async () => {
    const r = await call("loud", { subcommand: "sh", args: ["-c", "yes seal"] });
    expect(r.status).toBe(200);
    const out = r.body.result as Cli;
    expect(out.exit_code).toBe(137);
    expect(out.truncated).toEqual(["stdout"]);
    expect(Buffer.byteLength(out.stdout)).toBe(65_536);
    expect(r.body.payload?.result.isError).toBe(true);
    const rows = await eventsOf(t, agent.executionId);
    expect(
      rows.filter((e) => e.event_type === "CliToolInvocationCompleted").at(-1)?.payload.truncated,
    ).toEqual(["stdout"]);
  });

  it("a fork bomb: ends at its timeout with 4041, audited", async () => {
    const r = await call("bomb", {
      subcommand: "sh",
      args: ["-c", "sleep 1000 & (b() { b | b & }; b) 2>/dev/null; wait"],
    });
    expect(expectCode(r, 504, 4041).error?.details.reason).toBe("timeout");
    expect((await lastFailure())?.reason).toBe("timeout");
  });

  it("a memory hog: 4040 memory_limit, audited", async () => {
    const r = await call("hog", {
      subcommand: "sh",
      args: ["-c", 'x=aaaaaaaaaaaaaaaa; while :; do x="$x$x"; done'],
    });
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("memory_limit");
    expect((await lastFailure())?.reason).toBe("memory_limit");
  });

  it("a process that ignores SIGTERM: killed at the timeout, 4041, audited", async () => {
    const started = Date.now();
    const r = await call("stubborn", { subcommand: "sh", args: ["-c", 'trap "" TERM; sleep 1000'] });
    expect(expectCode(r, 504, 4041).error?.details.reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await lastFailure())?.reason).toBe("timeout");
  });

  it("an image that does not exist: 4040 image_missing, nothing created, audited", async () => {
    created = 0;
    const r = await call("ghost", { subcommand: "-c", args: ["."], stdin: "1" });
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("image_missing");
    expect(created).toBe(0);
    expect((await lastFailure())?.reason).toBe("image_missing");
  });

  it("the engine down: 4040 engine_unavailable, audited, the gateway still answers", async () => {
    const down = await startTestGateway(
      "sqlite",
      {},
      { cliRuntime: dockerRuntime({ socketPath: "/nonexistent/docker.sock" }) },
    );
    try {
      await register(down, {
        name: "jq",
        docker_image: `sha256:${"2".repeat(64)}`,
        allowed_subcommands: ["-c"],
      });
      await putContext(down, { name: "bad-ctx", tenant_id: TENANT, capabilities: [{ tool_pattern: "*" }] });
      const a = await sessionAgent(down, { context: "bad-ctx", tenant: TENANT });
      const r = await send(down, signedCall(down, a, "jq", { subcommand: "-c", args: ["."] }));
      expect(expectCode(r, 500, 4040).error?.message).toBe("the container engine is unavailable");
      expect(r.body.error?.details.reason).toBe("engine_unavailable");
      const rows = await eventsOf(down, a.executionId);
      expect(rows.find((e) => e.event_type === "CliToolInvocationFailed")?.payload.reason).toBe(
        "engine_unavailable",
      );
      expect((await down.request("/health")).status).toBe(200);
      expect((await down.request("/ready")).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
