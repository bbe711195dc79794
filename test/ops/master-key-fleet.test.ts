/**
 * Master-key rotation across a serving fleet with built-in secrets IN USE (docs/operations.md
 * "Key rotation across a fleet"): three instances on PostgreSQL behind the round-robin balancer,
 * four callers running a workflow whose credential is a built-in secret throughout.
 *
 * 1. A rolling restart onto the new key with the old one as `SEAL_GATEWAY_PREVIOUS_MASTER_KEYS`:
 *    restarted instances open what is under either key; the others still hold the old one.
 * 2. `secrets rotate-master-key` with that configuration and no new key: everything still under
 *    the old key is re-wrapped under the new one.
 * 3. A rolling restart without the previous key.
 *
 * Not one call fails, every one of them reached the upstream with the secret, and afterwards the
 * old key opens nothing (a gateway started with it alone refuses to start).
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditVerifyUntil, type GatewayProcess, runCli, startGateway, tempDir } from "../cli/process.js";
import {
  cliToken,
  echoHeadersTool,
  ok,
  type ProcessAgent,
  type ProcessApi,
  processAgent,
  signedCall,
} from "../credentials/process-support.js";
import { newSecret } from "../credentials/support.js";
import { type FreshPgDatabase, freshPgDatabase } from "../support/pg.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { loadBalancer } from "./support/balancer.js";
import { rollingRestart } from "./support/rolling.js";

const key = () => randomBytes(32).toString("base64");

describe("master-key rotation on a serving fleet, built-in secrets in use", () => {
  let db: FreshPgDatabase;
  let up: Upstream;
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  const OLD = key();
  const NEW = key();
  const SECRET = newSecret("fleet");
  let keys: Record<string, string> = { SEAL_GATEWAY_MASTER_KEY: OLD };
  let base: Record<string, string> = {};
  const gateways: GatewayProcess[] = [];
  const lb = loadBalancer(() => gateways.filter((g) => g.proc.exitCode === null).map((g) => g.url), {
    retryRefused: true,
  });
  let p: ProcessApi;
  let agent: ProcessAgent;
  const envOf = (i: number) => ({ ...base, ...keys, SEAL_GATEWAY_DATA_DIR: dirs[i] ?? "" });
  const start = (i: number) => startGateway({ env: envOf(i), cwd: dirs[i] ?? "" });

  beforeAll(async () => {
    db = await freshPgDatabase();
    up = await startUpstream();
    base = { SEAL_GATEWAY_DATABASE_URL: db.url, SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8" };
    gateways.push(...(await Promise.all([0, 1, 2].map((i) => start(i)))));
    const url = await lb.listen();
    p = { url, admin: await cliToken(envOf(3), dirs[3] ?? "") };
    await ok(p, "PUT", "/v1/secrets/svc/token", { value: SECRET });
    await echoHeadersTool(p, up.url, { StaticRef: { key: "svc/token" } });
    agent = await processAgent(p);
  }, 120_000);

  afterAll(async () => {
    await lb.close();
    await Promise.all(gateways.map((g) => g.kill()));
    await up?.close();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const restartAll = async () =>
    (await rollingRestart(gateways, lb, (i) => start(i), { pauseMs: 1000 })).map((e) => e.code);

  it("rolls onto the new key with the old one as previous, finishes the rotation, rolls again: no failed call", async () => {
    const fromRequest = up.requests.length;
    let stop = false;
    const statuses: string[] = [];
    const worker = async () => {
      while (!stop) {
        const r = await signedCall(p, agent, "echo.headers").catch((e: unknown) => ({
          status: `threw ${String(e)}`,
        }));
        statuses.push(
          r.status === "success"
            ? "success"
            : `${r.status} ${JSON.stringify((r as { error?: unknown }).error)}`,
        );
      }
    };
    const workers = [worker(), worker(), worker(), worker()];

    // 1. New key current, old key previous: one instance at a time.
    keys = { SEAL_GATEWAY_MASTER_KEY: NEW, SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: OLD };
    const first = await restartAll();

    // 2. Finish the rotation with the same configuration (no new key given).
    const finish = await runCli(["secrets", "rotate-master-key"], { env: envOf(3), cwd: dirs[3] ?? "" });
    expect(finish.code, finish.stderr).toBe(0);
    expect(JSON.parse(finish.stdout.trim())).toEqual({
      rotated_secrets: 1,
      rotated_signing_keys: 1,
      already_rotated: 0,
    });
    expect(finish.stderr).toContain("rotation finished");
    const again = await runCli(["secrets", "rotate-master-key"], { env: envOf(3), cwd: dirs[3] ?? "" });
    expect(JSON.parse(again.stdout.trim())).toEqual({
      rotated_secrets: 0,
      rotated_signing_keys: 0,
      already_rotated: 2,
    });

    // 3. The previous key dropped.
    keys = { SEAL_GATEWAY_MASTER_KEY: NEW };
    const second = await restartAll();
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(workers);

    expect([...first, ...second]).toEqual([0, 0, 0, 0, 0, 0]);
    const failed = statuses.filter((s) => s !== "success");
    const sent = up.requests.slice(fromRequest).filter((r) => r.path === "/echo-headers");
    console.log(
      `master-key rotation with secrets in use: ${statuses.length} calls, ${failed.length} failed, ${lb.retried()} re-sent after a refused connection`,
    );
    expect(failed).toEqual([]);
    expect(statuses.length).toBeGreaterThan(100);
    expect(sent.length).toBe(statuses.length);
    expect(sent.every((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
    for (const text of [finish.stdout, finish.stderr]) {
      for (const secret of [OLD, NEW, SECRET]) expect(text).not.toContain(secret);
    }

    // The old key opens nothing any more; the chain verifies under the new one.
    keys = { SEAL_GATEWAY_MASTER_KEY: OLD };
    await expect(startGateway({ env: envOf(3), cwd: dirs[3] ?? "", readyTimeoutMs: 10_000 })).rejects.toThrow(
      /does not open under this master key/,
    );
    keys = { SEAL_GATEWAY_MASTER_KEY: NEW };
    const verified = await auditVerifyUntil(0, { env: envOf(3), cwd: dirs[3] ?? "", timeoutMs: 20_000 });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 180_000);
});
