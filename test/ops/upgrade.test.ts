/**
 * An upgrade with a schema migration, as docs/operations.md "Upgrades and migrations with zero
 * downtime" describes it.
 *
 * The next version is staged beside this checkout: a copy of its built package (dist/, the
 * migrations, proto/, config/, package.json with a "-next" version; node_modules linked) with
 * one more migration on each dialect, an expand-only one of the kinds the page allows — a new
 * table, a nullable column on the audit events table, an index on sessions. So the code is the
 * same and the schema is not: what is under test is the procedure, the migrator and the old
 * version's tolerance of the expanded schema, which is what a real release's first half has to
 * get right.
 *
 * - PostgreSQL, three instances behind the round-robin balancer, four callers throughout: each
 *   instance in turn is drained, stopped and replaced by the next version. The first one
 *   migrates while two old ones keep serving on the new schema; the others find nothing to
 *   apply. Not one call fails, the migration is recorded once, the chain verifies; and an old
 *   instance started again on the new schema (a rollout undone) serves.
 * - SQLite, one node: stop, start the next version on the same file; the migration is applied,
 *   the envelopes seen before are still refused as replays, the chain verifies.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
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

const PROBE = {
  pg: [
    'CREATE TABLE "upgrade_probe" ("id" text PRIMARY KEY NOT NULL, "note" text);',
    'ALTER TABLE "gateway_events" ADD COLUMN "upgrade_note" text;',
    'CREATE INDEX "sessions_upgrade_probe_idx" ON "sessions" USING btree ("tenant_id","expires_at");',
  ],
  sqlite: [
    "CREATE TABLE `upgrade_probe` (`id` text PRIMARY KEY NOT NULL, `note` text);",
    "ALTER TABLE `gateway_events` ADD `upgrade_note` text;",
    "CREATE INDEX `sessions_upgrade_probe_idx` ON `sessions` (`tenant_id`,`expires_at`);",
  ],
} as const;

interface Journal {
  entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }>;
}

/** The next version: this build plus one expand-only migration per dialect. Returns its main. */
function stageNextVersion(root: string): { main: string; version: string } {
  const here = packageRoot();
  for (const part of ["dist", "drizzle", "proto", "config"])
    cpSync(join(here, part), join(root, part), { recursive: true });
  symlinkSync(join(here, "node_modules"), join(root, "node_modules"), "dir");
  const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8")) as { version: string };
  const version = `${pkg.version}-next`;
  writeFileSync(join(root, "package.json"), JSON.stringify({ ...pkg, version }, null, 2));
  for (const dialect of ["pg", "sqlite"] as const) {
    const dir = join(root, "drizzle", dialect, "migrations");
    const journalFile = join(dir, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalFile, "utf8")) as Journal;
    const last = journal.entries[journal.entries.length - 1];
    if (!last) throw new Error(`no migrations in ${dir}`);
    const idx = last.idx + 1;
    const tag = `${String(idx).padStart(4, "0")}_upgrade_probe`;
    writeFileSync(join(dir, `${tag}.sql`), PROBE[dialect].join("--> statement-breakpoint\n"));
    journal.entries.push({ ...last, idx, tag, when: last.when + 60_000 });
    writeFileSync(journalFile, JSON.stringify(journal, null, 2));
  }
  return { main: join(root, "dist", "src", "main.js"), version };
}

/** The version an instance reports (`info.version` of its /openapi.json). */
async function versionOf(url: string): Promise<string> {
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { info: { version: string } };
  return doc.info.version;
}

/** An admin token from the CLI, then a context allowing system.echo and a session under it. */
async function echoSigner(url: string, env: Record<string, string>, cwd: string) {
  const t = await runCli(["token", "--role", "admin"], { env, cwd });
  expect(t.code, t.stderr).toBe(0);
  return echoSession(url, lastLine(t.stdout), "upgrade");
}

const staged = tempDir("seal-next-version-");
const next = stageNextVersion(staged);
afterAll(() => rmSync(staged, { recursive: true, force: true }));

