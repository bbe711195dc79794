import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { afterAll, describe, expect, it } from "vitest";
import { migrationsFolder, packageRoot } from "../../src/paths.js";
import { openStore, sqlitePathFromUrl } from "../../src/store/open.js";
import { Database } from "../../src/store/sqlite/driver.js";
import { securityContext, session } from "./fixtures.js";
import { declaredColumns, type TableColumns } from "./schema-drift.js";
import { putSecurityContext } from "./test-methods.js";

const dir = mkdtempSync(join(tmpdir(), "seal-open-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlitePathFromUrl", () => {
  it.each([
    ["sqlite://./x.db", "/work/cwd/x.db"],
    ["sqlite://data/gateway.db", "/work/cwd/data/gateway.db"],
    ["sqlite://../up.db", "/work/up.db"],
    ["sqlite:///abs/x.db", "/abs/x.db"],
    ["sqlite://:memory:", ":memory:"],
  ])("maps %s to %s", (url, path) => {
    expect(sqlitePathFromUrl(url, "/work/cwd")).toBe(path);
  });

  it.each([
    "sqlite://",
    "sqlite://dir/",
    "sqlite://x.db?mode=ro",
    "sqlite://x.db#frag",
    "sqlite://a\0b",
    "sqlite:x.db",
  ])("refuses %j", (url) => {
    expect(() => sqlitePathFromUrl(url, "/work/cwd")).toThrow();
  });
});

describe("openStore", () => {
  it("refuses unknown schemes without echoing the URL (it may hold a password)", async () => {
    for (const url of ["mysql://root:pw-hunter2@db/x", "gateway.db", "", "file:///x.db"]) {
      const err: unknown = await openStore({ url, durability: "normal" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(String(err)).not.toContain("hunter2");
    }
  });

  it("creates missing parent directories and a WAL-mode database file", async () => {
    const file = join(dir, "a", "b", "c", "gateway.db");
    const logged: string[] = [];
    const store = await openStore({
      url: `sqlite://${file}`,
      durability: "full",
      log: (msg) => logged.push(msg),
    });
    try {
      await store.migrate();
      expect(store.dialect).toBe("sqlite");
      expect(existsSync(file)).toBe(true);
      const peek = new Database(file, { readonly: true });
      try {
        expect(peek.pragma("journal_mode", { simple: true })).toBe("wal");
      } finally {
        peek.close();
      }
      expect(logged).toContain("store opened");
    } finally {
      await store.close();
    }
  });

  it("fails with a StoreError when the database path cannot be created", async () => {
    const blocker = join(dir, "blocker");
    const store = await openStore({ url: `sqlite://${blocker}`, durability: "normal" });
    await store.close();
    await expect(
      openStore({ url: `sqlite://${blocker}/inner.db`, durability: "normal" }),
    ).rejects.toMatchObject({
      name: "StoreError",
      operation: "open",
    });
  });

  it("checks stored session patterns on the way out", async () => {
    const file = join(dir, "corrupt", "gateway.db");
    const store = await openStore({ url: `sqlite://${file}`, durability: "normal" });
    try {
      await store.migrate();
      const s = session();
      await store.insertSession(s);
      const raw = new Database(file);
      raw
        .prepare("update sessions set allowed_tool_patterns = ? where execution_id = ?")
        .run('"*"', s.executionId);
      raw.close();
      await expect(store.getSession(s.executionId)).rejects.toThrow(/allowed_tool_patterns/);
    } finally {
      await store.close();
    }
  });

  it("migrates to exactly the tables and columns drizzle/sqlite/schema.ts declares", async () => {
    const file = join(dir, "drift", "gateway.db");
    const store = await openStore({ url: `sqlite://${file}`, durability: "normal" });
    try {
      await store.migrate();
      const raw = new Database(file, { readonly: true });
      const actual: TableColumns = {};
      const tables = raw
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%'",
        )
        .pluck()
        .all();
      for (const name of tables) {
        if (typeof name !== "string") continue;
        actual[name] = raw
          .prepare("select name from pragma_table_info(?)")
          .pluck()
          .all(name)
          .map(String)
          .sort();
      }
      raw.close();
      expect(actual).toEqual(declaredColumns("sqlite"));
    } finally {
      await store.close();
    }
  });
});

describe("sqlite upgrade", () => {
  it("upgrades a database created at 0000_init, keeping its rows", async () => {
    // The first migration alone, as an existing deployment has it.
    const firstOnly = join(dir, "first-only");
    cpSync(migrationsFolder("sqlite"), firstOnly, { recursive: true });
    const journalPath = join(firstOnly, "meta", "_journal.json");
    const journal: { entries: { tag: string }[] } = JSON.parse(readFileSync(journalPath, "utf8"));
    expect(journal.entries.map((e) => e.tag)).toContain("0001_authorization");
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }));

    const file = join(dir, "upgrade", "gateway.db");
    mkdirSync(dirname(file), { recursive: true });
    const raw = new Database(file);
    migrate(drizzle({ client: raw }), { migrationsFolder: firstOnly });
    const counters = raw.prepare("select count(*) from sqlite_master where name = 'counters'").pluck().get();
    expect(counters).toBe(0);
    raw.close();

    const s = session();
    const ctx = securityContext();
    const before = await openStore({ url: `sqlite://${file}`, durability: "normal" });
    try {
      await before.insertSession(s);
      await putSecurityContext(before, ctx);
    } finally {
      await before.close();
    }

    const store = await openStore({ url: `sqlite://${file}`, durability: "normal" });
    try {
      await store.migrate();
      expect(await store.getSession(s.executionId)).toEqual(s);
      expect(await store.listSecurityContexts("*")).toEqual([ctx]);
      expect(await store.countActiveSessionsForContext(s.tenantId, s.securityContext, s.createdAt)).toBe(1);
      expect(await store.incrementCounter("k", 0, 1)).toBe(1);
      expect(await store.listApprovals("*", undefined, 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe("packageRoot", () => {
  it("finds this package's root and its migration folders", () => {
    const root = packageRoot();
    expect(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).name).toBe("seal-gateway");
    for (const dialect of ["sqlite", "pg"] as const) {
      expect(existsSync(join(migrationsFolder(dialect), "meta", "_journal.json"))).toBe(true);
    }
  });
});
