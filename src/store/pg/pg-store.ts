/**
 * The PostgreSQL adapter (postgres.js). Several gateway instances may share one database:
 * uniqueness (replay keys, the first signing key) is enforced by constraints with
 * ON CONFLICT DO NOTHING, and state changes (counters, approvals) by single conditional
 * statements, never by read-then-write.
 */
import { and, count, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { agentKeys, replayRecords, sessions, signingKeys } from "../../../drizzle/pg/schema.js";
import { migrationsFolder } from "../../paths.js";
import {
  changeTookEffect,
  checkLimit,
  fromSessionRow,
  MIGRATE_LOCK_KEY,
  toSessionRow,
} from "../adapter-common.js";
import { guardMethods, type Impl } from "../guard.js";
import { byCreation, createdValues, limited } from "../keyset.js";
import { sessionStatusIs } from "../status-filters.js";
import type {
  AuditedOp,
  AuditedWrite,
  NewEvent,
  ReplayClaim,
  SessionStore,
  Store,
  WriteBatch,
  WriteBatchResult,
} from "../types.js";
import { insertEventOn, insertEventsOn, pgAudit } from "./pg-audit.js";
import { pgAuthorization } from "./pg-authorization.js";
import { pgCliTools } from "./pg-cli-tools.js";
import { pgCredentialBindings } from "./pg-credential-bindings.js";
import type { PgDb } from "./pg-db.js";
import { pgSecrets } from "./pg-secrets.js";
import { pgTools } from "./pg-tools.js";

/** Pool and timeouts of the PostgreSQL connection (config `database.*`). */
export interface PgPoolSettings {
  poolSize: number;
  /**
   * A stuck statement or lock wait must end as an error (the caller answers 5030 and runs
   * nothing) rather than hold a request, and a pool connection, forever.
   */
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  connectTimeoutSeconds: number;
}

export const DEFAULT_PG_POOL: PgPoolSettings = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  connectTimeoutSeconds: 10,
};

export interface PgStoreOptions {
  url: string;
  durability: "normal" | "full";
  pool?: PgPoolSettings;
}

const CONNECT_TIMEOUT_S = DEFAULT_PG_POOL.connectTimeoutSeconds;
const ignoreNotice = () => {};

const signingKeyColumns = {
  kid: signingKeys.kid,
  alg: signingKeys.alg,
  publicJwk: signingKeys.publicJwk,
  privateSealed: signingKeys.privateSealed,
  status: signingKeys.status,
  createdAt: signingKeys.createdAt,
  retiredAt: signingKeys.retiredAt,
};

/**
 * drizzle's migrator creates its bookkeeping schema and table with IF NOT EXISTS, which races
 * between instances starting together; a session advisory lock on a dedicated one-connection
 * client serialises them (the lock dies with the connection, even if this process does).
 */
