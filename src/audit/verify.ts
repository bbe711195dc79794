import type { KeyObject } from "node:crypto";
import type { CheckpointRow, EventRow, Store } from "../store/types.js";
import { GENESIS_HASH, checkpointSignatureValid, rowHash } from "./chain.js";

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

export async function verifyChain(src: ChainSource | Store, keys: Map<string, KeyObject>): Promise<VerifyReport> {
  const problems: string[] = [];
  const hashes = new Map<number, string>();
  let prev = GENESIS_HASH;
  let expected = 1;
  let sealed = 0;
  for (;;) {
    const rows = await src.chainAfter(expected - 1, 1000);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row.chainSeq !== expected) {
        problems.push(`chain position ${expected} is missing (next row found at ${row.chainSeq}, event ${row.id})`);
        expected = row.chainSeq ?? expected;
      }
      if (row.prevHash !== prev) problems.push(`event ${row.id} (position ${row.chainSeq}) does not link to the row before it`);
      const h = rowHash(row, row.chainSeq ?? 0, row.prevHash ?? "");
      if (h !== row.hash) problems.push(`event ${row.id} (position ${row.chainSeq}) was changed after it was sealed`);
      hashes.set(expected, row.hash ?? "");
      prev = row.hash ?? "";
      expected += 1;
      sealed += 1;
    }
  }
  const lastSealed = expected - 1;
  const checkpoints = await src.listCheckpoints();
  let latest = 0;
  for (const cp of checkpoints) {
    const key = keys.get(cp.kid);
    if (!key || !checkpointSignatureValid(cp, key)) {
      problems.push(`checkpoint ${cp.id} has an invalid signature`);
      continue;
    }
    if (cp.rowCount !== cp.lastChainSeq) problems.push(`checkpoint ${cp.id} is inconsistent`);
    const at = hashes.get(cp.lastChainSeq);
    if (at === undefined) problems.push(`checkpoint ${cp.id} covers ${cp.lastChainSeq} rows but the chain ends at ${lastSealed}: rows were removed`);
    else if (at !== cp.headHash) problems.push(`checkpoint ${cp.id} does not match the chain at position ${cp.lastChainSeq}`);
    latest = Math.max(latest, cp.lastChainSeq);
  }
  // Sealing writes its checkpoint in the same transaction, so sealed rows past the newest
  // checkpoint were not written by the sealer.
  if (lastSealed > latest) problems.push(`rows ${latest + 1}..${lastSealed} are chained but no signed checkpoint covers them`);
  const counts = await src.countEvents();
  const unsealed = counts.total - counts.sealed;
  if (counts.sealed !== sealed) problems.push(`${counts.sealed - sealed} sealed rows are outside the chain`);
  const status = problems.length > 0 ? "tampered" : unsealed > 0 ? "unsealed_tail" : "intact";
  return { status, sealedRows: sealed, unsealedRows: unsealed, checkpoints: checkpoints.length, problems };
}
