/**
 * Reads and writes only tests need, built on the Store's public methods so that no test-only
 * method sits on the production interface.
 */
import type {
  AuditStore,
  AuthorizationStore,
  CheckpointRow,
  EventRow,
  SecurityContextRow,
} from "../../src/store/types.js";

/** Upsert of a security context that keeps the first createdAt (insert, else update). */
export async function putSecurityContext(
  store: Pick<AuthorizationStore, "insertSecurityContext" | "updateSecurityContext">,
  row: SecurityContextRow,
): Promise<void> {
  if (await store.insertSecurityContext(row)) return;
  if (!(await store.updateSecurityContext(row.tenantId, row.name, row.document, row.updatedAt)))
    throw new Error("security context vanished between insert and update");
}

const PAGE = 1000;

/** Every event (all tenants) with seq > afterSeq, in seq order, at most `limit`. */
export async function eventsAfter(
  store: Pick<AuditStore, "listEvents">,
  afterSeq: number,
  limit: number,
): Promise<EventRow[]> {
  const out: EventRow[] = [];
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await store.listEvents({ tenantId: "*", limit: PAGE, ...(beforeSeq ? { beforeSeq } : {}) });
    for (const row of page) if (row.seq > afterSeq) out.push(row);
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined || last.seq <= afterSeq) break;
    beforeSeq = last.seq;
  }
  return out.reverse().slice(0, limit);
}

/** The newest checkpoint, or null: `lastCheckpoint`, which must agree with the full list. */
export async function latestCheckpoint(
  store: Pick<AuditStore, "listCheckpoints" | "lastCheckpoint">,
): Promise<CheckpointRow | null> {
  const last = await store.lastCheckpoint();
  const all = await store.listCheckpoints();
  if (JSON.stringify(last) !== JSON.stringify(all.at(-1) ?? null))
    throw new Error("lastCheckpoint disagrees with the newest of listCheckpoints");
  return last;
}
