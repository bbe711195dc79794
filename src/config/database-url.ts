import { posix } from "node:path";

export type DatabaseTarget =
  | { dialect: "sqlite"; file: string; memory: boolean }
  | { dialect: "postgres"; url: string };

export const DATABASE_URL_HINT =
  "must be sqlite://PATH (sqlite://./x.db relative to the working directory, sqlite:///abs/x.db " +
  "absolute, sqlite://:memory:) or postgres://… / postgresql://…";

/**
 * Reads a database URL. `sqlite://` is followed by a file path as written (so
 * `sqlite:///abs` is absolute and `sqlite://./rel` relative to the working directory), or by
 * `:memory:`. Postgres URLs are passed through for the driver once they parse as URLs.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget | null {
  if (url.startsWith("sqlite://")) {
    const file = url.slice("sqlite://".length);
    if (file === ":memory:") return { dialect: "sqlite", file, memory: true };
    // A query string or NUL would be taken literally as part of the file name by SQLite.
    if (file === "" || file.endsWith("/") || /[?#\0]/.test(file)) return null;
    return { dialect: "sqlite", file, memory: false };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return URL.canParse(url) ? { dialect: "postgres", url } : null;
  }
  return null;
}

/** The default database: `gateway.db` inside the data directory, relative paths kept relative. */
export function defaultDatabaseUrl(dataDir: string): string {
  const normalized = posix.normalize(posix.join(dataDir, "gateway.db"));
  if (posix.isAbsolute(normalized) || normalized.startsWith("../")) return `sqlite://${normalized}`;
  return `sqlite://./${normalized}`;
}
