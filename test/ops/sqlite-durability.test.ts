/**
 * Crash safety on SQLite (issue 17 item 6; DESIGN §8 durability). One gateway process per file,
 * `audit.durability: full`, killed with SIGKILL under load at random moments, three times over
 * the same file: committed WAL frames not yet checkpointed into the main file are what is on
 * disk at those moments. After each restart every call that was answered with success has its
 * audit rows, the envelopes seen before the crash are still replays, and `audit verify` reports
 * the dead process's unsealed tail (exit 3) until the new process has sealed it (exit 0).
 * Then a disk snapshot: the files (db + -wal) copied while the process is frozen with SIGSTOP
 * mid-load, opened by a fresh gateway elsewhere. Last, what `full` costs and `normal` skips: the
 * fsyncs of the WAL per call, counted with strace. And online backups taken while the gateway
 * serves (`VACUUM INTO`, one read snapshot; and `sqlite3 … .backup`, SQLite's backup API), one of
 * them restored: what it keeps and what it loses.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { openRawDb } from "../audit/raw-db.js";
import {
  auditVerifyUntil,
  cleanEnv,
  freePort,
  type GatewayProcess,
  jsonPost,
  lastLine,
  MAIN,
  runCli,
  startGateway,
  tempDir,
} from "../cli/process.js";
import { type Answer, invoke } from "./support/rolling.js";

const MASTER = randomBytes(32).toString("base64");
const dirs: string[] = [];
const gateways: GatewayProcess[] = [];

function envFor(dir: string, durability: "full" | "normal"): Record<string, string> {
  return {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_MASTER_KEY: MASTER,
    SEAL_GATEWAY_AUDIT_DURABILITY: durability,
  };
}

async function start(dir: string, durability: "full" | "normal" = "full"): Promise<GatewayProcess> {
  const g = await startGateway({ env: envFor(dir, durability), cwd: dir });
  gateways.push(g);
  return g;
}

/** An admin token, the context `crash` (system.echo) and one agent session on `url`. */
async function setUp(dir: string, url: string) {
  const t = await runCli(["token", "--role", "admin"], { env: envFor(dir, "full"), cwd: dir });
  expect(t.code, t.stderr).toBe(0);
  const admin = lastLine(t.stdout);
  const ctx = await fetch(
    `${url}/v1/security-contexts`,
    jsonPost({ name: "crash", capabilities: [{ tool_pattern: "system.echo" }] }, admin),
  );
  expect(ctx.status).toBe(201);
  const pair = generateKeyPair();
  const s = await fetch(
    `${url}/v1/seal/sessions`,
    jsonPost(
      { sub: "crash-agent", security_context_name: "crash", public_key_b64: pair.publicKeyB64 },
      admin,
    ),
  );
  expect(s.status).toBe(201);
  const token = String(((await s.json()) as { security_token: string }).security_token);
  const sign = (i: number | string) =>
    signEnvelope({
      securityToken: token,
      payload: toolCallPayload({ name: "system.echo", arguments: { i } }),
      privateKeyB64: pair.privateKeyB64,
    }).body;
  return Object.assign(sign, { admin });
}

/**
 * Four callers sending `bodies` in turn until `stop()`; `bodies` may be a function that signs
 * envelope i on demand (up to `max`), so a load can outlast any kill however fast the gateway is.
 */
