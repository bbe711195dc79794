/**
 * docs/cli-tools.md "Walk-through: an SRE's on-call policy", run exactly as written: its one sh
 * block that makes the calls runs with bash against a REAL gateway process (dist/src/main.js),
 * the real engine, a local plain judge, a git repository on this host, and a status server
 * bound to the host side of an internal bridge (the egress network), so nothing leaves the
 * machine.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../src/engines/cli/container-spec.js";
import { packageRoot } from "../../src/paths.js";
import { type GatewayProcess, startGateway, tempDir } from "../cli/process.js";
import {
  ENGINE_SETUP_TIMEOUT_MS,
  internalNetwork,
  type TestEngine,
  testEngine,
} from "../engines/cli/support/engine.js";
import { callBlock, runDocBlock } from "../support/doc-blocks.js";

const HEADING = "## Walk-through: an SRE's on-call policy";
const DOC = readFileSync(join(packageRoot(), "docs", "cli-tools.md"), "utf8");
const NETWORK = "seal-test-egress";

const block = () => callBlock(DOC, HEADING, "docs/cli-tools.md");

describe("the CLI walk-through block", () => {
  it("uses only variables for what differs per machine", () => {
    const b = block();
    for (const literal of [
      "127.0.0.1",
      "8089",
      "/srv/repos",
      "10.20.0.1",
      "status-net",
      "dist/src/main.js",
    ]) {
      expect(b, `the block must not hard-code ${literal}`).not.toContain(literal);
    }
    for (const v of ["$GATEWAY_URL", "$STATUS_URL", "process.env.REPO", "process.env.EGRESS_NETWORK"])
      expect(b).toContain(v);
    expect(b).toContain("require_semantic_judge: true");
  });
});

describe("the CLI walk-through against a real gateway process and engine", () => {
  let engine: TestEngine;
  let gw: GatewayProcess;
  let judge: Server;
  let status: Server;
  let statusUrl = "";
  const judged: { tool: string; subcommand: string; args: string[] }[] = [];
  const statusHits: string[] = [];
  const dir = tempDir("seal-cli-doc-");
  const work = tempDir("seal-cli-doc-work-");
  const repo = mkdtempSync(join(tmpdir(), "seal-cli-doc-repo-"));

  beforeAll(async () => {
    engine = await testEngine();
    const bridge = (await internalNetwork(engine.socketPath, NETWORK)).gateway;
    status = createServer((req, res) => {
      statusHits.push(req.url ?? "");
      res.setHeader("content-type", "application/json");
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((r) => status.listen(0, bridge, r));
    statusUrl = `http://${bridge}:${(status.address() as AddressInfo).port}`;
    judge = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      req.on("end", () => {
        judged.push(JSON.parse(text) as { tool: string; subcommand: string; args: string[] });
        res.setHeader("content-type", "application/json");
        res.end('{"allowed":true,"reason":"a read of the status endpoint"}');
      });
    });
    await new Promise<void>((r) => judge.listen(0, "127.0.0.1", r));

    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=On Call", "-c", "user.email=oncall@example.com", ...args], {
        cwd: repo,
      });
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "payments: first");
    git("commit", "-q", "--allow-empty", "-m", "payments: retry budget");
    execFileSync("chmod", ["-R", "a+rX", repo]);

    gw = await startGateway({
      env: {
        SEAL_GATEWAY_DATA_DIR: dir,
        SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath,
        SEAL_GATEWAY_JUDGE_URL: `http://127.0.0.1:${(judge.address() as AddressInfo).port}/judge`,
        SEAL_GATEWAY_JUDGE_KIND: "plain",
      },
      cwd: dir,
    });
  }, ENGINE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.kill();
    judge?.close();
    status?.close();
    for (const d of [dir, work, repo]) rmSync(d, { recursive: true, force: true });
  });

  it("runs as written: three allowed calls, three refusals before any container, no container left", {
    timeout: 120_000,
  }, async () => {
    const r = await runDocBlock(
      block(),
      {
        SEAL_GATEWAY_DATA_DIR: dir,
        GATEWAY_URL: gw.url,
        REPO: repo,
        STATUS_URL: statusUrl,
        EGRESS_NETWORK: NETWORK,
        DOCKER_HOST: `unix://${engine.socketPath}`,
      },
      work,
    );
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`).toBe(
      0,
    );
    const answers = r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith('{"protocol"'))
      .map(
        (l) =>
          JSON.parse(l) as {
            status: string;
            result?: { exit_code: number; stdout: string };
            error?: { code: number; details: { reason: string } };
          },
      );
    expect(answers).toHaveLength(6);
    const [log, jq, curl, show, output, evil] = answers;
    expect(log?.result?.exit_code).toBe(0);
    expect(log?.result?.stdout).toMatch(
      /^[0-9a-f]{7,} payments: retry budget\n[0-9a-f]{7,} payments: first\n$/,
    );
    expect(jq?.result?.stdout).toBe('["db"]\n');
    expect(curl?.result).toMatchObject({ exit_code: 0, stdout: '{"status":"ok"}' });
    expect(statusHits).toEqual(["/health"]);
    expect(judged.map((j) => [j.tool, j.subcommand, j.args])).toEqual([
      ["sre.curl", "-fsS", [`${statusUrl}/health`]],
    ]);
    expect(show?.error?.code).toBe(2003);
    expect(output?.error).toMatchObject({ code: 4000, details: { reason: "argument_refused" } });
    expect(evil?.error).toMatchObject({ code: 4000, details: { reason: "invalid_input" } });
    const left = await engine.runtime.listByLabel({
      [LABELS.managed]: "true",
      [LABELS.tenant]: "default",
      [LABELS.tool]: "sre.git",
    });
    expect(left).toEqual([]);
  });
});
