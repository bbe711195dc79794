import type { KeyObject } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import type { AuditStore, SealedUpdate } from "../store/types.js";
import { GENESIS_HASH, rowHash, signCheckpoint } from "./chain.js";
import { batchRoot } from "./merkle.js";

/** Rows per batch, one signed checkpoint each (the gateway sets it per dialect: src/app.ts). */
const DEFAULT_BATCH = 200;
/**
 * Rows hashed per event-loop turn. A batch is read, hashed, signed and written in slices with a
 * turn between them, so a call that arrives while the sealer works waits for one slice, not for
 * the whole batch (docs/performance.md, "Issue 14, fourth pass": one unsliced batch of 200 rows
 * held the loop 2.5–8 ms and was most of the added p99 at 100–200 calls/s).
 */
const HASH_SLICE = 50;

export interface SealerOptions {
  store: Pick<AuditStore, "chainHead" | "unsealedEvents" | "sealBatch">;
  signingKey: () => { kid: string; privateKey: KeyObject };
  log: Logger;
  settleMs: number;
  batchSize?: number;
  now?: () => number;
}

/**
 * Chains committed rows off the hot path. Calls insert unsealed rows (one INSERT, no chain
 * lookups), so instances never serialize on the chain head. The sealer takes rows in sequence
 * order once they are older than `settleMs` — the window in which a concurrent transaction
 * holding an earlier sequence number could still commit — and seals them with a signed
 * checkpoint in one transaction under a database-wide lock. A row that commits later than the
 * window is not lost: it is chained in a later batch (chain order, not seq order, is what the
 * chain proves).
 */
export class Sealer {
  private running: Promise<number> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SealerOptions) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.sealNow().catch((err: unknown) =>
        this.opts.log.warn("audit sealing failed; will retry", { error: err }),
      );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /** Seals everything that has settled (or everything, with `all`). Returns rows sealed. */
  async sealNow(all = false): Promise<number> {
    while (this.running) await this.running.catch(() => 0);
    this.running = this.sealLoop(all);
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private async sealLoop(all: boolean): Promise<number> {
    let total = 0;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const n = await this.sealOnce(all);
      if (n < 0) continue; // lost a race with another instance: re-read the head
      total += n;
      if (n < (this.opts.batchSize ?? DEFAULT_BATCH)) return total;
      // Let calls run between batches: sealing shares the event loop with the hot path.
      await nextTurn();
    }
    return total;
  }

  private async sealOnce(all: boolean): Promise<number> {
    const { store } = this.opts;
    const batch = this.opts.batchSize ?? DEFAULT_BATCH;
    const now = (this.opts.now ?? Date.now)();
    const candidates = await store.unsealedEvents(batch);
    const cutoff = all ? Number.POSITIVE_INFINITY : now - this.opts.settleMs;
    const rows = [];
    for (const row of candidates) {
      if (row.createdAt > cutoff) break;
      rows.push(row);
    }
    if (rows.length === 0) return 0;
    // Read after the rows: had another sealer chained them in between, `sealBatch` finds them
    // sealed (or the head moved) and refuses the batch, and the loop reads again.
    const head = await store.chainHead();
    let prev = head?.hash ?? GENESIS_HASH;
    let chainSeq = head?.chainSeq ?? 0;
    const updates: SealedUpdate[] = [];
    for (const row of rows) {
      if (updates.length % HASH_SLICE === 0) await nextTurn();
      chainSeq += 1;
      const hash = rowHash(row, chainSeq, prev);
      updates.push({ seq: row.seq, chainSeq, prevHash: prev, hash });
      prev = hash;
    }
    const key = this.opts.signingKey();
    const checkpoint = signCheckpoint(
      {
        id: newId("ckp"),
        createdAt: now,
        lastChainSeq: chainSeq,
        rowCount: chainSeq,
        headHash: prev,
        kid: key.kid,
        firstChainSeq: (head?.chainSeq ?? 0) + 1,
        batchRoot: batchRoot(updates.map((u) => u.hash)),
      },
      key.privateKey,
    );
    await nextTurn();
    const ok = await store.sealBatch(updates, checkpoint, head?.chainSeq ?? 0);
    if (!ok) return -1;
    // The log line anchors the head outside the database: a rewrite of both rows and
    // checkpoints still disagrees with what was logged.
    this.opts.log.info("audit checkpoint", {
      last_chain_seq: chainSeq,
      head_hash: prev,
      checkpoint_id: checkpoint.id,
    });
    return rows.length;
  }
}