async function runMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: ignoreNotice, connect_timeout: CONNECT_TIMEOUT_S });
  try {
    await client`select pg_advisory_lock(${MIGRATE_LOCK_KEY}::bigint)`;
    await migrate(drizzle({ client }), { migrationsFolder: migrationsFolder("pg") });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Sessions and agent keys, on the pool or on one transaction. */
function pgSessions(db: PgDb): Impl<SessionStore> {
  const sessionKey = byCreation("postgres", sessions.createdAt, sessions.executionId);
  const agentKeyKey = byCreation("postgres", agentKeys.createdAt, agentKeys.id);
  const getSessionRow = async (executionId: string) => {
    const [row] = await db.select().from(sessions).where(eq(sessions.executionId, executionId));
    return row ? toSessionRow(row) : null;
  };
  const getAgentKeyRow = async (id: string) => {
    const [row] = await db.select().from(agentKeys).where(eq(agentKeys.id, id));
    return row ?? null;
  };

  return {
    insertSession: async (row) => {
      await db.insert(sessions).values(fromSessionRow(row));
    },
    getSession: (executionId) => getSessionRow(executionId),
    listSessions: async (tenantId, status, opts = {}) => {
      const rows = await limited(
        db
          .select()
          .from(sessions)
          .where(
            and(
              tenantId === "*" ? undefined : eq(sessions.tenantId, tenantId),
              sessionStatusIs(sessions, status, opts.at),
              sessionKey.after(createdValues(opts.page?.after), "asc"),
            ),
          )
          .orderBy(...sessionKey.order("asc"))
          .$dynamic(),
        opts.page,
      );
      return rows.map(toSessionRow);
    },
    revokeSession: async (executionId, at) => {
      await db
        .update(sessions)
        .set({ status: "Revoked", revokedAt: at })
        .where(and(eq(sessions.executionId, executionId), eq(sessions.status, "Active")));
      return getSessionRow(executionId);
    },

    insertAgentKey: async (row) => {
      await db.insert(agentKeys).values(row);
    },
    getAgentKey: (id) => getAgentKeyRow(id),
    listAgentKeys: (tenantId, sub, page) =>
      limited(
        db
          .select()
          .from(agentKeys)
          .where(
            and(
              tenantId === "*" ? undefined : eq(agentKeys.tenantId, tenantId),
              sub === undefined ? undefined : eq(agentKeys.sub, sub),
              agentKeyKey.after(createdValues(page?.after), "asc"),
            ),
          )
          .orderBy(...agentKeyKey.order("asc"))
          .$dynamic(),
        page,
      ),
    agentKeysFor: (tenantId, sub) =>
      db
        .select()
        .from(agentKeys)
        .where(and(eq(agentKeys.tenantId, tenantId), eq(agentKeys.sub, sub)))
        .orderBy(agentKeys.createdAt, agentKeys.id),
    revokeAgentKey: async (id, at) => {
      await db
        .update(agentKeys)
        .set({ status: "revoked", revokedAt: at })
        .where(and(eq(agentKeys.id, id), eq(agentKeys.status, "active")));
      return getAgentKeyRow(id);
    },
  };
}

/**
 * Replay claims as one statement. A key repeated within the batch is inserted once (ON CONFLICT
 * DO NOTHING skips the repeat too), so only its first claim is fresh.
 */
async function claimReplaysOn(db: PgDb, claims: ReplayClaim[]): Promise<boolean[]> {
  if (claims.length === 0) return [];
  const taken = await db
    .insert(replayRecords)
    .values(claims.map((c) => ({ key: c.key, expiresAt: c.expiresAt })))
    .onConflictDoNothing()
    .returning({ key: replayRecords.key });
  const fresh = new Set(taken.map((r) => r.key));
  return claims.map((c) => fresh.delete(c.key));
}

/** Group commit: a single statement is atomic on its own; events and claims share a transaction. */
async function writeBatchOn(db: PgDb, batch: WriteBatch): Promise<WriteBatchResult> {
  const write = async (q: PgDb) => ({
    seqs: await insertEventsOn(q, batch.events),
    fresh: await claimReplaysOn(q, batch.replays),
  });
  if (batch.events.length > 0 && batch.replays.length > 0) return db.transaction((tx) => write(tx));
  return write(db);
}

/** The parts an audited change may run in a transaction. */
function parts(db: PgDb) {
  return {
    ...pgSessions(db),
    ...pgAuthorization(db),
    ...pgTools(db),
    ...pgCliTools(db),
    ...pgSecrets(db),
    ...pgCredentialBindings(db),
  };
}

export function openPgStore(opts: PgStoreOptions): Store {
  const pool = opts.pool ?? DEFAULT_PG_POOL;
  const client = postgres(opts.url, {
    max: pool.poolSize,
    prepare: true,
    onnotice: ignoreNotice,
    connect_timeout: pool.connectTimeoutSeconds,
    connection: {
      application_name: "seal-gateway",
      statement_timeout: pool.statementTimeoutMs,
      idle_in_transaction_session_timeout: pool.idleInTransactionTimeoutMs,
      // "full" must not depend on the server's default; "normal" keeps it (on, unless an
      // operator relaxed it knowingly).
      ...(opts.durability === "full" ? { synchronous_commit: "on" } : {}),
    },
  });
  const db = drizzle({ client });
  const audit = pgAudit(db);

  // Hot path: a named (server-side prepared) single statement; a conflict means "seen before".
  const insertReplay = db
    .insert(replayRecords)
    .values({ key: sql.placeholder("key"), expiresAt: sql.placeholder("expiresAt") })
    .onConflictDoNothing()
    .returning({ key: replayRecords.key })
    .prepare("seal_replay_insert");

  const impl: Impl<Omit<Store, "audited">> = {
    dialect: "postgres",
    migrate: () => runMigrations(opts.url),
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),

    listSigningKeys: () => db.select(signingKeyColumns).from(signingKeys).orderBy(signingKeys.generation),
    insertFirstSigningKey: async (row) => {
      const inserted = await db
        .insert(signingKeys)
        .values({ ...row, generation: 1 })
        .onConflictDoNothing()
        .returning({ kid: signingKeys.kid });
      return inserted.length === 1;
    },
    rotateSigningKey: (row, at) =>
      db.transaction(async (tx) => {
        const rows = await tx
          .select({ ...signingKeyColumns, generation: signingKeys.generation })
          .from(signingKeys);
        const generation = Math.max(0, ...rows.map((r) => r.generation)) + 1;
        await tx
          .update(signingKeys)
          .set({ status: "retired", retiredAt: at })
          .where(eq(signingKeys.status, "active"));
        // The generation is unique: of two rotations at once, the second fails here.
        await tx.insert(signingKeys).values({ ...row, status: "active", retiredAt: null, generation });
        return rows.filter((r) => r.status === "active").map((r) => r.kid);
      }),

    recordReplay: async (key, expiresAt) => (await insertReplay.execute({ key, expiresAt })).length === 1,
    writeBatch: (batch) => writeBatchOn(db, batch),
    countReplay: async () => (await db.select({ n: count() }).from(replayRecords))[0]?.n ?? 0,
    sweepReplay: async (now, limit) => {
      // Bounded: one sweep never holds locks on more than `limit` rows.
      const result = await db.execute(
        sql`delete from ${replayRecords} where ctid in (select ctid from ${replayRecords} where ${replayRecords.expiresAt} < ${now} limit ${checkLimit(limit)})`,
      );
      return result.count;
    },

    ...parts(db),
    ...audit,
  };

  // postgres.js runs a transaction on one reserved connection: the change (the same part code,
  // on the transaction) and its event commit together or not at all.
  const audited = <K extends AuditedOp>(event: NewEvent, op: K, ...args: Parameters<AuditedWrite[K]>) =>
    db.transaction(async (tx) => {
      const change = parts(tx)[op] as (...a: Parameters<AuditedWrite[K]>) => unknown;
      const result = await change(...args);
      if (changeTookEffect(result)) await insertEventOn(tx, event);
      return result;
    });

  return guardMethods<Store>({ ...impl, audited } as Impl<Store>);
}
