/**
 * Containers that misbehave (DESIGN §10): hang, ignore SIGTERM, fork, exhaust memory, print
 * without end, or outlive a caller who went away. Each must end with the documented answer
 * and leave no container behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { CliSettings } from "../../../src/engines/cli/container-spec.js";
import { executeCli } from "../../../src/engines/cli/execute.js";
import { isGatewayError } from "../../../src/errors.js";
import {
  callIds,
  cliSettings,
  cliTool,
  ENGINE_SETUP_TIMEOUT_MS,
  expectNoContainers,
  type TestEngine,
  testEngine,
} from "./support/engine.js";

let engine: TestEngine;

beforeAll(async () => {
  engine = await testEngine();
}, ENGINE_SETUP_TIMEOUT_MS);

const sh = (limits: Record<string, number> = {}, timeout = 3) =>
  cliTool({
    name: "busybox",
    docker_image: "seal-test/busybox",
    allowed_subcommands: ["sh"],
    default_timeout_seconds: timeout,
    limits,
  });

async function runSh(
  script: string,
  options: {
    limits?: Record<string, number>;
    timeout?: number;
    settings?: Partial<CliSettings>;
    signal?: AbortSignal;
  },
) {
  const ids = callIds();
  const started = Date.now();
  const outcome = await executeCli({
    runtime: engine.runtime,
    settings: cliSettings(options.settings),
    tool: sh(options.limits, options.timeout),
    call: { subcommand: "sh", args: ["-c", script] },
    ids,
    ...(options.signal ? { signal: options.signal } : {}),
  }).then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => {
      if (!isGatewayError(err)) throw err;
      return { ok: false as const, code: err.code, reason: err.details.reason };
    },
  );
  return { outcome, ids, elapsed: Date.now() - started };
}

describe("hostile containers", () => {
  it("kills a container that runs past its timeout: 4041, and the container is gone", async () => {
    const { outcome, ids, elapsed } = await runSh("sleep 1000", { timeout: 2 });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_TIMEOUT", reason: "timeout" });
    expect(elapsed).toBeLessThan(8000);
    await expectNoContainers(engine.runtime, ids);
  });

  it("kills a process that ignores SIGTERM (SIGKILL, no grace period to abuse)", async () => {
    const { outcome, ids, elapsed } = await runSh('trap "" TERM; sleep 1000', { timeout: 2 });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_TIMEOUT", reason: "timeout" });
    expect(elapsed).toBeLessThan(8000);
    await expectNoContainers(engine.runtime, ids);
  });

  it("contains a fork loop with the PID limit", async () => {
    // 200 background sleepers against a limit of 32 processes: the forks past it fail.
    const { outcome, ids } = await runSh(
      // busybox sh gives up at the first failed fork, hence the subshell.
      "(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; " +
        // Counted with builtins only: a command substitution would need one more fork.
        "set -- /proc/[0-9]*; echo procs:$#; exit 0",
      { limits: { pids_limit: 32 }, timeout: 10 },
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const procs = Number(/procs:(\d+)/.exec(outcome.value.result.stdout)?.[1]);
    expect(procs).toBeGreaterThan(16);
    expect(procs).toBeLessThanOrEqual(32);
    await expectNoContainers(engine.runtime, ids);
  });

  it("survives a real fork bomb: it ends at its timeout and the container is gone", async () => {
    // PID 1 must stay: when it exits, the kernel ends the whole container at once. It forks
    // only before the bomb starts (busybox sh exits at its first failed fork).
    const { outcome, ids } = await runSh("sleep 1000 & (b() { b | b & }; b) 2>/dev/null; wait", {
      limits: { pids_limit: 16, cpus: 0.25 },
      timeout: 3,
    });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_TIMEOUT", reason: "timeout" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("answers 4040 memory_limit when the kernel kills a memory hog", async () => {
    // Doubling a shell variable: 64 MiB of limit is gone in a few rounds.
    const { outcome, ids } = await runSh('x=aaaaaaaaaaaaaaaa; while :; do x="$x$x"; done', {
      limits: { memory_mb: 32 },
      timeout: 20,
    });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_FAILED", reason: "memory_limit" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("caps endless output: stops reading, kills, marks the stream truncated", async () => {
    const { outcome, ids, elapsed } = await runSh("yes seal", {
      settings: { max_output_bytes: 64 * 1024 },
      timeout: 20,
    });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const { result, isError } = outcome.value;
    expect(isError).toBe(true);
    expect(result.exit_code).toBe(137);
    expect(result.truncated).toEqual(["stdout"]);
    expect(Buffer.byteLength(result.stdout)).toBe(64 * 1024);
    expect(result.stdout.startsWith("seal\nseal\n")).toBe(true);
    expect(elapsed).toBeLessThan(15_000);
    await expectNoContainers(engine.runtime, ids);
  });

  it("caps endless stderr the same way while stdout still arrives", async () => {
    const { outcome, ids } = await runSh("echo first; yes oops >&2", {
      settings: { max_output_bytes: 32 * 1024 },
      timeout: 20,
    });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.value.result.stdout).toBe("first\n");
    expect(outcome.value.result.truncated).toEqual(["stderr"]);
    await expectNoContainers(engine.runtime, ids);
  });

  it("kills and removes the container when the caller aborts mid-run", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 800);
    const { outcome, ids, elapsed } = await runSh("sleep 1000", { timeout: 60, signal: controller.signal });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_FAILED", reason: "aborted" });
    expect(elapsed).toBeLessThan(8000);
    await expectNoContainers(engine.runtime, ids);
  });

  it("a caller gone between create and start: nothing starts, the answer comes at once", async () => {
    const controller = new AbortController();
    const ids = callIds();
    const real = engine.runtime;
    const runtime = {
      ...real,
      create: async (spec: Parameters<typeof real.create>[0]) => {
        const id = await real.create(spec);
        controller.abort();
        return id;
      },
    };
    const started = Date.now();
    const err = await executeCli({
      runtime,
      settings: cliSettings(),
      tool: sh(),
      call: { subcommand: "sh", args: ["-c", "echo never"] },
      ids,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "EXECUTION_FAILED", details: { reason: "aborted" } });
    expect(Date.now() - started).toBeLessThan(5000);
    await expectNoContainers(engine.runtime, ids);
  });

  it("does not start anything for a caller that is already gone", async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, ids } = await runSh("echo never", { signal: controller.signal });
    expect(outcome).toEqual({ ok: false, code: "EXECUTION_FAILED", reason: "aborted" });
    await expectNoContainers(engine.runtime, ids);
  });
});
