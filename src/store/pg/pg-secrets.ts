/**
 * The built-in secret store on PostgreSQL. Several instances may write one secret at once, so a
 * put is a single upsert: the row lock orders the writers and each gets a distinct version.
 * Re-sealing for master-key rotation is one transaction under an advisory lock (two rotations
 * never interleave), and every update is a compare-and-set on the value the rotation read; one
 * miss rolls the whole batch back.
 */
import { and, eq, type Placeholder, type SQL, sql } from "drizzle-orm";
import { secrets, signingKeys } from "../../../drizzle/pg/schema.js";
import { RESEAL_LOCK_KEY } from "../adapter-common.js";
import type { Impl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { ResealAborted, sealedUpdates, secretRefId, secretWrite } from "../secrets-common.js";
import type { SealedValueRef, SecretStore } from "../types.js";
import type { PgDb } from "./pg-db.js";

const ph = (name: string) => sql.placeholder(name);
/** A placeholder where drizzle's types want a column value (SET clauses). */
const value = (name: string): SQL => sql`${ph(name)}`;

export function pgSecrets(db: PgDb): Impl<SecretStore> {
  const s = secrets;
  const k = signingKeys;
  const ofSecret = (tenantId: string | Placeholder, key: string | Placeholder) =>
    and(eq(s.tenantId, tenantId), eq(s.key, key));
  // Byte order, as SQLite sorts: the database's locale collation would differ by server.
  const byTenantKey = byName("postgres", s.tenantId, s.key);

  // Read whenever a tool call resolves a stored credential.
  const get = db
    .select()
    .from(s)
    .where(ofSecret(ph("tenantId"), ph("key")))
    .prepare("seal_secret_get");
  const put = db
    .insert(s)
    .values({
      tenantId: ph("tenantId"),
      key: ph("key"),
      version: 1,
      valueSealed: ph("valueSealed"),
      fingerprint: ph("fingerprint"),
      createdAt: ph("at"),
      rotatedAt: null,
    })
    .onConflictDoUpdate({
      target: [s.tenantId, s.key],
      // created_at keeps the first write's time; the version is bumped on the locked row.
      set: {
        valueSealed: sql`excluded.value_sealed`,
        fingerprint: sql`excluded.fingerprint`,
        version: sql`${s.version} + 1`,
        rotatedAt: value("at"),
      },
    })
    .returning()
    .prepare("seal_secret_put");

  return {
    getSecret: async (tenantId, key) => {
      const [row] = await get.execute({ tenantId, key });
      return row ?? null;
    },
    listSecrets: (tenantId, page) =>
      limited(
        db
          .select()
          .from(s)
          .where(
            and(
              tenantId === "*" ? undefined : eq(s.tenantId, tenantId),
              byTenantKey.after(nameValues(page?.after), "asc"),
            ),
          )
          .orderBy(...byTenantKey.order("asc"))
          .$dynamic(),
        page,
      ),
    putSecret: async (row, at) => {
      const [written] = await put.execute({ ...secretWrite(row), at });
      if (written === undefined) throw new Error("secret upsert returned no row");
      return written;
    },
    deleteSecret: async (tenantId, key) => {
      const deleted = await db.delete(s).where(ofSecret(tenantId, key)).returning({ key: s.key });
      return deleted.length === 1;
    },

    listSealedValues: () =>
      db.transaction(
        async (tx): Promise<SealedValueRef[]> => {
          const keys = await tx.select({ id: k.kid, sealed: k.privateSealed }).from(k).orderBy(k.generation);
          const stored = await tx
            .select({ tenantId: s.tenantId, key: s.key, sealed: s.valueSealed })
            .from(s)
            .orderBy(...byTenantKey.order("asc"));
          return [
            ...keys.map((r) => ({ kind: "signing_key" as const, id: r.id, sealed: r.sealed })),
            ...stored.map((r) => ({
              kind: "secret" as const,
              id: secretRefId(r.tenantId, r.key),
              sealed: r.sealed,
            })),
          ];
        },
        { isolationLevel: "repeatable read", accessMode: "read only" },
      ),
    replaceSealedValues: async (updates) => {
      const checked = sealedUpdates(updates);
      try {
        return await db.transaction(async (tx) => {
          // Held until commit/rollback: a second rotation waits here rather than interleave.
          await tx.execute(sql`select pg_advisory_xact_lock(${RESEAL_LOCK_KEY}::bigint)`);
          for (const u of checked) {
            const matched =
              u.kind === "secret"
                ? await tx
                    .update(s)
                    .set({ valueSealed: u.sealed })
                    .where(and(ofSecret(u.tenantId, u.key), eq(s.valueSealed, u.previous)))
                    .returning({ key: s.key })
                : await tx
                    .update(k)
                    .set({ privateSealed: u.sealed })
                    .where(and(eq(k.kid, u.kid), eq(k.privateSealed, u.previous)))
                    .returning({ kid: k.kid });
            // Gone, or changed since the rotation read it: nothing of this batch may stay.
            if (matched.length !== 1) throw new ResealAborted();
          }
          return true;
        });
      } catch (err) {
        if (err instanceof ResealAborted) return false;
        throw err;
      }
    },
  };
}
