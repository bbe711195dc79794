/**
 * CLI tools through the whole call path, on the real container engine (SQLite): signed
 * envelopes reach git and jq in locked-down containers, the context's command, subcommand and
 * path allowlists apply after lookup and before any container exists, the engine's argv rules
 * and failures answer with their codes, revocation kills a running container, and no
 * container of this file's tenant is left after any test.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../src/engines/cli/container-spec.js";
import type { ContainerRuntime } from "../../src/engines/cli/runtime.js";
import { generateKeyPair } from "../../src/sdk/index.js";
import {
  bearer,
  call,
  events,
  eventsOf,
  expectCode,
  lastSeq,
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
import { agentClaims, gatewayToken } from "../pipeline/agents.js";
import { jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

const run = promisify(execFile);
const TENANT = `clt-${randomBytes(4).toString("hex")}`;
const SECRET = `cli-secret-${randomBytes(8).toString("hex")}`;
const noContainers = { tenantId: TENANT, executionId: "", callId: "" };

let engine: TestEngine;
let t: TestGateway;
let repo: string;
let agent: SessionAgent;
let judge: Server;
/** What the judge was asked, in order. */
const judged: { tool: string; subcommand: string; args: string[] }[] = [];
/** Containers the gateway asked the engine to create, across the file. */
let created = 0;

async function imageId(socketPath: string, image: string): Promise<string> {
  const { stdout } = await run("docker", [
    "-H",
    `unix://${socketPath}`,
    "image",
    "inspect",
    image,
    "--format",
    "{{.Id}}",
  ]);
  const id = stdout.trim();
  expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
  return id;
}

/** The engine, counting `create` so a test can prove nothing was created. */
function counting(runtime: ContainerRuntime): ContainerRuntime {
  return {
    ...runtime,
    create: async (spec) => {
      created++;
      return await runtime.create(spec);
    },
  };
}

async function register(body: Record<string, unknown>): Promise<{ id: string; hash: string }> {
  return await expectJson(
    await t.request("/v1/cli-tools", jsonInit("POST", { ...body, tenant_id: TENANT }, t.adminToken())),
    201,
  );
}

