/**
 * Credential bindings on SQLite. The audited change runs inside one IMMEDIATE transaction, so
 * the binding, its grants and the audit row commit together.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { credentialBindings, credentialGrants } from "../../../drizzle/sqlite/schema.js";
import { grantRows, withGrants } from "../bindings-common.js";
import type { SyncImpl } from "../guard.js";
import { byCreation, createdValues, limited } from "../keyset.js";
import type { CredentialBindingRow, CredentialBindingStore } from "../types.js";

export function sqliteCredentialBindings(db: BetterSQLite3Database): SyncImpl<CredentialBindingStore> {
  const b = credentialBindings;
  const g = credentialGrants;
  const key = byCreation("sqlite", b.createdAt, b.id);
  const hydrate = (rows: (typeof b.$inferSelect)[]): CredentialBindingRow[] => {
    if (rows.length === 0) return [];
    const grants = db
      .select()
      .from(g)
      .where(
        inArray(
          g.bindingId,
          rows.map((r) => r.id),
        ),
      )
      .orderBy(asc(g.bindingId), asc(g.position))
      .all();
    return withGrants(rows, grants);
  };
  return {
    insertCredentialBinding: (row) => {
      const { grants, ...binding } = row;
      const inserted = db
        .insert(b)
        .values(binding)
        .onConflictDoNothing({ target: [b.tenantId, b.userSub, b.provider] })
        .returning({ id: b.id })
        .all();
      if (inserted.length !== 1) return false;
      if (grants.length > 0) db.insert(g).values(grantRows(row.id, grants)).run();
      return true;
    },
    replaceCredentialGrants: (id, grants) => {
      if (db.select({ id: b.id }).from(b).where(eq(b.id, id)).all().length !== 1) return false;
      db.delete(g).where(eq(g.bindingId, id)).run();
      if (grants.length > 0) db.insert(g).values(grantRows(id, grants)).run();
      return true;
    },
    getCredentialBinding: (id) => hydrate(db.select().from(b).where(eq(b.id, id)).all())[0] ?? null,
    findCredentialBinding: (tenantId, userSub, provider) =>
      hydrate(
        db
          .select()
          .from(b)
          .where(and(eq(b.tenantId, tenantId), eq(b.userSub, userSub), eq(b.provider, provider)))
          .all(),
      )[0] ?? null,
    listCredentialBindings: (tenantId, page) =>
      hydrate(
        limited(
          db
            .select()
            .from(b)
            .where(
              and(
                tenantId === "*" ? undefined : eq(b.tenantId, tenantId),
                key.after(createdValues(page?.after), "asc"),
              ),
            )
            .orderBy(...key.order("asc"))
            .$dynamic(),
          page,
        ).all(),
      ),
    deleteCredentialBinding: (id) => {
      db.delete(g).where(eq(g.bindingId, id)).run();
      return db.delete(b).where(eq(b.id, id)).run().changes === 1;
    },
  };
}
