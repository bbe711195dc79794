/**
 * executeCli against the real engine with real CLIs (git, jq, busybox): results, non-zero
 * exits, the read-only lockdown, credentials as environment only, and engine failures.
 * Every test ends by asserting that no container of its call is left.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretSink } from "../../../src/credentials/redaction.js";
import { dockerRuntime } from "../../../src/engines/cli/docker-runtime.js";
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
let repo: string;

beforeAll(async () => {
  engine = await testEngine();
  repo = mkdtempSync(join(tmpdir(), "seal-cli-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], {
      cwd: repo,
    });
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "first commit");
  git("commit", "-q", "--allow-empty", "-m", "second commit");
  // The container user (65532) reads the repository through a read-only bind mount.
  chmodSync(repo, 0o755);
  execFileSync("chmod", ["-R", "a+rX", repo]);
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(() => rmSync(repo, { recursive: true, force: true }));

const gitTool = () =>
  cliTool({
    name: "git",
    docker_image: "seal-test/git",
    allowed_subcommands: ["log", "status", "rev-parse"],
    argv_profile: "git",
    mounts: [{ host_path: repo, container_path: "/repo" }],
    working_dir: "/repo",
  });

const jqTool = cliTool({
  name: "jq",
  docker_image: "seal-test/jq",
  allowed_subcommands: [".", "-r", "-c"],
  argv_profile: "jq",
});

const shTool = cliTool({ name: "busybox", docker_image: "seal-test/busybox", allowed_subcommands: ["sh"] });

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isGatewayError(err)) return { code: err.code, reason: err.details.reason, message: err.message };
    throw err;
  }
  throw new Error("expected a GatewayError");
}

describe("executeCli with real CLIs", () => {
  it("runs git log over a read-only mounted repository", async () => {
    const ids = callIds();
    const { result, isError } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: gitTool(),
      call: { subcommand: "log", args: ["--format=%s"] },
      ids,
    });
    expect(isError).toBe(false);
    expect(result).toEqual({ exit_code: 0, stdout: "second commit\nfirst commit\n", stderr: "" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("runs jq over stdin", async () => {
    const ids = callIds();
    const { result } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: jqTool,
      call: {
        subcommand: "-c",
        args: ["[.items[] | select(.n > 1) | .name]"],
        stdin: '{"items":[{"n":1,"name":"a"},{"n":2,"name":"b"}]}',
      },
      ids,
    });
    expect(result).toEqual({ exit_code: 0, stdout: '["b"]\n', stderr: "" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("returns a non-zero exit as a result with isError", async () => {
    const ids = callIds();
    const { result, isError } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: jqTool,
      call: { subcommand: ".", args: [], stdin: "{not json" },
      ids,
    });
    expect(isError).toBe(true);
    expect(result.exit_code).not.toBe(0);
    expect(result.stderr).toMatch(/parse error/i);
    await expectNoContainers(engine.runtime, ids);
  });

  it("cannot write the mounted repository or the root filesystem; /tmp is writable but noexec", async () => {
    const ids = callIds();
    const tool = cliTool({
      name: "busybox",
      docker_image: "seal-test/busybox",
      allowed_subcommands: ["sh"],
      mounts: [{ host_path: repo, container_path: "/repo" }],
    });
    const script = [
      "id -u",
      "touch /repo/x 2>/dev/null && echo repo-writable || echo repo-readonly",
      "touch /x 2>/dev/null && echo root-writable || echo root-readonly",
      "cp /bin/busybox /tmp/b && echo tmp-writable",
      "/tmp/b true 2>/dev/null && echo tmp-exec || echo tmp-noexec",
      "grep CapEff /proc/self/status",
      "grep NoNewPrivs /proc/self/status",
    ].join("; ");
    const { result } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool,
      call: { subcommand: "sh", args: ["-c", script] },
      ids,
    });
    expect(result.stdout.split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual([
      "65532",
      "repo-readonly",
      "root-readonly",
      "tmp-writable",
      "tmp-noexec",
      "CapEff: 0000000000000000",
      "NoNewPrivs: 1",
      "",
    ]);
    await expectNoContainers(engine.runtime, ids);
  });

  it("passes credentials as environment only and scrubs them from both streams", async () => {
    const ids = callIds();
    const secret = "s3cr3t-token-value-1234";
    const sink = new SecretSink();
    const { result } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: shTool,
      call: {
        subcommand: "sh",
        args: [
          "-c",
          // A fragment of the secret is not scrubbed, so these counts prove where it is not.
          'echo "out:$API_TOKEN"; echo "err:$API_TOKEN" >&2; ' +
            "echo argv:$(tr '\\0' ' ' </proc/1/cmdline | grep -c token-\"value\"); " +
            'echo files:$(grep -rl token-"value" /etc /tmp 2>/dev/null | wc -l); ' +
            'echo env:$(env | grep -c token-"value")',
        ],
      },
      env: { API_TOKEN: secret },
      secrets: sink,
      ids,
    });
    expect(result.stdout).toBe("out:[REDACTED]\nargv:0\nfiles:0\nenv:1\n");
    expect(result.stderr).toBe("err:[REDACTED]\n");
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(sink.size).toBe(1);
    await expectNoContainers(engine.runtime, ids);
  });

  it("reads stdout and stderr concurrently (a full stderr pipe does not stall stdout)", async () => {
    const ids = callIds();
    const { result } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: shTool,
      // 256 KiB on stderr before anything on stdout: far beyond a pipe buffer.
      call: { subcommand: "sh", args: ["-c", "head -c 262144 /dev/zero | tr '\\0' e >&2; echo done"] },
      ids,
    });
    expect(result.stdout).toBe("done\n");
    expect(result.stderr.length).toBe(262_144);
    await expectNoContainers(engine.runtime, ids);
  });
});

describe("executeCli refusals and engine failures", () => {
  it("refuses a subcommand that is not allowed (2003 COMMAND_DENIED) before creating anything", async () => {
    const ids = callIds();
    const err = await failure(
      executeCli({
        runtime: engine.runtime,
        settings: cliSettings(),
        tool: gitTool(),
        call: { subcommand: "push", args: [] },
        ids,
      }),
    );
    expect(err).toMatchObject({ code: "COMMAND_DENIED", reason: "subcommand_not_allowed" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("refuses an injected flag (4000 argument_refused)", async () => {
    const ids = callIds();
    const err = await failure(
      executeCli({
        runtime: engine.runtime,
        settings: cliSettings(),
        tool: gitTool(),
        call: { subcommand: "log", args: ["--output=/tmp/x"] },
        ids,
      }),
    );
    expect(err).toMatchObject({ code: "INVALID_ARGUMENTS", reason: "argument_refused" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("refuses stdin over the cap", async () => {
    const ids = callIds();
    const err = await failure(
      executeCli({
        runtime: engine.runtime,
        settings: cliSettings({ max_stdin_bytes: 16 }),
        tool: jqTool,
        call: { subcommand: ".", args: [], stdin: '{"a":"0123456789abcdef"}' },
        ids,
      }),
    );
    expect(err).toMatchObject({ code: "INVALID_ARGUMENTS", reason: "stdin_too_large" });
  });

  it("answers 4040 image_missing for an image the engine does not have", async () => {
    const ids = callIds();
    const tool = cliTool({
      name: "ghost",
      docker_image: "seal-test/does-not-exist:1",
      allowed_subcommands: ["x"],
    });
    const err = await failure(
      executeCli({
        runtime: engine.runtime,
        settings: cliSettings(),
        tool,
        call: { subcommand: "x", args: [] },
        ids,
      }),
    );
    expect(err).toEqual({
      code: "EXECUTION_FAILED",
      reason: "image_missing",
      message: "the tool's container image is not available on the engine",
    });
    await expectNoContainers(engine.runtime, ids);
  });

  it("answers 4040 engine_unavailable with a clear message when the engine is down", async () => {
    const runtime = dockerRuntime({ socketPath: join(tmpdir(), "seal-no-such-engine.sock") });
    const err = await failure(
      executeCli({
        runtime,
        settings: cliSettings(),
        tool: jqTool,
        call: { subcommand: ".", args: [] },
        ids: callIds(),
      }),
    );
    expect(err).toEqual({
      code: "EXECUTION_FAILED",
      reason: "engine_unavailable",
      message: "the container engine is unavailable",
    });
  });
});