beforeAll(async () => {
  engine = await testEngine();
  repo = mkdtempSync(join(tmpdir(), "seal-cli-gw-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], {
      cwd: repo,
    });
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "first commit");
  git("commit", "-q", "--allow-empty", "-m", "second commit");
  chmodSync(repo, 0o755);
  execFileSync("chmod", ["-R", "a+rX", repo]);

  // A plain-protocol judge on loopback: refuses any call whose arguments mention "secret".
  judge = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    req.on("end", () => {
      const asked = JSON.parse(text) as { tool: string; subcommand: string; args: string[] };
      judged.push(asked);
      const allowed = !asked.args.some((a) => a.includes("secret"));
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ allowed, reason: allowed ? "looks fine" : "mentions a secret" }));
    });
  });
  await new Promise<void>((resolve) => judge.listen(0, "127.0.0.1", resolve));
  const judgeUrl = `http://127.0.0.1:${(judge.address() as AddressInfo).port}/judge`;

  t = await startTestGateway(
    "sqlite",
    {
      SEAL_GATEWAY_DEV_MODE: "false",
      SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath,
      SEAL_GATEWAY_JUDGE_URL: judgeUrl,
      SEAL_GATEWAY_JUDGE_KIND: "plain",
    },
    { cliRuntime: counting(engine.runtime) },
  );
  const [jqImage, gitImage, busyboxImage] = await Promise.all(
    ["seal-test/jq", "seal-test/git", "seal-test/busybox"].map((i) => imageId(engine.socketPath, i)),
  );
  await register({
    name: "jq",
    docker_image: jqImage,
    allowed_subcommands: [".", "-c", "-r"],
    argv_profile: "jq",
  });
  await register({
    name: "vcs.git",
    docker_image: gitImage,
    allowed_subcommands: ["log", "status"],
    argv_profile: "git",
    mounts: [{ host_path: repo, container_path: "/repo" }],
    working_dir: "/repo",
  });
  await register({
    name: "ghost",
    command: "jq",
    docker_image: `sha256:${"0".repeat(64)}`,
    allowed_subcommands: ["."],
  });
  await register({
    name: "judged.jq",
    docker_image: jqImage,
    allowed_subcommands: ["-n"],
    argv_profile: "jq",
    require_semantic_judge: true,
  });
  await register({
    name: "strict.jq",
    command: "jq",
    docker_image: jqImage,
    allowed_subcommands: ["-c"],
    argv_profile: "jq",
    args_schema: { type: "array", maxItems: 1, items: { type: "string", pattern: "^[.a-z]+$" } },
  });
  await register({ name: "sleeper", command: "sh", docker_image: busyboxImage, allowed_subcommands: ["sh"] });
  for (const [name, key] of [
    ["envy", "cli/token"],
    ["envy-missing", "cli/absent"],
  ] as const) {
    await register({
      name,
      command: "sh",
      docker_image: busyboxImage,
      allowed_subcommands: ["sh"],
      env_credentials: { API_TOKEN: { StaticRef: { key } } },
    });
  }
  await expectJson(
    await t.request(
      `/v1/secrets/cli/token?tenant_id=${TENANT}`,
      jsonInit("PUT", { value: SECRET }, t.adminToken()),
    ),
    201,
  );
  await putContext(t, {
    name: "cli-ctx",
    tenant_id: TENANT,
    capabilities: [
      // -r is allowed by the tool's registration but not by this context.
      { tool_pattern: "jq", command_allowlist: ["jq"], subcommand_allowlist: [".", "-c"] },
      { tool_pattern: "ghost", command_allowlist: ["jq"], subcommand_allowlist: ["."] },
      {
        tool_pattern: "vcs.git",
        command_allowlist: ["git"],
        subcommand_allowlist: ["log", "status"],
        path_allowlist: [repo, `${repo}/**`],
      },
      { tool_pattern: "sleeper", command_allowlist: ["sh"] },
      { tool_pattern: "judged.jq", command_allowlist: ["jq"] },
      { tool_pattern: "strict.jq", command_allowlist: ["jq"] },
      { tool_pattern: "envy", command_allowlist: ["sh"] },
      { tool_pattern: "envy-missing", command_allowlist: ["sh"] },
    ],
  });
  await putContext(t, {
    name: "cli-strict",
    tenant_id: TENANT,
    capabilities: [{ tool_pattern: "sleeper", command_allowlist: ["sh"] }],
    revoke_after_denials: { count: 1, per_seconds: 60 },
  });
  agent = await sessionAgent(t, { context: "cli-ctx", tenant: TENANT });
}, ENGINE_SETUP_TIMEOUT_MS);

afterEach(async () => {
  await expectNoContainers(engine.runtime, noContainers);
});

afterAll(async () => {
  await t?.close();
  judge?.close();
  if (repo) rmSync(repo, { recursive: true, force: true });
});

type CliOut = { exit_code: number; stdout: string; stderr: string };

