/**
 * A second, independent connection to a gateway's database for tests that tamper with it or
 * inspect it behind the gateway's back: better-sqlite3 on the file, postgres.js on the URL.
 * SQL is written once with `$1, $2…` placeholders (in order of appearance); the SQLite side
 * rewrites them to `?`. Numeric columns come back as JS numbers on both dialects.
 */
import postgres from "postgres";
import { sqlitePathFromUrl } from "../../src/store/open.js";
import { Database } from "../../src/store/sqlite/driver.js";

export type Row = Record<string, unknown>;

export interface RawDb {
  readonly dialect: "sqlite" | "postgres";
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

const NUMERIC = new Set([
  "seq",
  "chain_seq",
  "created_at",
  "code",
  "last_chain_seq",
  "row_count",
  "generation",
  "n",
  "expires_at",
]);

function normalize(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row))
    out[k] = NUMERIC.has(k) && (typeof v === "string" || typeof v === "bigint") ? Number(v) : v;
  return out;
}

export function openRawDb(url: string): RawDb {
  if (url.startsWith("sqlite://")) {
    const db = new Database(sqlitePathFromUrl(url));
    db.pragma("busy_timeout = 5000");
    // Each `$n` becomes a `?` bound to params[n-1], so a parameter may appear more than once.
    const prep = (sql: string, params: unknown[]) => {
      const bound: unknown[] = [];
      const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
        bound.push(params[Number(n) - 1]);
        return "?";
      });
      return { stmt: db.prepare(text), bound };
    };
    return {
      dialect: "sqlite",
      run: async (sql, params = []) => {
        const { stmt, bound } = prep(sql, params);
        return stmt.run(...bound).changes;
      },
      rows: async (sql, params = []) => {
        const { stmt, bound } = prep(sql, params);
        return (stmt.all(...bound) as Row[]).map(normalize);
      },
      close: async () => {
        db.close();
      },
    };
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    dialect: "postgres",
    run: async (text, params = []) =>
      (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])).count,
    rows: async (text, params = []) =>
      [...(await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]))].map((r) =>
        normalize(r as Row),
      ),
    close: () => sql.end({ timeout: 5 }),
  };
}
