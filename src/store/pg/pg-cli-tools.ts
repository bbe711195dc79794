/**
 * CLI tools on PostgreSQL. Several instances may register at once: a name is claimed by the
 * unique (tenant, name) index with ON CONFLICT DO NOTHING, never by read-then-write.
 */
import { and, eq } from "drizzle-orm";
import { cliTools } from "../../../drizzle/pg/schema.js";
import type { Impl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { byTenantName, cliToolPatch } from "../tools-common.js";
import type { CliToolStore } from "../types.js";
import type { PgDb } from "./pg-db.js";

export function pgCliTools(db: PgDb): Impl<CliToolStore> {
  const c = cliTools;
  const key = byName("postgres", c.tenantId, c.name);
  return {
    insertCliTool: async (row) => {
      // Only the name is a conflict target: a reused id is a caller bug and must throw.
      const inserted = await db
        .insert(c)
        .values(row)
        .onConflictDoNothing({ target: [c.tenantId, c.name] })
        .returning({ id: c.id });
      return inserted.length === 1;
    },
    getCliTool: async (id) => {
      const [row] = await db.select().from(c).where(eq(c.id, id));
      return row ?? null;
    },
    getCliToolByName: async (tenantId, name) => {
      const [row] = await db
        .select()
        .from(c)
        .where(byTenantName(c, tenantId, name));
      return row ?? null;
    },
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
          // Byte order, as SQLite sorts: the database's locale collation would differ by server.
          .orderBy(...key.order("asc"))
          .$dynamic(),
        page,
      ),
    updateCliTool: async (id, patch) => {
      const updated = await db.update(c).set(cliToolPatch(patch)).where(eq(c.id, id)).returning({ id: c.id });
      return updated.length === 1;
    },
    deleteCliTool: async (id) => {
      const deleted = await db.delete(c).where(eq(c.id, id)).returning({ id: c.id });
      return deleted.length === 1;
    },
  };
}
