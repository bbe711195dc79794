/**
 * CLI tools on SQLite. The (tenant, name) unique index is the conflict target of insert, so a
 * registration either claims the name or does nothing.
 */
import { and, eq } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { cliTools } from "../../../drizzle/sqlite/schema.js";
import type { SyncImpl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { byTenantName, cliToolPatch } from "../tools-common.js";
import type { CliToolStore } from "../types.js";

export function sqliteCliTools(db: BetterSQLite3Database): SyncImpl<CliToolStore> {
  const c = cliTools;
  const key = byName("sqlite", c.tenantId, c.name);
  return {
    insertCliTool: (row) =>
      db
        .insert(c)
        .values(row)
        .onConflictDoNothing({ target: [c.tenantId, c.name] })
        .run().changes === 1,
    getCliTool: (id) => db.select().from(c).where(eq(c.id, id)).get() ?? null,
    getCliToolByName: (tenantId, name) =>
      db
        .select()
        .from(c)
        .where(byTenantName(c, tenantId, name))
        .get() ?? null,
    listCliTools: (tenantId, page) =>
      limited(
        db
          .select()
          .from(c)
          .where(
            and(
              tenantId === "*" ? undefined : eq(c.tenantId, tenantId),
              key.after(nameValues(page?.after), "asc"),
            ),
          )
          .orderBy(...key.order("asc"))
          .$dynamic(),
        page,
      ).all(),
    updateCliTool: (id, patch) =>
      db.update(c).set(cliToolPatch(patch)).where(eq(c.id, id)).run().changes === 1,
    deleteCliTool: (id) => db.delete(c).where(eq(c.id, id)).run().changes === 1,
  };
}
