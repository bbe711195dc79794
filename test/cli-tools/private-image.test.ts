/**
 * Private images (registry_credential_path) against a real registry: Debian's docker-registry
 * with htpasswd on 127.0.0.1 (scripts/registry.sh), the image pinned by digest and absent from
 * the engine before each call. Right credentials: pulled through the credential stage, the
 * call runs. Wrong or malformed credentials: a clear 4040/4010, an audit row, no container,
 * and the password nowhere in the answer, the events or the logs.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ContainerRuntime } from "../../src/engines/cli/runtime.js";
import { packageRoot } from "../../src/paths.js";
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
const TENANT = `priv-${randomBytes(4).toString("hex")}`;

let engine: TestEngine;
let t: TestGateway;
let agent: SessionAgent;
let image = "";
let password = "";
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

async function putSecret(key: string, value: string) {
  await expectJson(
    await t.request(`/v1/secrets/${key}?tenant_id=${TENANT}`, jsonInit("PUT", { value }, t.adminToken())),
    201,
  );
}

async function dropLocalCopy() {
  await run("docker", ["-H", `unix://${engine.socketPath}`, "rmi", image]).catch(() => undefined);
  expect(await engine.runtime.imageExists(image)).toBe(false);
}

beforeAll(async () => {
  engine = await testEngine();
  const { stdout } = await run("bash", [join(packageRoot(), "scripts", "registry.sh")], {
    timeout: ENGINE_SETUP_TIMEOUT_MS,
  }).catch((err: unknown) => {
    throw new Error(`scripts/registry.sh failed: ${String(Reflect.get(err as object, "stderr"))}`);
  });
  image = stdout.trim().split("\n").at(-1) ?? "";
  expect(image).toMatch(/^127\.0\.0\.1:5050\/seal-test\/private-jq@sha256:[0-9a-f]{64}$/);
  const login = readFileSync(join(packageRoot(), ".cache", "registry", "credentials"), "utf8");
  password = login.slice(login.indexOf(":") + 1);
  t = await startTestGateway(
    "sqlite",
    { SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath },
    { cliRuntime: counting(engine.runtime) },
  );
  await putSecret("registry/good", login);
  await putSecret("registry/json", JSON.stringify({ username: "seal", password }));
  await putSecret("registry/wrong", "seal:not-the-password");
  await putSecret("registry/garbled", "no-colon-here");
  for (const [name, key] of [
    ["private.jq", "registry/good"],
    ["json.jq", "registry/json"],
    ["wrong.jq", "registry/wrong"],
    ["garbled.jq", "registry/garbled"],
  ] as const) {
    await expectJson(
      await t.request(
        "/v1/cli-tools",
        jsonInit(
          "POST",
          {
            tenant_id: TENANT,
            name,
            docker_image: image,
            allowed_subcommands: ["-c"],
            argv_profile: "jq",
            registry_credential_path: { StaticRef: { key } },
          },
          t.adminToken(),
        ),
      ),
      201,
    );
  }
  await putContext(t, {
    name: "priv",
    tenant_id: TENANT,
    capabilities: [{ tool_pattern: "*", command_allowlist: ["jq"] }],
  });
  agent = await sessionAgent(t, { context: "priv", tenant: TENANT });
}, ENGINE_SETUP_TIMEOUT_MS);

beforeEach(async () => {
  await dropLocalCopy();
  created = 0;
});

afterAll(async () => {
  await t?.close();
});

const noContainers = { tenantId: TENANT, executionId: "", callId: "" };

function expectNoPassword(text: string) {
  expect(text).not.toContain(password);
}

describe("private images through registry_credential_path (real registry)", () => {
  for (const tool of ["private.jq", "json.jq"]) {
    it(`pulls ${tool}'s image by digest with the resolved credentials and runs the call`, async () => {
      const r = await send(
        t,
        signedCall(t, agent, tool, { subcommand: "-c", args: ["."], stdin: '{"a":1}' }),
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.result).toMatchObject({ exit_code: 0, stdout: '{"a":1}\n' });
      expect(await engine.runtime.imageExists(image)).toBe(true);
      const rows = await eventsOf(t, agent.executionId);
      expect(rows.some((e) => e.event_type === "CredentialExchangeCompleted")).toBe(true);
      expectNoPassword(JSON.stringify(rows));
      await expectNoContainers(engine.runtime, noContainers);
    });
  }

  it("refuses wrong credentials with 4040 registry_login_failed: audited, nothing pulled or run", async () => {
    const r = await send(t, signedCall(t, agent, "wrong.jq", { subcommand: "-c", args: ["."], stdin: "1" }));
    expect(expectCode(r, 500, 4040).error?.details.reason).toBe("registry_login_failed");
    expect(created).toBe(0);
    expect(await engine.runtime.imageExists(image)).toBe(false);
    const failed = (await eventsOf(t, agent.executionId)).filter(
      (e) => e.event_type === "CliToolInvocationFailed",
    );
    expect(failed.at(-1)?.payload.reason).toBe("registry_login_failed");
    expectNoPassword(JSON.stringify(r.body));
    expectNoPassword(t.logs.join("\n"));
    await expectNoContainers(engine.runtime, noContainers);
  });

  it("refuses a credential that is not user:password with 4010, nothing pulled or run", async () => {
    const r = await send(
      t,
      signedCall(t, agent, "garbled.jq", { subcommand: "-c", args: ["."], stdin: "1" }),
    );
    expect(expectCode(r, 502, 4010).error?.details.reason).toBe("bad_registry_credential");
    expect(created).toBe(0);
    expect(await engine.runtime.imageExists(image)).toBe(false);
  });

  it("refuses a registration with credentials whose image is not pinned by registry digest", async () => {
    const res = await t.request(
      "/v1/cli-tools",
      jsonInit(
        "POST",
        {
          tenant_id: TENANT,
          name: "tagged.jq",
          docker_image: "127.0.0.1:5050/seal-test/private-jq:latest",
          allowed_subcommands: ["-c"],
          registry_credential_path: { StaticRef: { key: "registry/good" } },
        },
        t.adminToken(),
      ),
    );
    const body = await expectJson<{ error: { details: { problems: { path: string }[] } } }>(res, 400);
    expect(body.error.details.problems.map((p) => p.path)).toContain("docker_image");
  });
});
