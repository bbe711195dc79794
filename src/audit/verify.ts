import type { KeyObject } from "node:crypto";
import type { AuditStore, CheckpointRow, EventRow } from "../store/types.js";
import { checkpointSignatureValid, GENESIS_HASH, rowHash } from "./chain.js";
import { batchRoot } from "./merkle.js";

/**
 * Verifies the audit chain. Outcomes (DESIGN §7 exit codes): intact (0), tampered or
 * truncated (1), intact with an unsealed tail (3) — rows written but not yet chained, which a
 * crash leaves behind and which is reported separately from tampering.
 */

export interface VerifyReport {
  status: "intact" | "tampered" | "unsealed_tail";
  sealedRows: number;
  unsealedRows: number;
  checkpoints: number;
  problems: string[];
}

export function exitCodeFor(report: VerifyReport): 0 | 1 | 3 {
  if (report.status === "tampered") return 1;
  return report.status === "unsealed_tail" ? 3 : 0;
}

export interface ChainSource {
  chainAfter(afterChainSeq: number, limit: number): Promise<EventRow[]>;
  listCheckpoints(): Promise<CheckpointRow[]>;
  countEvents(): Promise<{ total: number; sealed: number }>;
}

/** Walks the chain in order, checking each row's link and hash; resumable at the end. */
class ChainWalk {
  readonly problems: string[] = [];
  readonly hashes = new Map<number, string>();
  prev = GENESIS_HASH;
  expected = 1;
  sealed = 0;

  /** Reads and checks every sealed row past the last one seen; returns how many it read. */
  async readFrom(src: ChainSource): Promise<number> {
    let read = 0;
    for (;;) {
      const rows = await src.chainAfter(this.expected - 1, 1000);
      if (rows.length === 0) return read;
      for (const row of rows) this.check(row);
      read += rows.length;
    }
  }

  private check(row: EventRow): void {
    if (row.chainSeq !== this.expected) {
      this.problems.push(
        `chain position ${this.expected} is missing (next row found at ${row.chainSeq}, event ${row.id})`,
      );
      this.expected = row.chainSeq ?? this.expected;
    }
    if (row.prevHash !== this.prev)
      this.problems.push(`event ${row.id} (position ${row.chainSeq}) does not link to the row before it`);
    const h = rowHash(row, row.chainSeq ?? 0, row.prevHash ?? "");
    if (h !== row.hash)
      this.problems.push(`event ${row.id} (position ${row.chainSeq}) was changed after it was sealed`);
    this.hashes.set(this.expected, row.hash ?? "");
    this.prev = row.hash ?? "";
    this.expected += 1;
    this.sealed += 1;
  }
}

function checkCheckpoints(
  walk: ChainWalk,
  checkpoints: CheckpointRow[],
  keys: Map<string, KeyObject>,
): string[] {
  const problems: string[] = [];
  const lastSealed = walk.expected - 1;
  let latest = 0;
  for (const cp of checkpoints) {
    const key = keys.get(cp.kid);
    if (!key || !checkpointSignatureValid(cp, key)) {
      problems.push(`checkpoint ${cp.id} has an invalid signature`);
      continue;
    }
    if (cp.rowCount !== cp.lastChainSeq) problems.push(`checkpoint ${cp.id} is inconsistent`);
    const at = walk.hashes.get(cp.lastChainSeq);
    if (at === undefined)
      problems.push(
        `checkpoint ${cp.id} covers ${cp.lastChainSeq} rows but the chain ends at ${lastSealed}: rows were removed`,
      );
    else if (at !== cp.headHash)
      problems.push(`checkpoint ${cp.id} does not match the chain at position ${cp.lastChainSeq}`);
    else if (cp.batchRoot !== null || cp.firstChainSeq !== null) {
      const problem = batchProblem(walk, cp);
      if (problem) problems.push(problem);
    }
    latest = Math.max(latest, cp.lastChainSeq);
  }
  // Sealing writes its checkpoint in the same transaction, so sealed rows past the newest
  // checkpoint were not written by the sealer.
  if (lastSealed > latest)
    problems.push(`rows ${latest + 1}..${lastSealed} are chained but no signed checkpoint covers them`);
  return problems;
}

/** A v2 checkpoint's batch: positions first..last of the chain, whose row hashes give its root. */
function batchProblem(walk: ChainWalk, cp: CheckpointRow): string | null {
  const first = cp.firstChainSeq;
  if (
    first === null ||
    cp.batchRoot === null ||
    !Number.isSafeInteger(first) ||
    first < 1 ||
    first > cp.lastChainSeq
  )
    return `checkpoint ${cp.id} names no valid batch`;
  const hashes: string[] = [];
  for (let p = first; p <= cp.lastChainSeq; p++) hashes.push(walk.hashes.get(p) ?? "");
  return batchRoot(hashes) === cp.batchRoot
    ? null
    : `checkpoint ${cp.id} does not match the rows ${first}..${cp.lastChainSeq} it sealed`;
}

/** Re-reads taken while a live gateway seals; it seals about once a second, so this settles. */
const MAX_ROUNDS = 50;

export async function verifyChain(
  src: ChainSource | AuditStore,
  keys: Map<string, KeyObject>,
): Promise<VerifyReport> {
  const walk = new ChainWalk();
  await walk.readFrom(src);
  let checkpoints: CheckpointRow[] = [];
  let counts = { total: 0, sealed: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    checkpoints = await src.listCheckpoints();
    counts = await src.countEvents();
    // A sealer that committed between the reads above (rows and checkpoint in one transaction)
    // would look like removed rows; take its rows and read again, so verifying a running
    // gateway never reports tampering that did not happen.
    if ((await walk.readFrom(src)) === 0) break;
  }
  const problems = [...walk.problems, ...checkCheckpoints(walk, checkpoints, keys)];
  const unsealed = counts.total - counts.sealed;
  if (counts.sealed !== walk.sealed)
    problems.push(`${counts.sealed - walk.sealed} sealed rows are outside the chain`);
  const status = problems.length > 0 ? "tampered" : unsealed > 0 ? "unsealed_tail" : "intact";
  return {
    status,
    sealedRows: walk.sealed,
    unsealedRows: unsealed,
    checkpoints: checkpoints.length,
    problems,
  };
}
