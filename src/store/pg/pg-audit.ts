/**
 * Audit events and checkpoints on PostgreSQL. Inserts never take a lock (seq comes from a
 * sequence, so concurrent writers on several instances do not serialise); only sealing does,
 * through a transaction-scoped advisory lock so that two instances never extend the chain at once.
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
import { auditCheckpoints, gatewayEvents } from "../../../drizzle/pg/schema.js";
import { checkLimit, SEAL_LOCK_KEY } from "../adapter-common.js";
import type { Impl } from "../guard.js";
import {
  type AuditStore,
  type CheckpointRow,
  type EventFilter,
  type EventRow,
  type NewEvent,
  RECORDED_CALL_TYPES,
  type RecordedCallFilter,
  type SealedUpdate,
} from "../types.js";
import type { PgDb } from "./pg-db.js";

/** writeBatch spans the replay table too, so the store composes it (pg-store.ts). */
type AuditPart = Impl<Omit<AuditStore, "writeBatch">>;

/** Rows per UPDATE … FROM (VALUES …): 4 parameters each, far below PostgreSQL's 65535 limit. */
const SEAL_CHUNK = 1000;

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

/** Thrown inside the sealing transaction to roll it back; never escapes this module. */
class SealAborted extends Error {}

function eventConditions(filter: EventFilter): SQL | undefined {
  const e = gatewayEvents;
  return and(
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
  );
}

/** Tenant, event type and window by column; the context by the payload member it is kept in. */
function recordedCallConditions(filter: RecordedCallFilter): SQL | undefined {
  const e = gatewayEvents;
  return and(
    eq(e.tenantId, filter.tenantId),
    inArray(e.eventType, [...RECORDED_CALL_TYPES]),
    filter.since === undefined ? undefined : gte(e.createdAt, filter.since),
    filter.until === undefined ? undefined : lt(e.createdAt, filter.until),
    filter.afterSeq === undefined ? undefined : gt(e.seq, filter.afterSeq),
    sql`(${e.payload}::json ->> 'security_context') = ${filter.securityContext}`,
  );
}

function sealStatement(chunk: SealedUpdate[]): SQL {
  const e = gatewayEvents;
  const rows = sql.join(
    chunk.map((u) => sql`(${u.seq}::bigint, ${u.chainSeq}::bigint, ${u.prevHash}::text, ${u.hash}::text)`),
    sql`, `,
  );
  // Only still-unsealed rows may take a chain position; the caller compares the row count.
  return sql`update ${e} set chain_seq = v.chain_seq, prev_hash = v.prev_hash, hash = v.hash
    from (values ${rows}) as v(seq, chain_seq, prev_hash, hash)
    where ${e.seq} = v.seq and ${e.chainSeq} is null`;
}

/** Inserts one event on `db` (a transaction, when it records a change made in that transaction). */
export async function insertEventOn(db: PgDb, event: NewEvent): Promise<void> {
  await db.insert(gatewayEvents).values({ ...event });
}

/** One multi-row insert; the sequence numbers come back in the order the events were given. */
export async function insertEventsOn(db: PgDb, events: NewEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = await db
    .insert(gatewayEvents)
    .values(events.map((event) => ({ ...event })))
    .returning({ id: gatewayEvents.id, seq: gatewayEvents.seq });
  const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
  return events.map((event) => {
    const seq = seqOf.get(event.id);
    if (seq === undefined) throw new Error("insert returned no row for an event");
    return seq;
  });
}

export function pgAudit(db: PgDb): AuditPart {
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
    .returning({ seq: e.seq })
    .prepare("seal_append_event");

  return {
    appendEvent: async (event: NewEvent) => {
      const [row] = await insertEvent.execute({ ...event });
      if (row === undefined) throw new Error("insert returned no row");
      return row.seq;
    },

    listEvents: (filter): Promise<EventRow[]> =>
      db
        .select()
        .from(e)
        .where(eventConditions(filter))
        .orderBy(filter.afterSeq === undefined ? desc(e.seq) : asc(e.seq))
        .limit(checkLimit(filter.limit)),

    listRecordedCalls: (filter): Promise<EventRow[]> =>
      db
        .select()
        .from(e)
        .where(recordedCallConditions(filter))
        .orderBy(asc(e.seq))
        .limit(checkLimit(filter.limit)),

    unsealedEvents: (limit) =>
      db.select().from(e).where(isNull(e.chainSeq)).orderBy(e.seq).limit(checkLimit(limit)),

    chainHead: async () => {
      const [row] = await db.select().from(e).where(isNotNull(e.chainSeq)).orderBy(desc(e.chainSeq)).limit(1);
      return row ?? null;
    },

    sealBatch: async (updates, checkpoint: CheckpointRow, expectedHeadChainSeq) => {
      try {
        return await db.transaction(async (tx) => {
          // Held until commit/rollback: the head read below and the writes after it are one step.
          await tx.execute(sql`select pg_advisory_xact_lock(${SEAL_LOCK_KEY}::bigint)`);
          const [head] = await tx.select({ value: max(e.chainSeq) }).from(e);
          if ((head?.value ?? 0) !== expectedHeadChainSeq) throw new SealAborted();
          for (let i = 0; i < updates.length; i += SEAL_CHUNK) {
            const chunk = updates.slice(i, i + SEAL_CHUNK);
            const result = await tx.execute(sealStatement(chunk));
            if (result.count !== chunk.length) throw new SealAborted();
          }
          await tx.insert(auditCheckpoints).values(checkpoint);
          return true;
        });
      } catch (err) {
        if (err instanceof SealAborted) return false;
        throw err;
      }
    },

    listCheckpoints: () => db.select(checkpointColumns).from(auditCheckpoints).orderBy(auditCheckpoints.seq),

    lastCheckpoint: async () => {
      const [row] = await db
        .select(checkpointColumns)
        .from(auditCheckpoints)
        .orderBy(desc(auditCheckpoints.seq))
        .limit(1);
      return row ?? null;
    },

    checkpointCovering: async (chainSeq) => {
      const [row] = await db
        .select(checkpointColumns)
        .from(auditCheckpoints)
        .where(gte(auditCheckpoints.lastChainSeq, chainSeq))
        .orderBy(auditCheckpoints.lastChainSeq, auditCheckpoints.seq)
        .limit(1);
      return row ?? null;
    },

    chainAfter: (afterChainSeq, limit) =>
      db.select().from(e).where(gt(e.chainSeq, afterChainSeq)).orderBy(e.chainSeq).limit(checkLimit(limit)),

    countEvents: async () => {
      const [row] = await db.select({ total: count(), sealed: count(e.chainSeq) }).from(e);
      return { total: row?.total ?? 0, sealed: row?.sealed ?? 0 };
    },

    unsealedSummary: async () => {
      const [row] = await db
        .select({ n: count(), oldest: min(e.createdAt) })
        .from(e)
        .where(isNull(e.chainSeq));
      return {
        count: row?.n ?? 0,
        oldestCreatedAt: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
      };
    },
  };
}