async function load(
  url: string,
  bodies: string[] | ((i: number) => string),
  stop: () => boolean,
  max = Array.isArray(bodies) ? bodies.length : 100_000,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  const body = typeof bodies === "function" ? bodies : (i: number) => bodies[i] as string;
  let sent = 0;
  const worker = async () => {
    while (!stop()) {
      const i = sent++;
      if (i >= max) return;
      answers[i] = await invoke(url, body(i));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return answers;
}

async function auditRowsComplete(dbFile: string, requestIds: string[]): Promise<string[]> {
  const raw = openRawDb(`sqlite://${dbFile}`);
  try {
    const missing: string[] = [];
    for (const id of requestIds) {
      const types = (await raw.rows("select event_type from gateway_events where request_id = $1", [id])).map(
        (r) => r.event_type,
      );
      if (!types.includes("ToolCallAuthorized") || !types.includes("ToolCallCompleted")) missing.push(id);
    }
    return missing;
  } finally {
    await raw.close();
  }
}

const verify = (dir: string, want: number) =>
  auditVerifyUntil(want, { env: envFor(dir, "full"), cwd: dir, timeoutMs: 20_000 });

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("SQLite, audit.durability: full, killed with SIGKILL under load", () => {
  const dir = tempDir("seal-crash-");
  dirs.push(dir);
  const dbFile = join(dir, "gateway.db");
  let sign: (i: number | string) => string;
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await start(dir);
    sign = await setUp(dir, gw.url);
  }, 60_000);

  it("three crashes at random moments: no answered call loses a row, replays stay replays, the tail is sealed on restart", async () => {
    const seenBefore: string[] = [];
    const tails: number[] = [];
    for (let round = 0; round < 3; round++) {
      // Signed on demand: the load runs until the kill, however fast the gateway answers.
      const bodies: string[] = [];
      const bodyAt = (i: number) => {
        bodies[i] ??= sign(`r${round}-${i}`);
        return bodies[i];
      };
      let killed = false;
      const delay = 300 + Math.floor(Math.random() * 900);
      const victim = gw;
      const killer = new Promise<void>((resolve) =>
        setTimeout(() => {
          killed = true;
          victim.proc.kill("SIGKILL");
          resolve();
        }, delay),
      );
      const answers = await load(gw.url, bodyAt, () => killed);
      await killer;
      expect((await victim.exited).signal).toBe("SIGKILL");
      expect(killed).toBe(true);
      const ok = answers.filter((a) => a.status === 200);
      expect(ok.length, `round ${round}: successes before the kill at ${delay} ms`).toBeGreaterThan(0);
      // The kill ended the load (not the supply of envelopes). Whether a call was still in flight
      // at that instant depends on which side was busier; the answered ones are what is checked.
      expect(bodies.length).toBeLessThan(100_000);
      // The WAL holds commits not yet checkpointed into the main file.
      expect(existsSync(`${dbFile}-wal`)).toBe(true);
      // Offline, before any restart: intact, the dead process's unsealed rows reported (3) or, if
      // it had sealed everything, 0. Never 1 (tampered) or 4 (unreadable).
      const offline = await runCli(["audit", "verify", "--json"], { env: envFor(dir, "full"), cwd: dir });
      expect([0, 3], offline.stdout + offline.stderr).toContain(offline.code);
      tails.push(offline.code);

      gw = await start(dir);
      expect(
        await auditRowsComplete(
          dbFile,
          ok.map((a) => String(a.body.request_id)),
        ),
      ).toEqual([]);
      bodies.forEach((b, i) => {
        if (answers[i]?.status === 200) seenBefore.push(b);
      });
      // Every envelope answered with success in this or an earlier life is a replay now.
      for (const b of [...seenBefore.slice(0, 5), ...seenBefore.slice(-5)])
        expect((await invoke(gw.url, b)).body.error?.code).toBe(1003);
      const sealed = await verify(dir, 0);
      expect(sealed.code, sealed.stdout + sealed.stderr).toBe(0);
      expect(JSON.parse(sealed.stdout)).toMatchObject({ status: "intact", problems: [] });
    }
    // At least one crash left an unsealed tail, which the next start sealed.
    expect(tails).toContain(3);
  }, 150_000);

  it("a disk snapshot taken with the process frozen (SIGSTOP) mid-load opens in a fresh gateway with every answered call", async () => {
    const bodies = Array.from({ length: 2000 }, (_, i) => sign(`snap-${i}`));
    const copyDir = tempDir("seal-crash-copy-");
    dirs.push(copyDir);
    const copyDb = join(copyDir, "gateway.db");
    let frozen = false;
    let answeredBeforeFreeze: string[] = [];
    const answers: Answer[] = [];
    const freezer = new Promise<void>((resolve) =>
      setTimeout(
        () => {
          gw.proc.kill("SIGSTOP");
          frozen = true;
          // Everything answered so far was answered before the freeze.
          answeredBeforeFreeze = answers
            .filter((a) => a?.status === 200)
            .map((a) => String(a.body.request_id));
          for (const suffix of ["", "-wal"])
            if (existsSync(`${dbFile}${suffix}`)) copyFileSync(`${dbFile}${suffix}`, `${copyDb}${suffix}`);
          gw.proc.kill("SIGKILL");
          resolve();
        },
        400 + Math.floor(Math.random() * 600),
      ),
    );
    let sent = 0;
    const worker = async () => {
      while (!frozen) {
        const i = sent++;
        if (i >= bodies.length) return;
        answers[i] = await invoke(gw.url, bodies[i] as string);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker(), freezer]);
    await gw.exited;
    expect(answeredBeforeFreeze.length).toBeGreaterThan(0);
    expect(existsSync(`${copyDb}-wal`)).toBe(true);
    // The copy, never checkpointed, is a valid database holding every answered call.
    const offline = await runCli(["audit", "verify", "--json"], {
      env: envFor(copyDir, "full"),
      cwd: copyDir,
    });
    expect([0, 3], offline.stdout + offline.stderr).toContain(offline.code);
    const fresh = await start(copyDir);
    expect(await auditRowsComplete(copyDb, answeredBeforeFreeze)).toEqual([]);
    const seen = bodies.filter((_, i) => answers[i]?.status === 200).slice(0, 10);
    for (const b of seen) expect((await invoke(fresh.url, b)).body.error?.code).toBe(1003);
    const sealed = await verify(copyDir, 0);
    expect(sealed.code, sealed.stdout + sealed.stderr).toBe(0);
  }, 120_000);
});