describe("a rolling upgrade with a schema migration: three instances on PostgreSQL", () => {
  let db: FreshPgDatabase;
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  let shared: Record<string, string>;
  const gateways: GatewayProcess[] = [];
  const others: GatewayProcess[] = [];
  const lb = loadBalancer(() => gateways.filter((g) => g.proc.exitCode === null).map((g) => g.url), {
    retryRefused: true,
  });
  let url = "";
  let sign: (i: string) => string;
  const envOf = (i: number) => ({ ...shared, SEAL_GATEWAY_DATA_DIR: dirs[i] ?? "" });
  const start = (i: number, main?: string) =>
    startGateway({ env: envOf(i), cwd: dirs[i] ?? "", ...(main ? { main } : {}) });

  beforeAll(async () => {
    db = await freshPgDatabase();
    shared = {
      SEAL_GATEWAY_DATABASE_URL: db.url,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    gateways.push(...(await Promise.all([0, 1, 2].map((i) => start(i)))));
    url = await lb.listen();
    sign = await echoSigner(url, envOf(3), dirs[3] ?? "");
  }, 120_000);

  afterAll(async () => {
    await lb.close();
    await Promise.all([...gateways, ...others].map((g) => g.kill()));
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("upgrades each instance in turn under load: no failed call, migrated once, the old version serving on the new schema", async () => {
    const raw = openRawDb(db.url);
    const migrations = async () =>
      Number((await raw.rows('SELECT count(*) AS n FROM "drizzle"."__drizzle_migrations"'))[0]?.n);
    const probeColumn = async () =>
      (
        await raw.rows(
          "SELECT 1 FROM information_schema.columns WHERE table_name = 'gateway_events' AND column_name = 'upgrade_note'",
        )
      ).length;
    try {
      const before = await migrations();
      expect(await probeColumn()).toBe(0);
      const oldVersion = await versionOf(gateways[0]?.url ?? "");
      expect(oldVersion).not.toBe(next.version);

      let stop = false;
      let n = 0;
      const answers: Answer[] = [];
      const worker = async () => {
        while (!stop) answers.push(await invoke(url, sign(`upgrade-${n++}`)));
      };
      const workers = [worker(), worker(), worker(), worker()];
      const versions: string[][] = [];
      const exits = (
        await rollingRestart(gateways, lb, (i) => start(i, next.main), {
          afterEach: async (i) => {
            versions.push(await Promise.all(gateways.map((g) => versionOf(g.url))));
            if (i > 0) return;
            // The first next-version instance migrated; the two old ones serve on the new schema.
            expect(await migrations()).toBe(before + 1);
            expect(await probeColumn()).toBe(1);
            for (const g of gateways.slice(1)) {
              const r = await invoke(g.url, sign(`old-on-new-schema-${g.port}`));
              expect(r.status, JSON.stringify(r.body)).toBe(200);
            }
          },
        })
      ).map((e) => e.code);
      await new Promise((r) => setTimeout(r, 1500));
      stop = true;
      await Promise.all(workers);

      expect(exits).toEqual([0, 0, 0]);
      expect(versions).toEqual([
        [next.version, oldVersion, oldVersion],
        [next.version, next.version, oldVersion],
        [next.version, next.version, next.version],
      ]);
      const failed = answers.filter((a) => a.status !== 200);
      console.log(
        `rolling upgrade: ${answers.length} calls, ${failed.length} failed, ${lb.retried()} re-sent after a refused connection; migrations ${before} → ${await migrations()}`,
      );
      expect(failed).toEqual([]);
      expect(answers.length).toBeGreaterThan(100);
      expect(await migrations()).toBe(before + 1); // once, not once per instance

      // A rollout undone before the contract step: the old version starts on the new schema,
      // applies nothing and serves.
      const back = await start(3);
      others.push(back);
      expect(await versionOf(back.url)).toBe(oldVersion);
      const r = await invoke(back.url, sign("rolled-back"));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(await migrations()).toBe(before + 1);

      const verified = await auditVerifyUntil(0, { env: envOf(3), cwd: dirs[3] ?? "", timeoutMs: 20_000 });
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    } finally {
      await raw.close();
    }
  }, 180_000);
});

describe("an upgrade with a schema migration: one node on SQLite", () => {
  const dir = tempDir();
  const file = join(dir, "data", "seal.db");
  mkdirSync(join(dir, "data"), { recursive: true });
  const env = {
    SEAL_GATEWAY_DATABASE_URL: `sqlite://${file}`,
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
  };
  const running: GatewayProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((g) => g.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops the old version, starts the next on the same file: migrated, replays still refused, the chain verifies", async () => {
    const old = await startGateway({ env, cwd: dir });
    running.push(old);
    const sign = await echoSigner(old.url, env, dir);
    const seen = [sign("before-1"), sign("before-2")];
    for (const body of seen) expect((await invoke(old.url, body)).status).toBe(200);
    const oldVersion = await versionOf(old.url);
    old.proc.kill("SIGTERM");
    expect((await old.exited).code).toBe(0);

    const raw = openRawDb(`sqlite://${file}`);
    const before = Number((await raw.rows("SELECT count(*) AS n FROM __drizzle_migrations"))[0]?.n);
    await raw.close();

    const fresh = await startGateway({ env, cwd: dir, main: next.main });
    running.push(fresh);
    expect(await versionOf(fresh.url)).toBe(next.version);
    expect(oldVersion).not.toBe(next.version);
    for (const body of seen) {
      const r = await invoke(fresh.url, body);
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ code: 1003 });
    }
    expect((await invoke(fresh.url, sign("after"))).status).toBe(200);

    const after = openRawDb(`sqlite://${file}`);
    try {
      expect(Number((await after.rows("SELECT count(*) AS n FROM __drizzle_migrations"))[0]?.n)).toBe(
        before + 1,
      );
      expect(
        (await after.rows("SELECT name FROM pragma_table_info('gateway_events') WHERE name = 'upgrade_note'"))
          .length,
      ).toBe(1);
    } finally {
      await after.close();
    }
    fresh.proc.kill("SIGTERM");
    expect((await fresh.exited).code).toBe(0);
    const verified = await auditVerifyUntil(0, { env, cwd: dir, timeoutMs: 20_000 });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 120_000);
});
