/**
 * Authorization state on SQLite: security contexts, fixed-window counters and approvals. Every
 * state change is one conditional statement (upsert, or UPDATE … WHERE <expected state>), so
 * the database decides who wins; nothing reads a row and then writes on what it saw.
 */
import { and, count, eq, gt, isNull, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { approvals, counters, securityContexts, sessions } from "../../../drizzle/sqlite/schema.js";
import { checkDecision, checkLimit } from "../adapter-common.js";
import type { SyncImpl } from "../guard.js";
import { byCreation, byName, createdValues, limited, nameValues } from "../keyset.js";
import { approvalStatusIs } from "../status-filters.js";
import type { AuthorizationStore } from "../types.js";

type AuthorizationPart = SyncImpl<AuthorizationStore>;

function prepareStatements(db: BetterSQLite3Database) {
  const c = counters;
  const a = approvals;
  const ctx = securityContexts;
  return {
    // Read on every authorized call.
    getContext: db
      .select()
      .from(ctx)
      .where(and(eq(ctx.tenantId, sql.placeholder("tenantId")), eq(ctx.name, sql.placeholder("name"))))
      .prepare(),
    // Every rate-limited call: one upsert that creates the window or bumps it, and reports the
    // count it produced, so two callers can never both see "under the limit" for one slot.
    increment: db
      .insert(c)
      .values({
        key: sql.placeholder("key"),
        windowStart: sql.placeholder("windowStart"),
        count: 1,
        expiresAt: sql.placeholder("expiresAt"),
      })
      .onConflictDoUpdate({
        target: [c.key, c.windowStart],
        // The later expiry wins, so the sweeper never removes a window still being counted.
        set: { count: sql`${c.count} + 1`, expiresAt: sql`max(${c.expiresAt}, excluded.expires_at)` },
      })
      .returning({ count: c.count })
      .prepare(),
    // An approval authorizes one call: only the statement that flips it to "used" may run it.
    consume: db
      .update(a)
      .set({ status: "used", usedAt: sql`${sql.placeholder("at")}` })
      .where(and(eq(a.id, sql.placeholder("id")), eq(a.status, "approved"), isNull(a.usedAt)))
      .prepare(),
  };
}

export function sqliteAuthorization(db: BetterSQLite3Database): AuthorizationPart {
  const ctx = securityContexts;
  const a = approvals;
  // Prepared on first use: preparing needs the tables, i.e. a migrated database.
  let prepared: ReturnType<typeof prepareStatements> | undefined;
  const stmts = () => {
    prepared ??= prepareStatements(db);
    return prepared;
  };
  const ofContext = (tenantId: string, name: string) => and(eq(ctx.tenantId, tenantId), eq(ctx.name, name));
  const contextKey = byName("sqlite", ctx.tenantId, ctx.name);
  const approvalKey = byCreation("sqlite", a.createdAt, a.id);

  return {
    getSecurityContext: (tenantId, name) => stmts().getContext.get({ tenantId, name }) ?? null,
    insertSecurityContext: (row) => db.insert(ctx).values(row).onConflictDoNothing().run().changes === 1,
    updateSecurityContext: (tenantId, name, document, updatedAt) =>
      db.update(ctx).set({ document, updatedAt }).where(ofContext(tenantId, name)).run().changes === 1,
    listSecurityContexts: (tenantId, page) =>
      limited(
        db
          .select()
          .from(ctx)
          .where(
            and(
              tenantId === "*" ? undefined : eq(ctx.tenantId, tenantId),
              contextKey.after(nameValues(page?.after), "asc"),
            ),
          )
          .orderBy(...contextKey.order("asc"))
          .$dynamic(),
        page,
      ).all(),
    deleteSecurityContext: (tenantId, name) =>
      db.delete(ctx).where(ofContext(tenantId, name)).run().changes === 1,
    countActiveSessionsForContext: (tenantId, name, now) => {
      const s = sessions;
      const row = db
        .select({ n: count() })
        .from(s)
        .where(
          and(
            eq(s.tenantId, tenantId),
            eq(s.securityContext, name),
            eq(s.status, "Active"),
            gt(s.expiresAt, now),
          ),
        )
        .get();
      return row?.n ?? 0;
    },

    incrementCounter: (key, windowStart, expiresAt) => {
      const row = stmts().increment.get({ key, windowStart, expiresAt });
      if (row === undefined) throw new Error("counter upsert returned no row");
      return row.count;
    },
    sweepCounters: (now, limit) => {
      const c = counters;
      // Bounded: one sweep never holds the write lock for more than `limit` deletions.
      return db.run(
        sql`delete from ${c} where rowid in (select rowid from ${c} where ${c.expiresAt} < ${now} limit ${checkLimit(limit)})`,
      ).changes;
    },

    insertApproval: (row) => {
      db.insert(a).values(row).run();
    },
    getApproval: (id) => db.select().from(a).where(eq(a.id, id)).get() ?? null,
    listApprovals: (tenantId, status, limit, opts = {}) =>
      db
        .select()
        .from(a)
        .where(
          and(
            tenantId === "*" ? undefined : eq(a.tenantId, tenantId),
            approvalStatusIs(a, status, opts.at),
            approvalKey.after(createdValues(opts.before), "desc"),
          ),
        )
        .orderBy(...approvalKey.order("desc"))
        .limit(checkLimit(limit))
        .all(),
    decideApproval: (id, status, decidedBy, reason, at) =>
      db
        .update(a)
        .set({ status: checkDecision(status), decidedAt: at, decidedBy, reason })
        .where(and(eq(a.id, id), eq(a.status, "pending")))
        .returning()
        .get() ?? null,
    consumeApproval: (id, at) => stmts().consume.run({ id, at }).changes === 1,
  };
}
