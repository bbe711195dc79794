/**
 * Zero-downtime operations on a fleet (docs/operations.md "Upgrades" and "Backups"): three
 * gateway processes on one PostgreSQL behind the round-robin balancer of the fleet test.
 *
 * - A rolling restart under load: each instance in turn is taken out of the balancer (what a
 *   Kubernetes endpoint removal does), sent SIGTERM (it drains: in-flight calls finish, the
 *   audit tail is sealed, exit 0), started again and put back once `/ready` answers 200. Not one
 *   call fails; the balancer only re-sends requests whose connection was refused.
 * - A backup with pg_dump while serving and its restore into a new database: the chain verifies
 *   up to the backup's head, the calls after it are gone, and so are their replay records — an
 *   envelope signed after the backup is accepted AGAIN by a gateway on the restored database
 *   while it is fresh; revoking the sessions after restoring refuses it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRawDb } from "../audit/raw-db.js";
import {
  auditVerifyUntil,
  type GatewayProcess,
  lastLine,
  runCli,
  startGateway,
  tempDir,
} from "../cli/process.js";
import { type FreshPgDatabase, freshPgDatabase } from "../support/pg.js";
import { loadBalancer } from "./support/balancer.js";
import { type Answer, echoSession, invoke, rollingRestart } from "./support/rolling.js";

const run = promisify(execFile);

describe("a three-instance fleet on PostgreSQL: rolling restart, backup and restore", () => {
  let db: FreshPgDatabase;
  let restored: FreshPgDatabase;
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  let shared: Record<string, string>;
  const gateways: GatewayProcess[] = [];
  const lb = loadBalancer(() => gateways.filter((g) => g.proc.exitCode === null).map((g) => g.url), {
    retryRefused: true,
  });
  let url = "";
  let admin = "";
  let sign: (i: string) => string;

  const envOf = (i: number, extra: Record<string, string> = {}) => ({
    ...shared,
    SEAL_GATEWAY_DATA_DIR: dirs[i] ?? "",
    ...extra,
  });
  const start = (i: number, extra: Record<string, string> = {}) =>
    startGateway({ env: envOf(i, extra), cwd: dirs[i] ?? "" });
  const call = (body: string, at = url) => invoke(at, body);

  beforeAll(async () => {
    db = await freshPgDatabase();
    shared = {
      SEAL_GATEWAY_DATABASE_URL: db.url,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    gateways.push(...(await Promise.all([0, 1, 2].map((i) => start(i)))));
    url = await lb.listen();
    const t = await runCli(["token", "--role", "admin"], { env: envOf(3), cwd: dirs[3] ?? "" });
    expect(t.code, t.stderr).toBe(0);
    admin = lastLine(t.stdout);
    sign = await echoSession(url, admin, "rolling");
  }, 120_000);
  const restartAll = () => rollingRestart(gateways, lb, (i) => start(i));
  const underLoad = () => {
    let stop = false;
    const answers: Answer[] = [];
    let n = 0;
    const worker = async () => {
      while (!stop) answers.push(await call(sign(`load-${randomBytes(4).toString("hex")}-${n++}`)));
    };
    const workers = [worker(), worker(), worker(), worker()];
    return {
      answers,
      async end() {
        stop = true;
        await Promise.all(workers);
        return answers;
      },
    };
  };
  const others: GatewayProcess[] = [];

  afterAll(async () => {
    await lb.close();
    await Promise.all([...gateways, ...others].map((g) => g.kill()));
    await db?.drop();
    await restored?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a rolling restart of all three under load: every call answered with success", async () => {
    let stop = false;
    const answers: Answer[] = [];
    let n = 0;
    const worker = async () => {
      while (!stop) answers.push(await call(sign(`roll-${n++}`)));
    };
    const workers = [worker(), worker(), worker(), worker()];
    const exits = await restartAll();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const failed = answers.filter((a) => a.status !== 200);
    console.log(
      `rolling restart: ${answers.length} calls, ${failed.length} failed, ${lb.retried()} re-sent after a refused connection`,
    );
    expect(failed).toEqual([]);
    expect(answers.length).toBeGreaterThan(100);
    const verified = await auditVerifyUntil(0, { env: envOf(3), cwd: dirs[3] ?? "", timeoutMs: 20_000 });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 150_000);

  it("master-key rotation while serving, then a rolling restart on the new key: no failed call, old tokens and the chain verify", async () => {
    const auth = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
    const put = await fetch(`${url}/v1/secrets/ops/rotation-check`, {
      method: "PUT",
      headers: auth,
      body: JSON.stringify({ value: "rotation-check-value" }),
    });
    expect(put.status).toBe(201);
    const oldKey = shared.SEAL_GATEWAY_MASTER_KEY as string;
    const newKey = randomBytes(32).toString("base64");
    const load = underLoad();
    await new Promise((r) => setTimeout(r, 1000));
    // 1. Re-wrap every data key under the new key, while the three instances serve.
    const rotated = await runCli(["secrets", "rotate-master-key"], {
      env: envOf(3, { SEAL_GATEWAY_NEW_MASTER_KEY: newKey }),
      cwd: dirs[3] ?? "",
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const summary = JSON.parse(rotated.stdout.trim().split("\n")[0] ?? "") as Record<string, number>;
    expect(summary.rotated_secrets).toBeGreaterThanOrEqual(1);
    expect(summary.rotated_signing_keys).toBeGreaterThanOrEqual(1);
    // 2. Restart each instance with the new key, one at a time.
    shared = { ...shared, SEAL_GATEWAY_MASTER_KEY: newKey };
    const exits = await restartAll();
    await new Promise((r) => setTimeout(r, 1000));
    const answers = await load.end();
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
    const failed = answers.filter((a) => a.status !== 200);
    console.log(`master-key rotation + rolling restart: ${answers.length} calls, ${failed.length} failed`);
    expect(failed).toEqual([]);
    // The admin token minted before the rotation still verifies (same signing keys, re-wrapped).
    const read = await fetch(`${url}/v1/secrets/ops/rotation-check`, { headers: auth });
    expect(read.status).toBe(200);
    const verified = await auditVerifyUntil(0, { env: envOf(3), cwd: dirs[3] ?? "", timeoutMs: 20_000 });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    // The old key opens nothing any more.
    const stale = await runCli(["audit", "verify", "--json"], {
      env: envOf(3, { SEAL_GATEWAY_MASTER_KEY: oldKey }),
      cwd: dirs[3] ?? "",
    });
    expect(stale.code, stale.stdout + stale.stderr).toBe(4);
    await expect(start(3, { SEAL_GATEWAY_MASTER_KEY: oldKey })).rejects.toThrow(/master key/);
  }, 150_000);

  it("signing-key rotation while serving, then a rolling restart: no failed call, tokens of both keys verify everywhere, the chain verifies", async () => {
    const keysBefore = (await (
      await fetch(`${url}/v1/audit/keys`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { keys: Array<{ kid: string }> };
    const load = underLoad();
    await new Promise((r) => setTimeout(r, 1000));
    const rotated = await runCli(["keys", "rotate"], { env: envOf(3), cwd: dirs[3] ?? "" });
    expect(rotated.code, rotated.stderr).toBe(0);
    const { kid, retired } = JSON.parse(lastLine(rotated.stdout)) as { kid: string; retired: string[] };
    expect(retired).toEqual(keysBefore.keys.map((k) => k.kid));
    // A token minted now is signed by the new key; the instances still running on the old one
    // verify it (their keyring reloads on the unknown kid).
    const minted = await runCli(["token", "--role", "admin"], { env: envOf(3), cwd: dirs[3] ?? "" });
    const fresh = lastLine(minted.stdout);
    expect(JSON.parse(Buffer.from(fresh.split(".")[0] ?? "", "base64url").toString()).kid).toBe(kid);
    for (const g of gateways)
      expect(
        (await fetch(`${g.url}/v1/seal/sessions`, { headers: { authorization: `Bearer ${fresh}` } })).status,
      ).toBe(200);
    const exits = await restartAll();
    await new Promise((r) => setTimeout(r, 1000));
    const answers = await load.end();
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
    const failed = answers.filter((a) => a.status !== 200);
    console.log(`signing-key rotation + rolling restart: ${answers.length} calls, ${failed.length} failed`);
    expect(failed).toEqual([]);
    // After the restart: the old admin token (old key) and the new one both work on every instance.
    for (const g of gateways)
      for (const token of [admin, fresh])
        expect(
          (await fetch(`${g.url}/v1/seal/sessions`, { headers: { authorization: `Bearer ${token}` } }))
            .status,
        ).toBe(200);
    const keysAfter = (await (
      await fetch(`${url}/v1/audit/keys`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { keys: Array<{ kid: string }> };
    expect(keysAfter.keys.map((k) => k.kid).sort()).toEqual([...retired, kid].sort());
    const verified = await auditVerifyUntil(0, { env: envOf(3), cwd: dirs[3] ?? "", timeoutMs: 20_000 });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 150_000);

  it("pg_dump while serving, pg_restore into a new database: the chain up to the backup, later calls and their replay records gone", async () => {
    const dumpFile = join(dirs[3] ?? "", "seal.dump");
    // Calls before the backup, then the backup while calls flow, then calls after it.
    const before = Array.from({ length: 5 }, (_, i) => sign(`before-${i}`));
    for (const b of before) expect((await call(b)).status).toBe(200);
    let flowing = true;
    const during: Answer[] = [];
    const flow = (async () => {
      let i = 0;
      while (flowing) during.push(await call(sign(`during-${i++}`)));
    })();
    await run("pg_dump", ["--format=custom", `--file=${dumpFile}`, db.url]);
    flowing = false;
    await flow;
    expect(during.every((a) => a.status === 200)).toBe(true);
    const after = Array.from({ length: 5 }, (_, i) => sign(`after-${i}`));
    const afterAnswers = [];
    for (const b of after) afterAnswers.push(await call(b));
    expect(afterAnswers.every((a) => a.status === 200)).toBe(true);

    restored = await freshPgDatabase();
    await run("pg_restore", ["--no-owner", `--dbname=${restored.url}`, dumpFile]);
    const onRestored = { SEAL_GATEWAY_DATABASE_URL: restored.url };
    const cliEnv = { env: envOf(3, onRestored), cwd: dirs[3] ?? "" };
    // The dump is one snapshot: its chain is intact up to its head (3: rows the snapshot caught
    // unsealed; a gateway on it seals them).
    const offline = await runCli(["audit", "verify", "--json"], cliEnv);
    expect([0, 3], offline.stdout + offline.stderr).toContain(offline.code);
    const g = await start(3, onRestored);
    others.push(g); // not behind the balancer
    const sealed = await auditVerifyUntil(0, { ...cliEnv, timeoutMs: 20_000 });
    expect(sealed.code, sealed.stdout + sealed.stderr).toBe(0);

    const raw = openRawDb(restored.url);
    try {
      const has = async (a: Answer) =>
        (await raw.rows("select 1 from gateway_events where request_id = $1", [a.body.request_id])).length >
        0;
      for (const a of afterAnswers) expect(await has(a)).toBe(false); // after the backup: gone
    } finally {
      await raw.close();
    }
    // Before the backup: still replays. After it: the replay record is gone, so a still-fresh
    // envelope is accepted a second time.
    expect((await call(before[0] as string, g.url)).body.error?.code).toBe(1003);
    expect((await call(after[0] as string, g.url)).status).toBe(200);
    // Mitigation: revoke the sessions (or wait out the freshness window) before serving traffic.
    const list = await fetch(`${g.url}/v1/seal/sessions?status=Active`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const listed = (await list.json()) as { sessions: Array<{ execution_id: string }> };
    expect(list.status, JSON.stringify(listed)).toBe(200);
    const { sessions } = listed;
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions) {
      const r = await fetch(`${g.url}/v1/seal/sessions/${s.execution_id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(r.status).toBe(200);
    }
    const refused = await call(after[1] as string, g.url);
    expect(refused.body.error?.code).toBe(1006);
  }, 150_000);
});