describe("CLI tools through signed envelopes (real engine)", () => {
  it("runs jq over stdin: success with exit 0 and the output, invocation events with the hash", async () => {
    const r = await call(t, agent, "jq", { subcommand: "-c", args: ["{b: .a}"], stdin: '{"a":1}' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toEqual({ exit_code: 0, stdout: '{"b":1}\n', stderr: "" });
    expect(r.body.payload?.result.isError).toBe(false);
    const rows = (await eventsOf(t, agent.executionId)).filter((e) => e.call_id === r.body.call_id);
    const started = rows.find((e) => e.event_type === "CliToolInvocationStarted");
    const completed = rows.find((e) => e.event_type === "CliToolInvocationCompleted");
    const done = rows.find((e) => e.event_type === "ToolCallCompleted");
    expect(started?.payload).toMatchObject({ subcommand: "-c", arg_count: 1, stdin_bytes: 7 });
    expect(started?.payload.definition_hash).toBe(done?.payload.definition_hash);
    expect(completed?.payload).toMatchObject({ exit_code: 0, truncated: [] });
    expect(typeof completed?.payload.duration_ms).toBe("number");
    // Argument values and stdin are not in the trail.
    expect(JSON.stringify(rows)).not.toContain("{b: .a}");
  });

  it("answers a non-zero exit as a result with isError true", async () => {
    const r = await call(t, agent, "jq", { subcommand: ".", stdin: "{not json" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const out = r.body.result as CliOut;
    expect(out.exit_code).not.toBe(0);
    expect(out.stderr).toMatch(/parse error/i);
    expect(r.body.payload?.result.isError).toBe(true);
  });

  it("runs git log over the mounted repository (command, subcommand and path allowlists pass)", async () => {
    const r = await call(t, agent, "vcs.git", { subcommand: "log", args: ["--format=%s"] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result).toMatchObject({ exit_code: 0, stdout: "second commit\nfirst commit\n" });
  });

  it("refuses a subcommand outside the context's subcommand_allowlist with 2003, creating nothing", async () => {
    const before = created;
    const seq = await lastSeq(t);
    const r = await call(t, agent, "jq", { subcommand: "-r", args: ["."], stdin: "{}" });
    expect(expectCode(r, 403, 2003).error?.message).toMatch(/subcommand_allowlist/);
    expect(created).toBe(before);
    const types = (await eventsOf(t, agent.executionId, seq)).map((e) => e.event_type);
    expect(types).toContain("PolicyDenied");
    expect(types).not.toContain("CliToolInvocationStarted");
  });

  it("refuses a tool whose mount is outside the context's path_allowlist with 2002, creating nothing", async () => {
    await putContext(t, {
      name: "cli-narrow",
      tenant_id: TENANT,
      capabilities: [
        { tool_pattern: "vcs.git", command_allowlist: ["git"], path_allowlist: ["/elsewhere/**"] },
      ],
    });
    const narrow = await sessionAgent(t, { context: "cli-narrow", tenant: TENANT });
    const before = created;
    const r = await call(t, narrow, "vcs.git", { subcommand: "log" });
    expect(expectCode(r, 403, 2002).error?.message).toMatch(/mount 0 of the tool/);
    expect(created).toBe(before);
  });

  it("refuses a disallowed flag with 4000 before any container exists", async () => {
    const before = created;
    const r = await call(t, agent, "jq", { subcommand: "-c", args: ["--rawfile", "x", "/etc/passwd", "."] });
    expect(expectCode(r, 400, 4000).error?.details.reason).toBe("argument_refused");
    expect(created).toBe(before);
  });

  it("refuses a call that is not {subcommand, args, stdin} with 4000", async () => {
    const r = await call(t, agent, "jq", { subcommand: ".", args: "not-a-list" });
    expectCode(r, 400, 4000);
  });

  it("checks args against the tool's args_schema (4000 invalid_input, nothing created)", async () => {
    const before = created;
    const r = await call(t, agent, "strict.jq", { subcommand: "-c", args: [".", ".a"], stdin: "{}" });
    expect(expectCode(r, 400, 4000).error?.details.reason).toBe("invalid_input");
    expect(created).toBe(before);
    const ok = await call(t, agent, "strict.jq", { subcommand: "-c", args: [".a"], stdin: '{"a":[1]}' });
    expect(ok.body.result).toMatchObject({ exit_code: 0, stdout: "[1]\n" });
  });

  it("answers 4040 image_missing for an image the engine does not have", async () => {
    const r = await call(t, agent, "ghost", { subcommand: "." });
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("image_missing");
    // An error answer carries no call id: the rows are the ghost tool's.
    const rows = (await eventsOf(t, agent.executionId)).filter((e) => e.tool_name === "ghost");
    expect(rows.find((e) => e.event_type === "CliToolInvocationFailed")?.payload).toMatchObject({
      reason: "image_missing",
    });
  });

  it("gives env_credentials to the container as environment only, scrubbed from the output", async () => {
    const r = await call(t, agent, "envy", {
      subcommand: "sh",
      args: ["-c", 'echo "token=$API_TOKEN"; echo "$API_TOKEN" | base64; test -n "$API_TOKEN"'],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const out = r.body.result as CliOut;
    expect(out.exit_code).toBe(0);
    expect(out.stdout).toMatch(/^token=/);
    expect(JSON.stringify(r.body)).not.toContain(SECRET);
    expect(JSON.stringify(r.body)).not.toContain(Buffer.from(`${SECRET}\n`).toString("base64").slice(0, 24));
    const rows = await eventsOf(t, agent.executionId);
    expect(rows.some((e) => e.event_type === "CredentialExchangeCompleted" && e.tool_name === "envy")).toBe(
      true,
    );
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });

  it("fails closed with 4010 when an env credential cannot be resolved, creating nothing", async () => {
    const before = created;
    const r = await call(t, agent, "envy-missing", { subcommand: "sh", args: ["-c", "true"] });
    expect(expectCode(r, 502, 4010).error?.details.reason).toBe("secret_not_found");
    expect(created).toBe(before);
  });

  it("asks the semantic judge before creating a container: allowed runs, refused is 4050 and audited", async () => {
    const ok = await call(t, agent, "judged.jq", { subcommand: "-n", args: ['"hello"'] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.result).toMatchObject({ exit_code: 0, stdout: '"hello"\n' });
    expect(judged.at(-1)).toMatchObject({ tool: "judged.jq", subcommand: "-n", args: ['"hello"'] });

    const before = created;
    const refused = await call(t, agent, "judged.jq", { subcommand: "-n", args: ['"the secret"'] });
    const body = expectCode(refused, 403, 4050);
    expect(body.error?.details.reason).toBe("judge_denied");
    expect(body.error?.message).toContain("mentions a secret");
    expect(created).toBe(before);
    const row = (await eventsOf(t, agent.executionId))
      .filter((e) => e.event_type === "CliToolSemanticRejected")
      .at(-1);
    expect(row?.payload).toMatchObject({
      subcommand: "-n",
      reason: "judge_denied",
      judge_reason: "mentions a secret",
    });
    expect(row?.decision).toBe("reject");
  });

  it("refuses an argv the tool's rules refuse before reading any credential", async () => {
    const seq = await lastSeq(t);
    const r = await call(t, agent, "envy-missing", { subcommand: "ls" });
    expect(expectCode(r, 403, 2003).error?.details.reason).toBe("subcommand_not_allowed");
    const types = (await eventsOf(t, agent.executionId, seq)).map((e) => e.event_type);
    expect(types).toContain("CliToolInvocationFailed");
    expect(types.filter((x) => x.startsWith("CredentialExchange"))).toEqual([]);
  });

  it("lists CLI tools for the agent with their call schema", async () => {
    const res = await t.request("/v1/tools", { headers: bearer(agent.token) });
    const body = await expectJson<{ tools: { name: string; inputSchema: { required?: string[] } }[] }>(
      res,
      200,
    );
    const jq = body.tools.find((x) => x.name === "jq");
    expect(jq?.inputSchema.required).toEqual(["subcommand"]);
  });

  it("kills a running container when its session is revoked (4040 container_gone, audited)", async () => {
    const victim = await sessionAgent(t, { context: "cli-ctx", tenant: TENANT });
    const pending = send(t, signedCall(t, victim, "sleeper", { subcommand: "sh", args: ["-c", "sleep 30"] }));
    const labels = { [LABELS.managed]: "true", [LABELS.executionId]: victim.executionId };
    for (let i = 0; i < 100 && (await engine.runtime.listByLabel(labels)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await engine.runtime.listByLabel(labels)).toHaveLength(1);
    const revoked = await expectJson<{ killed_containers?: number }>(
      await t.request(`/v1/seal/sessions/${victim.executionId}`, {
        method: "DELETE",
        headers: bearer(t.adminToken()),
      }),
      200,
    );
    expect(revoked.killed_containers).toBe(1);
    const r = await pending;
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("container_gone");
    const row = (await eventsOf(t, victim.executionId)).find((e) => e.event_type === "SessionRevoked");
    expect(row?.payload.killed_containers).toBe(1);
  });

  async function waitForContainer(labels: Record<string, string>): Promise<void> {
    const all = { [LABELS.managed]: "true", ...labels };
    for (let i = 0; i < 100 && (await engine.runtime.listByLabel(all)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await engine.runtime.listByLabel(all)).toHaveLength(1);
  }

  it("kills a running container of a registered-key agent within a second of revoking its key (audited)", async () => {
    const pair = generateKeyPair();
    const sub = `keyed-${randomBytes(3).toString("hex")}`;
    const key = await expectJson<{ id: string }>(
      await t.request(
        "/v1/agent-keys",
        jsonInit("POST", { sub, public_key_b64: pair.publicKeyB64, tenant_id: TENANT }, t.adminToken()),
      ),
      201,
    );
    const token = gatewayToken(t, agentClaims(t, { sub, scp: "cli-ctx", tenant_id: TENANT }));
    const keyed = { token, privateKeyB64: pair.privateKeyB64 };
    const pending = send(t, signedCall(t, keyed, "sleeper", { subcommand: "sh", args: ["-c", "sleep 30"] }));
    await waitForContainer({ [LABELS.agent]: sub, [LABELS.binding]: "agent_key" });
    const started = performance.now();
    const revoked = await expectJson<{ killed_containers?: number; status: string }>(
      await t.request(`/v1/agent-keys/${key.id}`, { method: "DELETE", headers: bearer(t.adminToken()) }),
      200,
    );
    const r = await pending;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(revoked.killed_containers).toBe(1);
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("container_gone");
    const rows = await events(t, { type: "AgentKeyRevoked", agent: sub });
    expect(rows.map((e) => e.payload.killed_containers)).toEqual([1]);
    // The key is refused from now on.
    const again = await send(t, signedCall(t, keyed, "jq", { subcommand: ".", stdin: "1" }));
    expect(expectCode(again, 401, 1006).error?.details.reason).toBe("key_revoked");
  });

  it("does not touch another agent's containers when a key is revoked", async () => {
    const bystander = await sessionAgent(t, { context: "cli-ctx", tenant: TENANT });
    const pending = send(
      t,
      signedCall(t, bystander, "sleeper", { subcommand: "sh", args: ["-c", "sleep 1; echo done"] }),
    );
    await waitForContainer({ [LABELS.executionId]: bystander.executionId });
    const pair = generateKeyPair();
    const key = await expectJson<{ id: string; killed_containers?: number }>(
      await t.request(
        "/v1/agent-keys",
        jsonInit(
          "POST",
          { sub: bystander.sub, public_key_b64: pair.publicKeyB64, tenant_id: TENANT },
          t.adminToken(),
        ),
      ),
      201,
    );
    const revoked = await expectJson<{ killed_containers?: number }>(
      await t.request(`/v1/agent-keys/${key.id}`, { method: "DELETE", headers: bearer(t.adminToken()) }),
      200,
    );
    // Same sub, but bound by its session, not by a registered key: left running.
    expect(revoked.killed_containers).toBeUndefined();
    const r = await pending;
    expect(r.status).toBe(200);
    expect((r.body.result as CliOut).stdout).toBe("done\n");
  });

  it("kills the running containers of a session the policy revokes (revoke_after_denials)", async () => {
    const victim = await sessionAgent(t, { context: "cli-strict", tenant: TENANT });
    const pending = send(t, signedCall(t, victim, "sleeper", { subcommand: "sh", args: ["-c", "sleep 30"] }));
    await waitForContainer({ [LABELS.executionId]: victim.executionId });
    const started = performance.now();
    const denied = await send(t, signedCall(t, victim, "jq", { subcommand: ".", stdin: "1" }));
    expectCode(denied, 403, 2006);
    const r = await pending;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("container_gone");
    const rows = await eventsOf(t, victim.executionId);
    expect(rows.find((e) => e.event_type === "SessionRevoked")?.payload.actor).toBe(
      "policy:revoke_after_denials",
    );
    expect(rows.some((e) => e.event_type === "CliToolInvocationFailed")).toBe(true);
  });
});
