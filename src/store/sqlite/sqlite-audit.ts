/**
 * Audit events and checkpoints on SQLite. The hot-path insert is prepared once; sealing runs in
 * a BEGIN IMMEDIATE transaction, which takes SQLite's single write lock up front so the head
 * check and the chain writes cannot interleave with another sealer.
 */
import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  max,
  min,
  type SQL,
  sql,
} from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { auditCheckpoints, gatewayEvents } from "../../../drizzle/sqlite/schema.js";
import { checkLimit } from "../adapter-common.js";
import type { SyncImpl } from "../guard.js";
import {
  type AuditStore,
  type CheckpointRow,
  type EventFilter,
  type EventRow,
  type NewEvent,
  RECORDED_CALL_TYPES,
  type RecordedCallFilter,
} from "../types.js";

/** writeBatch spans the replay table too, so the store composes it (sqlite-store.ts). */
type AuditPart = SyncImpl<Omit<AuditStore, "writeBatch">>;

const checkpointColumns = {
  id: auditCheckpoints.id,
  createdAt: auditCheckpoints.createdAt,
  lastChainSeq: auditCheckpoints.lastChainSeq,
  rowCount: auditCheckpoints.rowCount,
  headHash: auditCheckpoints.headHash,
  kid: auditCheckpoints.kid,
  signature: auditCheckpoints.signature,
  firstChainSeq: auditCheckpoints.firstChainSeq,
  batchRoot: auditCheckpoints.batchRoot,
};

/** Tenant, event type and window by column; the context by the payload member it is kept in. */
function recordedCallConditions(filter: RecordedCallFilter): SQL | undefined {
  const e = gatewayEvents;
  return and(
    eq(e.tenantId, filter.tenantId),
    inArray(e.eventType, [...RECORDED_CALL_TYPES]),
    filter.since === undefined ? undefined : gte(e.createdAt, filter.since),
    filter.until === undefined ? undefined : lt(e.createdAt, filter.until),
    filter.afterSeq === undefined ? undefined : gt(e.seq, filter.afterSeq),
    sql`json_extract(${e.payload}, '$.security_context') = ${filter.securityContext}`,
  );
}

/** Thrown inside the sealing transaction to roll it back; never escapes this module. */
class SealAborted extends Error {}

function eventConditions(filter: EventFilter): SQL | undefined {
  const e = gatewayEvents;
  const conditions: (SQL | undefined)[] = [
    filter.tenantId === "*" ? undefined : eq(e.tenantId, filter.tenantId),
    filter.type === undefined ? undefined : eq(e.eventType, filter.type),
    filter.agent === undefined ? undefined : eq(e.agentId, filter.agent),
    filter.tool === undefined ? undefined : eq(e.toolName, filter.tool),
    filter.decision === undefined ? undefined : eq(e.decision, filter.decision),
    filter.stage === undefined ? undefined : eq(e.stage, filter.stage),
    filter.executionId === undefined ? undefined : eq(e.executionId, filter.executionId),
    filter.since === undefined ? undefined : gte(e.createdAt, filter.since),
    filter.until === undefined ? undefined : lt(e.createdAt, filter.until),
    filter.beforeSeq === undefined ? undefined : lt(e.seq, filter.beforeSeq),
    filter.afterSeq === undefined ? undefined : gt(e.seq, filter.afterSeq),
  ];
  return and(...conditions);
}