describe("what durability changes: fsyncs of the WAL per answered call (strace)", () => {
  /** Starts the gateway under `strace -f -e fsync,fdatasync -y`, sends 100 calls, counts WAL fsyncs. */
  async function walFsyncsPer100Calls(durability: "full" | "normal"): Promise<number> {
    const dir = tempDir("seal-fsync-");
    dirs.push(dir);
    const trace = join(dir, "strace.txt");
    const port = await freePort();
    const proc = spawn(
      "strace",
      ["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", trace, process.execPath, MAIN, "start"],
      {
        env: cleanEnv({ ...envFor(dir, durability), SEAL_GATEWAY_PORT: String(port) }),
        cwd: dir,
        stdio: "ignore",
      },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const up = await fetch(`${url}/health`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline) throw new Error("gateway under strace did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
      const sign = await setUp(dir, url);
      const bodies = Array.from({ length: 100 }, (_, i) => sign(i));
      const count = () =>
        readFileSync(trace, "utf8")
          .split("\n")
          .filter((l) => /fd?a?t?a?sync\(\d+<[^>]*gateway\.db-wal>/.test(l)).length;
      const before = count();
      for (const b of bodies) expect((await invoke(url, b)).status).toBe(200);
      return count() - before;
    } finally {
      // strace does not pass a SIGTERM on: stop its child, the gateway, and strace ends with it.
      const exited = new Promise((r) => proc.once("exit", r));
      const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim();
      for (const pid of children.split(/\s+/).filter(Boolean)) process.kill(Number(pid), "SIGTERM");
      await exited;
    }
  }

  it("full fsyncs the WAL at least once per call before answering it; normal does not", async () => {
    const full = await walFsyncsPer100Calls("full");
    const normal = await walFsyncsPer100Calls("normal");
    console.log(`WAL fsyncs for 100 sequential calls: full ${full}, normal ${normal}`);
    expect(full).toBeGreaterThanOrEqual(100);
    expect(normal).toBeLessThan(10);
  }, 150_000);
});

describe("an online backup of the SQLite file while serving, restored", () => {
  it("keeps the chain up to the backup; later calls and their replay records are gone until the sessions are revoked", async () => {
    const dir = tempDir("seal-backup-");
    const restoreDir = tempDir("seal-restore-");
    dirs.push(dir, restoreDir);
    const gw = await start(dir);
    const sign = await setUp(dir, gw.url);
    const before = Array.from({ length: 5 }, (_, i) => sign(`before-${i}`));
    for (const b of before) expect((await invoke(gw.url, b)).status).toBe(200);
    // The backup runs while four callers keep the gateway busy.
    let flowing = true;
    const during = load(
      gw.url,
      Array.from({ length: 5000 }, (_, i) => sign(`during-${i}`)),
      () => !flowing,
    );
    const backupFile = join(restoreDir, "gateway.db");
    const apiCopy = join(dir, "backup-api.db");
    const sqlite3 = (...args: string[]) => promisify(execFile)("sqlite3", [join(dir, "gateway.db"), ...args]);
    await sqlite3(`VACUUM INTO '${backupFile}'`);
    await sqlite3(`.backup '${apiCopy}'`);
    flowing = false;
    expect((await during).every((a) => a.status === 200)).toBe(true);
    const after = Array.from({ length: 5 }, (_, i) => sign(`after-${i}`));
    const afterIds: string[] = [];
    for (const b of after) {
      const a = await invoke(gw.url, b);
      expect(a.status).toBe(200);
      afterIds.push(String(a.body.request_id));
    }
    gw.proc.kill("SIGTERM");
    expect((await gw.exited).code).toBe(0);

    // Restore: the backup file in place of the database (here: another data directory).
    const offline = await runCli(["audit", "verify", "--json"], {
      env: envFor(restoreDir, "full"),
      cwd: restoreDir,
    });
    expect([0, 3], offline.stdout + offline.stderr).toContain(offline.code);
    const restored = await start(restoreDir);
    const sealed = await verify(restoreDir, 0);
    expect(sealed.code, sealed.stdout + sealed.stderr).toBe(0);
    const raw = openRawDb(`sqlite://${backupFile}`);
    try {
      for (const id of afterIds)
        expect(await raw.rows("select 1 from gateway_events where request_id = $1", [id])).toEqual([]);
    } finally {
      await raw.close();
    }
    expect((await invoke(restored.url, before[0] as string)).body.error?.code).toBe(1003);
    // Signed after the backup and still fresh: its replay record is gone, so it runs again.
    expect((await invoke(restored.url, after[0] as string)).status).toBe(200);
    const auth = { authorization: `Bearer ${sign.admin}` };
    const list = await fetch(`${restored.url}/v1/seal/sessions?status=Active`, { headers: auth });
    const { sessions } = (await list.json()) as { sessions: Array<{ execution_id: string }> };
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions)
      expect(
        (
          await fetch(`${restored.url}/v1/seal/sessions/${s.execution_id}`, {
            method: "DELETE",
            headers: auth,
          })
        ).status,
      ).toBe(200);
    expect((await invoke(restored.url, after[1] as string)).body.error?.code).toBe(1006);
  }, 120_000);
});
