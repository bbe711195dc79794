/**
 * Which better-sqlite3 the SQLite adapter loads (docs/decisions.md, "Node.js 24 and
 * better-sqlite3"). better-sqlite3 12 is built on `node::ObjectWrap`; from Node.js 24.19 that
 * header's destructor aborts the process (`Assertion failed: (env) != nullptr`) when the
 * garbage collector frees a statement outside a JavaScript context, as idle GC does.
 * better-sqlite3 13 is built on Node-API (version 10) and is not affected, but does not run on
 * Node.js 20 (Node-API 9). So both are dependencies: 13, under the alias better-sqlite3-napi,
 * is optional and npm installs it only where its engines allow; it is loaded wherever the
 * runtime has Node-API 10, and 12 everywhere else (Node.js 20, early 22).
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteDriver = typeof BetterSqlite3;

const require = createRequire(import.meta.url);

/** The Node-API version better-sqlite3 13's binary is built for. */
const NAPI_VERSION_13 = 10;

function load(): { driver: SqliteDriver; name: "better-sqlite3-napi" | "better-sqlite3" } {
  if (Number(process.versions.napi) >= NAPI_VERSION_13) {
    try {
      return { driver: require("better-sqlite3-napi") as SqliteDriver, name: "better-sqlite3-napi" };
    } catch (err) {
      // Installed without optional dependencies: 12 works there, with the risk above.
      if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    }
  }
  return { driver: require("better-sqlite3") as SqliteDriver, name: "better-sqlite3" };
}

const loaded = load();

/** The better-sqlite3 Database constructor for this runtime. */
export const Database: SqliteDriver = loaded.driver;

/** Which package {@link Database} came from (for diagnostics and the Node 24 test run). */
export const sqliteDriverName: "better-sqlite3-napi" | "better-sqlite3" = loaded.name;

/**
 * The warning for a runtime that needs better-sqlite3 13 but loaded 12 (`npm ci
 * --omit=optional` on Node 24), which may abort the process on idle GC; null otherwise.
 */
export function driverRisk(name: "better-sqlite3-napi" | "better-sqlite3", napi: number): string | null {
  return name === "better-sqlite3" && napi >= NAPI_VERSION_13
    ? "better-sqlite3-napi (optional dependency) is not installed: better-sqlite3 12 was loaded, which this Node.js version can abort on garbage collection; install without --omit=optional"
    : null;
}

/** {@link driverRisk} for this process: the gateway logs it as a warning at start. */
export const sqliteDriverRisk: string | null = driverRisk(loaded.name, Number(process.versions.napi));