export function sqliteAudit(db: BetterSQLite3Database): AuditPart {
  const e = gatewayEvents;
  const insertEvent = db
    .insert(e)
    .values({
      id: sql.placeholder("id"),
      createdAt: sql.placeholder("createdAt"),
      eventType: sql.placeholder("eventType"),
      tenantId: sql.placeholder("tenantId"),
      executionId: sql.placeholder("executionId"),
      callId: sql.placeholder("callId"),
      agentId: sql.placeholder("agentId"),
      toolName: sql.placeholder("toolName"),
      decision: sql.placeholder("decision"),
      stage: sql.placeholder("stage"),
      code: sql.placeholder("code"),
      requestId: sql.placeholder("requestId"),
      payload: sql.placeholder("payload"),
    })
    .prepare();
  const sealRow = db
    .update(e)
    .set({
      chainSeq: sql`${sql.placeholder("chainSeq")}`,
      prevHash: sql`${sql.placeholder("prevHash")}`,
      hash: sql`${sql.placeholder("hash")}`,
    })
    .where(and(eq(e.seq, sql.placeholder("seq")), isNull(e.chainSeq)))
    .prepare();

  // The sealer's reads and writes, prepared once like the insert: it runs every few
  // milliseconds under load, and building the same SQL each time showed in the profile.
  const unsealed = db
    .select()
    .from(e)
    .where(isNull(e.chainSeq))
    .orderBy(e.seq)
    .limit(sql.placeholder("limit"))
    .prepare();
  const head = db.select().from(e).where(isNotNull(e.chainSeq)).orderBy(desc(e.chainSeq)).limit(1).prepare();
  const headChainSeq = db
    .select({ value: max(e.chainSeq) })
    .from(e)
    .prepare();
  const insertCheckpoint = db
    .insert(auditCheckpoints)
    .values({
      id: sql.placeholder("id"),
      createdAt: sql.placeholder("createdAt"),
      lastChainSeq: sql.placeholder("lastChainSeq"),
      rowCount: sql.placeholder("rowCount"),
      headHash: sql.placeholder("headHash"),
      kid: sql.placeholder("kid"),
      signature: sql.placeholder("signature"),
      firstChainSeq: sql.placeholder("firstChainSeq"),
      batchRoot: sql.placeholder("batchRoot"),
    })
    .prepare();

  return {
    appendEvent: (event: NewEvent) => Number(insertEvent.run({ ...event }).lastInsertRowid),

    listEvents: (filter): EventRow[] =>
      db
        .select()
        .from(e)
        .where(eventConditions(filter))
        .orderBy(filter.afterSeq === undefined ? desc(e.seq) : asc(e.seq))
        .limit(checkLimit(filter.limit))
        .all(),

    listRecordedCalls: (filter): EventRow[] =>
      db
        .select()
        .from(e)
        .where(recordedCallConditions(filter))
        .orderBy(asc(e.seq))
        .limit(checkLimit(filter.limit))
        .all(),

    unsealedEvents: (limit) => unsealed.all({ limit: checkLimit(limit) }),

    chainHead: () => head.get() ?? null,

    sealBatch: (updates, checkpoint: CheckpointRow, expectedHeadChainSeq) => {
      try {
        return db.transaction(
          () => {
            if ((headChainSeq.get()?.value ?? 0) !== expectedHeadChainSeq) throw new SealAborted();
            for (const u of updates) {
              // Only a still-unsealed row may take a chain position; anything else means another
              // sealer or a rewrite got there first, so the whole batch is abandoned.
              if (sealRow.run({ ...u }).changes !== 1) throw new SealAborted();
            }
            insertCheckpoint.run({ ...checkpoint });
            return true;
          },
          { behavior: "immediate" },
        );
      } catch (err) {
        if (err instanceof SealAborted) return false;
        throw err;
      }
    },

    listCheckpoints: () =>
      db.select(checkpointColumns).from(auditCheckpoints).orderBy(auditCheckpoints.seq).all(),

    lastCheckpoint: () =>
      db
        .select(checkpointColumns)
        .from(auditCheckpoints)
        .orderBy(desc(auditCheckpoints.seq))
        .limit(1)
        .get() ?? null,

    checkpointCovering: (chainSeq) =>
      db
        .select(checkpointColumns)
        .from(auditCheckpoints)
        .where(gte(auditCheckpoints.lastChainSeq, chainSeq))
        .orderBy(auditCheckpoints.lastChainSeq, auditCheckpoints.seq)
        .limit(1)
        .get() ?? null,

    chainAfter: (afterChainSeq, limit) =>
      db
        .select()
        .from(e)
        .where(gt(e.chainSeq, afterChainSeq))
        .orderBy(e.chainSeq)
        .limit(checkLimit(limit))
        .all(),

    countEvents: () => {
      const row = db
        .select({ total: count(), sealed: count(e.chainSeq) })
        .from(e)
        .get();
      return { total: row?.total ?? 0, sealed: row?.sealed ?? 0 };
    },

    unsealedSummary: () => {
      const row = db
        .select({ n: count(), oldest: min(e.createdAt) })
        .from(e)
        .where(isNull(e.chainSeq))
        .get();
      return { count: row?.n ?? 0, oldestCreatedAt: row?.oldest ?? null };
    },
  };
}
