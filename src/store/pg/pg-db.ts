import type { PgDatabase } from "drizzle-orm/pg-core";
import type { PostgresJsQueryResultHKT } from "drizzle-orm/postgres-js";

/**
 * What the PostgreSQL parts run their queries on: the pooled database, or one transaction of
 * it (an audited control-plane change runs the same part inside `db.transaction`).
 */
export type PgDb = PgDatabase<PostgresJsQueryResultHKT>;
