/**
 * Checks that the migrations in drizzle/<dialect>/migrations build exactly the tables and
 * columns the schema file declares: a schema edit without `npm run db:generate` fails here.
 */
import { PgTable, getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { SQLiteTable, getTableConfig as sqliteTableConfig } from "drizzle-orm/sqlite-core";
import * as pgSchema from "../../drizzle/pg/schema.js";
import * as sqliteSchema from "../../drizzle/sqlite/schema.js";

export type TableColumns = Record<string, string[]>;

export function declaredColumns(dialect: "sqlite" | "postgres"): TableColumns {
  const out: TableColumns = {};
  const tables = dialect === "sqlite" ? Object.values(sqliteSchema) : Object.values(pgSchema);
  for (const table of tables) {
    if (table instanceof SQLiteTable) {
      const config = sqliteTableConfig(table);
      out[config.name] = config.columns.map((c) => c.name).sort();
    } else if (table instanceof PgTable) {
      const config = pgTableConfig(table);
      out[config.name] = config.columns.map((c) => c.name).sort();
    }
  }
  return out;
}
