/**
 * The built-in secret store on SQLite. A put is one upsert that either creates version 1 or
 * bumps the version under SQLite's write lock, so concurrent writers (other connections on the
 * same file) each get a distinct version. Re-sealing for master-key rotation runs in a
 * BEGIN IMMEDIATE transaction: it holds the write lock from the start, so two rotations cannot
 * interleave and a stale `previous` rolls every update back.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { secrets, signingKeys } from "../../../drizzle/sqlite/schema.js";
import type { SyncImpl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { ResealAborted, sealedUpdates, secretRefId, secretWrite } from "../secrets-common.js";
import type { SealedValueRef, SecretStore } from "../types.js";

const ph = (name: string) => sql.placeholder(name);
/** A placeholder where drizzle's types want a column value (SET clauses). */
const value = (name: string): SQL => sql`${ph(name)}`;

function prepareStatements(db: BetterSQLite3Database) {
  const s = secrets;
  const k = signingKeys;
  const ofSecret = and(eq(s.tenantId, ph("tenantId")), eq(s.key, ph("key")));
  return {
    // Read whenever a tool call resolves a stored credential.
    get: db.select().from(s).where(ofSecret).prepare(),
    put: db
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
        // created_at keeps the first write's time; the version is bumped on the stored row.
        set: {
          valueSealed: sql`excluded.value_sealed`,
          fingerprint: sql`excluded.fingerprint`,
          version: sql`${s.version} + 1`,
          rotatedAt: value("at"),
        },
      })
      .returning()
      .prepare(),
    // Compare-and-set: only a value still equal to what the rotation read may be replaced.
    resealSecret: db
      .update(s)
      .set({ valueSealed: value("sealed") })
      .where(and(ofSecret, eq(s.valueSealed, ph("previous"))))
      .prepare(),
    resealSigningKey: db
      .update(k)
      .set({ privateSealed: value("sealed") })
      .where(and(eq(k.kid, ph("kid")), eq(k.privateSealed, ph("previous"))))
      .prepare(),
  };
}

export function sqliteSecrets(db: BetterSQLite3Database): SyncImpl<SecretStore> {
  const s = secrets;
  const byTenantKey = byName("sqlite", s.tenantId, s.key);
  // Prepared on first use: preparing needs the tables, i.e. a migrated database.
  let prepared: ReturnType<typeof prepareStatements> | undefined;
  const stmts = () => {
    prepared ??= prepareStatements(db);
    return prepared;
  };

  return {
    getSecret: (tenantId, key) => stmts().get.get({ tenantId, key }) ?? null,
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
      ).all(),
    putSecret: (row, at) => {
      const written = stmts().put.get({ ...secretWrite(row), at });
      if (written === undefined) throw new Error("secret upsert returned no row");
      return written;
    },
    deleteSecret: (tenantId, key) =>
      db
        .delete(s)
        .where(and(eq(s.tenantId, tenantId), eq(s.key, key)))
        .run().changes === 1,

    listSealedValues: () =>
      db.transaction((tx): SealedValueRef[] => {
        const keys = tx
          .select({ id: signingKeys.kid, sealed: signingKeys.privateSealed })
          .from(signingKeys)
          .orderBy(signingKeys.generation)
          .all();
        const stored = tx
          .select({ tenantId: s.tenantId, key: s.key, sealed: s.valueSealed })
          .from(s)
          .orderBy(s.tenantId, s.key)
          .all();
        return [
          ...keys.map((r) => ({ kind: "signing_key" as const, id: r.id, sealed: r.sealed })),
          ...stored.map((r) => ({
            kind: "secret" as const,
            id: secretRefId(r.tenantId, r.key),
            sealed: r.sealed,
          })),
        ];
      }),
    replaceSealedValues: (updates) => {
      const checked = sealedUpdates(updates);
      const { resealSecret, resealSigningKey } = stmts();
      try {
        return db.transaction(
          () => {
            for (const u of checked) {
              const result =
                u.kind === "secret"
                  ? resealSecret.run({
                      tenantId: u.tenantId,
                      key: u.key,
                      sealed: u.sealed,
                      previous: u.previous,
                    })
                  : resealSigningKey.run({ kid: u.kid, sealed: u.sealed, previous: u.previous });
              // Gone, or changed since the rotation read it: nothing of this batch may stay.
              if (result.changes !== 1) throw new ResealAborted();
            }
            return true;
          },
          { behavior: "immediate" },
        );
      } catch (err) {
        if (err instanceof ResealAborted) return false;
        throw err;
      }
    },
  };
}
