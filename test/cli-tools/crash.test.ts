/**
 * kill -9 of a gateway process in the middle of a CLI call (the real built CLI, the real
 * engine): the container outlives the crash, and the gateway started in its place removes it
 * at start-up — its owner label names a process that is provably gone — long before the
 * container's deadline, then serves calls again.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../src/engines/cli/container-spec.js";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { type GatewayProcess, jsonPost, lastLine, runCli, startGateway, tempDir } from "../cli/process.js";
import { ENGINE_SETUP_TIMEOUT_MS, type TestEngine, testEngine } from "../engines/cli/support/engine.js";

const run = promisify(execFile);
const TENANT = `crash-${randomBytes(4).toString("hex")}`;

let engine: TestEngine;
const dir = tempDir("seal-crash-");
let env: Record<string, string>;
const gateways: GatewayProcess[] = [];

const mine = () => engine.runtime.listByLabel({ [LABELS.managed]: "true", [LABELS.tenant]: TENANT });

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  engine = await testEngine();
  env = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath,
    SEAL_GATEWAY_LOG_LEVEL: "warn",
  };
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(async () => {
  for (const g of gateways) await g.kill();
  for (const c of await mine().catch(() => [])) await engine.runtime.remove(c.id).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("a gateway killed with SIGKILL mid-call", () => {
  it("leaves a running container that the next gateway removes at start-up", {
    timeout: 120_000,
  }, async () => {
    const first = await startGateway({ env, cwd: dir });
    gateways.push(first);
    const admin = lastLine(
      (await runCli(["token", "--role", "admin", "--tenant", "*"], { env, cwd: dir })).stdout,
    );
    const control = async (path: string, body: unknown) => {
      const res = await fetch(`${first.url}${path}`, jsonPost(body, admin));
      const text = await res.text();
      expect(res.status, text).toBe(201);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const { stdout } = await run("docker", [
      "-H",
      `unix://${engine.socketPath}`,
      "image",
      "inspect",
      "seal-test/busybox",
      "--format",
      "{{.Id}}",
    ]);
    await control("/v1/cli-tools", {
      tenant_id: TENANT,
      name: "sleeper",
      command: "sh",
      docker_image: stdout.trim(),
      allowed_subcommands: ["sh"],
      default_timeout_seconds: 120,
    });
    const ctx = await fetch(
      `${first.url}/v1/security-contexts`,
      jsonPost(
        {
          name: "crash-ctx",
          tenant_id: TENANT,
          capabilities: [{ tool_pattern: "sleeper", command_allowlist: ["sh"] }],
        },
        admin,
      ),
    );
    expect(ctx.status, await ctx.text()).toBe(201);
    const pair = generateKeyPair();
    const session = await control("/v1/seal/sessions", {
      sub: "crash-agent",
      security_context_name: "crash-ctx",
      public_key_b64: pair.publicKeyB64,
      tenant_id: TENANT,
    });
    const body = signEnvelope({
      securityToken: String(session.security_token),
      payload: toolCallPayload({
        name: "sleeper",
        arguments: { subcommand: "sh", args: ["-c", "sleep 100"] },
      }),
      privateKeyB64: pair.privateKeyB64,
    }).body;
    const pending = fetch(`${first.url}/v1/invoke`, jsonPost(body)).catch((err: unknown) => err);

    await until("the call's container", async () => (await mine()).some((c) => c.running), 30_000);
    first.proc.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    // The caller lost its connection; the container did not go with the gateway.
    expect(await pending).toBeInstanceOf(Error);
    const left = await mine();
    expect(left.map((c) => c.running)).toEqual([true]);
    // Its deadline (creation + 120 s + grace) is far off: only the owner rule can remove it now.
    expect(Number(left[0]?.labels[LABELS.deadline])).toBeGreaterThan(Date.now() / 1000 + 100);

    const second = await startGateway({ env, cwd: dir });
    gateways.push(second);
    await until("the start-up reap", async () => (await mine()).length === 0, 15_000);
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    const answer = await fetch(`${second.url}/v1/invoke`, jsonPost(body));
    // The same envelope again is a replay: the new gateway has the old one's replay record.
    expect(answer.status).toBe(401);
  });
});
