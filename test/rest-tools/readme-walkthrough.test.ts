/**
 * README.md "Walk-through: a REST tool in five minutes", run exactly as written: the one sh
 * block of that section that makes the call is extracted from the README and run with bash
 * against a REAL gateway process (dist/src/main.js, a temp data dir, loopback egress allowed),
 * with the local upstream standing in for the public Petstore. README and test cannot drift.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { type GatewayProcess, lastLine, runCli, startGateway, tempDir } from "../cli/process.js";
import { callBlock, runDocBlock } from "../support/doc-blocks.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { startUpstream, type Upstream } from "../support/upstream.js";

const HEADING = "## Walk-through: a REST tool in five minutes";

const walkthroughBlock = (readme: string) => callBlock(readme, HEADING, "README.md");

const README = readFileSync(join(packageRoot(), "README.md"), "utf8");

describe("the README walk-through block", () => {
  it("is one sh block using only $GATEWAY_URL, $PETSTORE_URL and the seal-gateway alias for what differs per machine", () => {
    const block = walkthroughBlock(README);
    for (const literal of ["127.0.0.1", "localhost", "8089", "petstore3.swagger.io", "dist/src/main.js"]) {
      expect(block, `the block must not hard-code ${literal}`).not.toContain(literal);
    }
    expect(block).toContain("$GATEWAY_URL");
    expect(block).toContain("$PETSTORE_URL");
    expect(block).toMatch(/seal-gateway token /);
    expect(block).toMatch(/seal-gateway call .*--tool petstore\.find-available/);
  });
});

describe.each(BACKENDS)("README walk-through against a real gateway process (%s)", (backend) => {
  const dir = tempDir("seal-readme-");
  const work = tempDir("seal-readme-work-");
  let up: Upstream;
  let gw: GatewayProcess;
  let drop: (() => Promise<void>) | null = null;
  const env: Record<string, string> = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
  };

  beforeAll(async () => {
    up = await startUpstream();
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      env.SEAL_GATEWAY_DATABASE_URL = db.url;
      drop = db.drop;
    }
    gw = await startGateway({ env, cwd: dir });
  });
  afterAll(async () => {
    await gw?.kill();
    await up?.close();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("runs as written and the signed call answers success with the available pets", async () => {
    // The alias as the README's "First call" section defines it, pointing at this build.
    const r = await runDocBlock(
      walkthroughBlock(README),
      { ...env, GATEWAY_URL: gw.url, PETSTORE_URL: `${up.url}/api/v3` },
      work,
    );
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`).toBe(
      0,
    );

    const answer = JSON.parse(lastLine(r.stdout)) as {
      status: string;
      result: {
        result: Array<{ name: string; status: string }>;
        state: { find: { names: string[]; status: number } };
      };
      payload: { result: { structuredContent: unknown; isError: boolean } };
    };
    expect(answer.status).toBe("success");
    expect(answer.result.result.map((p) => p.name)).toEqual(["Rex", "Kiwi"]);
    for (const pet of answer.result.result) expect(pet.status).toBe("available");
    expect(answer.result.state.find).toEqual({ names: ["Rex", "Kiwi"], status: 200 });
    expect(answer.payload.result.structuredContent).toEqual(answer.result);
    expect(answer.payload.result.isError).toBe(false);

    // What the upstream saw: the spec fetch, then the one workflow request.
    expect(up.requests.map((q) => `${q.method} ${q.rawPath}`)).toEqual([
      "GET /api/v3/openapi.json",
      "GET /api/v3/pet/findByStatus",
    ]);
    expect(up.requests[1]?.query).toEqual({ status: ["available"] });

    // And what the README says the audit trail shows.
    const viewer = await runCli(["token", "--role", "viewer"], { env, cwd: dir });
    expect(viewer.code, viewer.stderr).toBe(0);
    const res = await fetch(`${gw.url}/v1/events?tool=petstore.find-available&limit=100`, {
      headers: { authorization: `Bearer ${lastLine(viewer.stdout)}` },
    });
    const events = (
      (await res.json()) as { items: Array<{ event_type: string; payload: Record<string, unknown> }> }
    ).items.map((e) => e.event_type);
    for (const type of [
      "ToolCallAuthorized",
      "WorkflowInvocationStarted",
      "WorkflowStepExecuted",
      "WorkflowInvocationCompleted",
      "ToolCallCompleted",
    ]) {
      expect(events, type).toContain(type);
    }
  });
});
