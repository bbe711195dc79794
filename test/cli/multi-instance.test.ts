/**
 * Two gateway processes on ONE PostgreSQL database (same master key, different ports): they
 * share signing keys, sessions and the replay store, and the audit chain stays intact.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { openRawDb } from "../audit/raw-db.js";
import { type FreshPgDatabase, freshPgDatabase } from "../support/pg.js";
import {
  auditVerifyUntil,
  type GatewayProcess,
  jsonPost,
  lastLine,
  runCli,
  startGateway,
  tempDir,
} from "./process.js";

type Answer = { error?: { code: number; details: { reason: string } } };

async function post(gw: GatewayProcess, body: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${gw.url}/v1/invoke`, jsonPost(body));
  return { status: res.status, body: (await res.json()) as Answer };
}

describe("two gateway processes on one PostgreSQL database", () => {
  let db: FreshPgDatabase;
  const dirs = [tempDir(), tempDir(), tempDir()];
  let shared: Record<string, string>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let admin = "";
  const pair = generateKeyPair();
  let agentToken = "";

  beforeAll(async () => {
    db = await freshPgDatabase();
    shared = {
      SEAL_GATEWAY_DATABASE_URL: db.url,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    // Started together: both race to create the signing key on the empty database.
    [a, b] = await Promise.all([
      startGateway({ env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[0] ?? "" }, cwd: dirs[0] ?? "" }),
      startGateway({ env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[1] ?? "" }, cwd: dirs[1] ?? "" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCli(args, { env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[2] ?? "" }, cwd: dirs[2] ?? "" });

  it("created exactly one signing key", async () => {
    const raw = openRawDb(db.url);
    try {
      expect(await raw.rows("select status from signing_keys")).toEqual([{ status: "active" }]);
    } finally {
      await raw.close();
    }
  });

  it("a third instance that cannot listen (port taken) exits 1 promptly instead of hanging on its pool", async () => {
    const r = await runCli(["start"], {
      env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[2] ?? "", SEAL_GATEWAY_PORT: String(a.port) },
      cwd: dirs[2] ?? "",
      timeoutMs: 15_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("EADDRINUSE");
    expect((await fetch(`${a.url}/ready`)).status).toBe(200);
  });

  it("an operator token minted by `token` against the database verifies on both instances", async () => {
    const r = await cli(["token", "--role", "admin"]);
    expect(r.code, r.stderr).toBe(0);
    admin = lastLine(r.stdout);
    for (const gw of [a, b]) {
      const res = await fetch(`${gw.url}/v1/events`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status, gw.url).toBe(200);
    }
  });

  it("a session created on A is usable on B", async () => {
    const res = await fetch(
      `${a.url}/v1/seal/sessions`,
      jsonPost(
        { sub: "agent-1", security_context_name: "default", public_key_b64: pair.publicKeyB64 },
        admin,
      ),
    );
    expect(res.status).toBe(201);
    agentToken = ((await res.json()) as { security_token: string }).security_token;
    const r = await cli([
      "call",
      "--tool",
      "demo.tool",
      "--url",
      b.url,
      "--token",
      agentToken,
      "--key",
      pair.privateKeyB64,
    ]);
    expect(r.code).toBe(1);
    // Authenticated on B (session found, signature verified): stopped only by authorization.
    expect((JSON.parse(lastLine(r.stdout)) as Answer).error?.code).toBe(2006);
    const listed = await fetch(`${b.url}/v1/seal/sessions`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(JSON.stringify(await listed.json())).toContain(pair.publicKeyB64);
  });

  it("an envelope accepted by A is rejected as a replay (1003) by B, and by A", async () => {
    const body = signEnvelope({
      securityToken: agentToken,
      payload: toolCallPayload({ name: "demo.tool", arguments: {} }),
      privateKeyB64: pair.privateKeyB64,
    }).body;
    expect((await post(a, body)).body.error?.code).toBe(2006);
    for (const gw of [b, a]) {
      const r = await post(gw, body);
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 1003, details: { reason: "replay" } });
    }
  });

  it("concurrent traffic on both instances: the same envelope raced to both is accepted exactly once", async () => {
    for (let i = 0; i < 10; i++) {
      const body = signEnvelope({
        securityToken: agentToken,
        payload: toolCallPayload({ name: "demo.tool", arguments: { i } }),
        privateKeyB64: pair.privateKeyB64,
      }).body;
      const codes = (await Promise.all([post(a, body), post(b, body)])).map((r) => r.body.error?.code).sort();
      expect(codes).toEqual([1003, 2006]);
    }
  });

  it("audit verify against the shared database exits 0 once both have sealed; SIGTERM seals the rest", async () => {
    const env = { env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[2] ?? "" }, cwd: dirs[2] ?? "" };
    const live = await auditVerifyUntil(0, { ...env, timeoutMs: 15_000 });
    expect(live.code, live.stdout + live.stderr).toBe(0);
    // More traffic, then stop both: graceful shutdown seals what is left.
    for (let i = 0; i < 5; i++) {
      const body = signEnvelope({
        securityToken: agentToken,
        payload: toolCallPayload({ name: "demo.tool", arguments: { late: i } }),
        privateKeyB64: pair.privateKeyB64,
      }).body;
      await post(i % 2 === 0 ? a : b, body);
    }
    a.proc.kill("SIGTERM");
    b.proc.kill("SIGTERM");
    expect((await a.exited).code, a.output()).toBe(0);
    expect((await b.exited).code, b.output()).toBe(0);
    const after = await cli(["audit", "verify", "--json"]);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ status: "intact", unsealedRows: 0, problems: [] });
  });
});
