/**
 * README.md "First call", run exactly as written: the section's one sh block that makes the
 * call is extracted from the README (not copied) and run with bash in a folder holding the
 * project's examples/, against a REAL gateway process with no network beyond loopback. It must
 * end in a successful signed call to system.whoami and an intact audit trail.
 */
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { callBlock, runDocBlock } from "../support/doc-blocks.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { auditVerifyUntil, type GatewayProcess, lastLine, runCli, startGateway, tempDir } from "./process.js";

const README = readFileSync(join(packageRoot(), "README.md"), "utf8");
const block = () => callBlock(README, "## First call", "README.md");

describe("the README's first-call block", () => {
  it("uses the packaged command and nothing that differs per machine", () => {
    const text = block();
    for (const literal of ["127.0.0.1", "8089", "dist/src/main.js", "curl", "node -e", "node -p"]) {
      expect(text, `the block must not contain ${literal}`).not.toContain(literal);
    }
    for (const step of [
      "apply -f examples/quickstart.yaml",
      "keygen",
      "session create",
      "call",
      "audit verify",
    ])
      expect(text).toContain(`npx seal-gateway ${step}`);
  });
});

describe.each(BACKENDS)("README first call against a real gateway process (%s)", (backend) => {
  const dir = tempDir("seal-first-");
  const work = tempDir("seal-first-work-");
  let gw: GatewayProcess;
  let drop: (() => Promise<void>) | null = null;
  const env: Record<string, string> = { SEAL_GATEWAY_DATA_DIR: dir };

  beforeAll(async () => {
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      env.SEAL_GATEWAY_DATABASE_URL = db.url;
      drop = db.drop;
    }
    gw = await startGateway({ env, cwd: dir });
    // The block runs "from the project folder": the examples it applies are there.
    cpSync(join(packageRoot(), "examples"), join(work, "examples"), { recursive: true });
  });
  afterAll(async () => {
    await gw?.kill();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("runs as written: whoami answers the caller's identity and the audit trail verifies", async () => {
    const r = await runDocBlock(block(), { ...env, SEAL_GATEWAY_URL: gw.url }, work);
    const context = `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`;
    expect(r.code, context).toBe(0);

    // The call's answer is the line before audit verify's report.
    const answerLine = r.stdout.split("\n").find((l) => l.startsWith('{"protocol":"seal/v1"'));
    expect(answerLine, context).toBeDefined();
    const answer = JSON.parse(answerLine ?? "{}") as {
      status: string;
      result: {
        agent_id: string;
        execution_id: string;
        tenant_id: string;
        security_context: string;
        callable_tools: Array<{ name: string; approval_required: boolean }>;
      };
    };
    expect(answer.status).toBe("success");
    expect(answer.result).toMatchObject({
      agent_id: "agent",
      tenant_id: "default",
      security_context: "quickstart",
    });
    expect(answer.result.execution_id).toMatch(/\S/);
    expect(answer.result.callable_tools.map((t) => t.name).sort()).toEqual(["system.echo", "system.whoami"]);

    // The block accepted "intact" or "intact, tail not yet sealed"; once sealed, fully intact.
    const verified = await auditVerifyUntil(0, { env, cwd: dir });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);

    // And the call is in the trail: authorized, then completed, under the context's tenant.
    const viewer = await runCli(["token", "--role", "viewer"], { env, cwd: dir });
    const res = await fetch(`${gw.url}/v1/events?tool=system.whoami&limit=50`, {
      headers: { authorization: `Bearer ${lastLine(viewer.stdout)}` },
    });
    const types = ((await res.json()) as { items: Array<{ event_type: string }> }).items.map(
      (e) => e.event_type,
    );
    expect(types).toEqual(expect.arrayContaining(["ToolCallAuthorized", "ToolCallCompleted"]));
  });
});
