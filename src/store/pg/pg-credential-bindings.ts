/**
 * Credential bindings on PostgreSQL. A binding and its grants are written together (the
 * audited change runs on one transaction); (tenant, user, provider) is claimed by the unique
 * index with ON CONFLICT DO NOTHING, never by read-then-write.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import { credentialBindings, credentialGrants } from "../../../drizzle/pg/schema.js";
import { grantRows, withGrants } from "../bindings-common.js";
import type { Impl } from "../guard.js";
import { byCreation, createdValues, limited } from "../keyset.js";
import type { CredentialBindingRow, CredentialBindingStore } from "../types.js";
import type { PgDb } from "./pg-db.js";

export function pgCredentialBindings(db: PgDb): Impl<CredentialBindingStore> {
  const b = credentialBindings;
  const g = credentialGrants;
  const key = byCreation("postgres", b.createdAt, b.id);
  const hydrate = async (rows: (typeof b.$inferSelect)[]): Promise<CredentialBindingRow[]> => {
    if (rows.length === 0) return [];
    const grants = await db
      .select()
      .from(g)
      .where(
        inArray(
          g.bindingId,
          rows.map((r) => r.id),
        ),
      )
      .orderBy(asc(g.bindingId), asc(g.position));
    return withGrants(rows, grants);
  };
  return {
    insertCredentialBinding: async (row) => {
      const { grants, ...binding } = row;
      const inserted = await db
        .insert(b)
        .values(binding)
        .onConflictDoNothing({ target: [b.tenantId, b.userSub, b.provider] })
        .returning({ id: b.id });
      if (inserted.length !== 1) return false;
      if (grants.length > 0) await db.insert(g).values(grantRows(row.id, grants));
      return true;
    },
    replaceCredentialGrants: async (id, grants) => {
      // Locks the binding row, so a concurrent delete or replace waits for this one.
      const found = await db.select({ id: b.id }).from(b).where(eq(b.id, id)).for("update");
      if (found.length !== 1) return false;
      await db.delete(g).where(eq(g.bindingId, id));
      if (grants.length > 0) await db.insert(g).values(grantRows(id, grants));
      return true;
    },
    getCredentialBinding: async (id) =>
      (await hydrate(await db.select().from(b).where(eq(b.id, id))))[0] ?? null,
    findCredentialBinding: async (tenantId, userSub, provider) =>
      (
        await hydrate(
          await db
            .select()
            .from(b)
            .where(and(eq(b.tenantId, tenantId), eq(b.userSub, userSub), eq(b.provider, provider))),
        )
      )[0] ?? null,
    listCredentialBindings: async (tenantId, page) =>
      hydrate(
        await limited(
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
        ),
      ),
    deleteCredentialBinding: async (id) => {
      await db.delete(g).where(eq(g.bindingId, id));
      const deleted = await db.delete(b).where(eq(b.id, id)).returning({ id: b.id });
      return deleted.length === 1;
    },
  };
}
