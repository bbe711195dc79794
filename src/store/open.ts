/**
 * Opens the configured store from a database URL:
 *   sqlite://./x.db      relative to the working directory
 *   sqlite:///abs/x.db   absolute
 *   sqlite://:memory:    in-memory (tests)
 *   postgres://… or postgresql://…
 * The URL may carry a password, so it never appears in an error or log line.
 */
import { isAbsolute, resolve } from "node:path";
import type { StoreLog } from "./adapter-common.js";
import { openPgStore, type PgPoolSettings } from "./pg/pg-store.js";
import { sqliteDriverName, sqliteDriverRisk } from "./sqlite/driver.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";

export { sqliteDriverRisk };

import type { Store } from "./types.js";

export interface OpenStoreOptions {
  url: string;
  durability: "normal" | "full";
  log?: StoreLog;
  /** PostgreSQL only: pool size and timeouts (config `database.*`). */
  pool?: PgPoolSettings;
}

const SQLITE_PREFIX = "sqlite://";

/** The file path a sqlite:// URL names, or ":memory:". Throws on anything malformed. */
export function sqlitePathFromUrl(url: string, cwd: string = process.cwd()): string {
  if (!url.startsWith(SQLITE_PREFIX)) throw new Error("not a sqlite:// URL");
  const rest = url.slice(SQLITE_PREFIX.length);
  if (rest === ":memory:") return rest;
  if (rest === "" || rest.endsWith("/")) throw new Error("sqlite:// URL names no database file");
  // SQLite would take "?"/"#" literally as part of the name, and a NUL would cut it short in C:
  // either way a different file than the one configured.
  if (/[?#\0]/.test(rest)) throw new Error("sqlite:// URL path contains '?', '#' or a NUL byte");
  return isAbsolute(rest) ? rest : resolve(cwd, rest);
}

function scheme(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  return match?.[1]?.toLowerCase() ?? "";
}

/** Where the store lives, for logs: host and database, never credentials. */
function describePg(url: string): Record<string, string> {
  try {
    const parsed = new URL(url);
    return { host: parsed.host, database: parsed.pathname.replace(/^\//, "") };
  } catch {
    return {};
  }
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const kind = scheme(opts.url);
  if (kind === "sqlite") {
    const path = sqlitePathFromUrl(opts.url);
    const store = openSqliteStore({ path, durability: opts.durability, log: opts.log });
    opts.log?.("store opened", {
      dialect: "sqlite",
      path,
      durability: opts.durability,
      driver: sqliteDriverName,
    });
    return store;
  }
  if (kind === "postgres" || kind === "postgresql") {
    const store = openPgStore({
      url: opts.url,
      durability: opts.durability,
      ...(opts.pool ? { pool: opts.pool } : {}),
    });
    opts.log?.("store opened", { dialect: "postgres", ...describePg(opts.url), durability: opts.durability });
    return store;
  }
  throw new Error(
    kind === ""
      ? "database URL has no scheme"
      : `unsupported database URL scheme "${kind}" (use sqlite:// or postgres://)`,
  );
}
