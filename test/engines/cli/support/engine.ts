/**
 * The real container engine for CLI tests: scripts/docker.sh (reuse or start dockerd) and
 * scripts/docker-images.sh (local seal-test/* images), once per test process. When the engine
 * cannot be brought up the helpers throw: a CLI test must fail, never skip, or the container
 * lockdown would go untested.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { expect } from "vitest";
import { GatewayConfig } from "../../../../src/config/schema.js";
import { type CallIds, type CliSettings, LABELS } from "../../../../src/engines/cli/container-spec.js";
import { CliToolDefinition } from "../../../../src/engines/cli/definition.js";
import { dockerRuntime } from "../../../../src/engines/cli/docker-runtime.js";
import type { ContainerRuntime } from "../../../../src/engines/cli/runtime.js";
import { packageRoot } from "../../../../src/paths.js";

const run = promisify(execFile);
const SCRIPT_TIMEOUT_MS = 10 * 60_000;
/** Long enough for a first image build on a fresh machine (apt-get included). */
export const ENGINE_SETUP_TIMEOUT_MS = SCRIPT_TIMEOUT_MS;

export interface TestEngine {
  socketPath: string;
  runtime: ContainerRuntime;
}

let pending: Promise<TestEngine> | undefined;

async function script(name: string): Promise<string> {
  try {
    const { stdout } = await run("bash", [join(packageRoot(), "scripts", name)], {
      timeout: SCRIPT_TIMEOUT_MS,
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (err) {
    const stderr = typeof err === "object" && err !== null ? Reflect.get(err, "stderr") : undefined;
    const tail = typeof stderr === "string" ? stderr.trim().split("\n").slice(-15).join("\n") : "";
    throw new Error(`the container engine is required for this test and ${name} failed:\n${tail}`, {
      cause: err,
    });
  }
}

async function bringUp(): Promise<TestEngine> {
  const lines = (await script("docker.sh")).trim().split("\n");
  const socketPath = lines[lines.length - 1]?.trim() ?? "";
  if (!socketPath.startsWith("/")) throw new Error("scripts/docker.sh printed no socket path");
  await script("docker-images.sh");
  const runtime = dockerRuntime({ socketPath });
  await runtime.ping();
  return { socketPath, runtime };
}

export function testEngine(): Promise<TestEngine> {
  pending ??= bringUp();
  return pending;
}

/** The `cli` configuration defaults, with overrides. */
export function cliSettings(overrides: Partial<CliSettings> = {}): CliSettings {
  return { ...GatewayConfig.parse({}).cli, ...overrides };
}

/** A parsed tool definition (REST field names). */
export function cliTool(input: Record<string, unknown>): CliToolDefinition {
  return CliToolDefinition.parse(input);
}

/** Fresh ids; the tenant is unique so label queries see only this test's containers. */
export function callIds(): CallIds {
  const tag = randomBytes(6).toString("hex");
  return { tenantId: `test-${tag}`, executionId: `exe_${tag}`, callId: `call_${tag}` };
}

/** Asserts the engine holds no container of this test (running or not). */
export async function expectNoContainers(runtime: ContainerRuntime, ids: CallIds): Promise<void> {
  const left = await runtime.listByLabel({ [LABELS.managed]: "true", [LABELS.tenant]: ids.tenantId });
  expect(left.map((c) => c.id)).toEqual([]);
}

/**
 * A labelled internal bridge network (no route off the machine), created once and reused, and
 * the host's address on it: where a test serves what containers on that network may reach.
 */
export async function internalNetwork(socketPath: string, name: string): Promise<{ gateway: string }> {
  const docker = new Docker({ socketPath });
  const net = docker.getNetwork(name);
  let info = await net.inspect().catch(() => null);
  if (!info) {
    // Another test file may create it at the same moment: the loser's error is harmless.
    await docker
      .createNetwork({
        Name: name,
        Driver: "bridge",
        Internal: true,
        CheckDuplicate: true,
        Labels: { "seal-test": "true" },
      })
      .catch(() => undefined);
    info = await net.inspect();
  }
  return { gateway: String(info.IPAM?.Config?.[0]?.Gateway) };
}
