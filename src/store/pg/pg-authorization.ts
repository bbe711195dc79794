/**
 * Authorization state on PostgreSQL: security contexts, fixed-window counters and approvals.
 * Several instances share these rows, so every state change is one conditional statement
 * (upsert, or UPDATE … WHERE <expected state> RETURNING): row locks decide who wins, never a
 * read followed by a write in this process.
 */
import { and, count, eq, gt, isNull, sql } from "drizzle-orm";
import { approvals, counters, securityContexts, sessions } from "../../../drizzle/pg/schema.js";
import { checkDecision, checkLimit } from "../adapter-common.js";
import type { Impl } from "../guard.js";
import { byCreation, byName, createdValues, limited, nameValues } from "../keyset.js";
import { approvalStatusIs } from "../status-filters.js";
import type { AuthorizationStore } from "../types.js";
import type { PgDb } from "./pg-db.js";

type AuthorizationPart = Impl<AuthorizationStore>;

export function pgAuthorization(db: PgDb): AuthorizationPart {
  const ctx = securityContexts;
  const c = counters;
  const a = approvals;
  const ofContext = (tenantId: string, name: string) => and(eq(ctx.tenantId, tenantId), eq(ctx.name, name));
  const contextKey = byName("postgres", ctx.tenantId, ctx.name);
  const approvalKey = byCreation("postgres", a.createdAt, a.id);

  // Read on every authorized call.
  const getContext = db
    .select()
    .from(ctx)
    .where(and(eq(ctx.tenantId, sql.placeholder("tenantId")), eq(ctx.name, sql.placeholder("name"))))
    .prepare("seal_context_get");
  // Every rate-limited call, from any instance: one upsert that creates the window or bumps it
  // under the row lock and reports the count it produced, so two callers can never both see
  // "under the limit" for the same slot.
  const increment = db
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
      set: { count: sql`${c.count} + 1`, expiresAt: sql`greatest(${c.expiresAt}, excluded.expires_at)` },
    })
    .returning({ count: c.count })
    .prepare("seal_counter_increment");
  // An approval authorizes one call: only the instance whose UPDATE flips it to "used" runs it
  // (a concurrent UPDATE waits for the row lock, then re-checks the WHERE and matches nothing).
  const consume = db
    .update(a)
    .set({ status: "used", usedAt: sql`${sql.placeholder("at")}` })
    .where(and(eq(a.id, sql.placeholder("id")), eq(a.status, "approved"), isNull(a.usedAt)))
    .returning({ id: a.id })
    .prepare("seal_approval_consume");

  return {
    getSecurityContext: async (tenantId, name) => {
      const [row] = await getContext.execute({ tenantId, name });
      return row ?? null;
    },
    insertSecurityContext: async (row) => {
      const inserted = await db.insert(ctx).values(row).onConflictDoNothing().returning({ name: ctx.name });
      return inserted.length === 1;
    },
    updateSecurityContext: async (tenantId, name, document, updatedAt) => {
      const updated = await db
        .update(ctx)
        .set({ document, updatedAt })
        .where(ofContext(tenantId, name))
        .returning({ name: ctx.name });
      return updated.length === 1;
    },
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
          // Byte order, as SQLite sorts: the database's locale collation would differ by server.
          .orderBy(...contextKey.order("asc"))
          .$dynamic(),
        page,
      ),
    deleteSecurityContext: async (tenantId, name) => {
      const deleted = await db.delete(ctx).where(ofContext(tenantId, name)).returning({ name: ctx.name });
      return deleted.length === 1;
    },
    countActiveSessionsForContext: async (tenantId, name, now) => {
      const s = sessions;
      const [row] = await db
        .select({ n: count() })
        .from(s)
        .where(
          and(
            eq(s.tenantId, tenantId),
            eq(s.securityContext, name),
            eq(s.status, "Active"),
            gt(s.expiresAt, now),
          ),
        );
      return row?.n ?? 0;
    },

    incrementCounter: async (key, windowStart, expiresAt) => {
      const [row] = await increment.execute({ key, windowStart, expiresAt });
      if (row === undefined) throw new Error("counter upsert returned no row");
      return row.count;
    },
    sweepCounters: async (now, limit) => {
      // Bounded: one sweep never holds locks on more than `limit` rows.
      const result = await db.execute(
        sql`delete from ${c} where ctid in (select ctid from ${c} where ${c.expiresAt} < ${now} limit ${checkLimit(limit)})`,
      );
      return result.count;
    },

    insertApproval: async (row) => {
      await db.insert(a).values(row);
    },
    getApproval: async (id) => {
      const [row] = await db.select().from(a).where(eq(a.id, id));
      return row ?? null;
    },
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
        .limit(checkLimit(limit)),
    decideApproval: async (id, status, decidedBy, reason, at) => {
      const [row] = await db
        .update(a)
        .set({ status: checkDecision(status), decidedAt: at, decidedBy, reason })
        .where(and(eq(a.id, id), eq(a.status, "pending")))
        .returning();
      return row ?? null;
    },
    consumeApproval: async (id, at) => (await consume.execute({ id, at })).length === 1,
  };
}
