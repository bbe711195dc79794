import { sign as cryptoSign, verify as cryptoVerify, hash, type KeyObject } from "node:crypto";
import type { CheckpointRow, EventRow } from "../store/types.js";

/**
 * The hash chain over gateway_events. A row's hash covers every stored column and the
 * previous row's hash, so a changed, removed, inserted or reordered row breaks the chain
 * from that point on; signed checkpoints pin the head so a cut-off tail is detected too.
 */

export const GENESIS_HASH = "0".repeat(64);

export function rowHash(row: EventRow, chainSeq: number, prevHash: string): string {
  // A JSON array in a fixed column order: unambiguous, and independent of key ordering.
  const content = JSON.stringify([
    "seal-gateway/event/v1",
    chainSeq,
    row.seq,
    row.id,
    row.createdAt,
    row.eventType,
    row.tenantId,
    row.executionId,
    row.callId,
    row.agentId,
    row.toolName,
    row.decision,
    row.stage,
    row.code,
    row.requestId,
    row.payload,
  ]);
  return hash("sha256", `${prevHash}\n${content}`, "hex");
}

/**
 * The bytes a checkpoint's signature covers. v2 adds the batch it sealed (its first position)
 * and the batch's Merkle root, so a single row is provable from its own content (evidence
 * packs); v1 checkpoints, written before, still verify as they were signed.
 */
export function checkpointStatement(
  cp: Pick<
    CheckpointRow,
    "lastChainSeq" | "rowCount" | "headHash" | "createdAt" | "kid" | "firstChainSeq" | "batchRoot"
  >,
): Buffer {
  const v1 = [cp.lastChainSeq, cp.rowCount, cp.headHash, cp.createdAt, cp.kid];
  const lines =
    cp.batchRoot === null && cp.firstChainSeq === null
      ? ["seal-gateway/checkpoint/v1", ...v1]
      : ["seal-gateway/checkpoint/v2", ...v1, cp.firstChainSeq, cp.batchRoot];
  return Buffer.from(lines.join("\n"), "utf8");
}

export function signCheckpoint(cp: Omit<CheckpointRow, "signature">, key: KeyObject): CheckpointRow {
  return { ...cp, signature: cryptoSign(null, checkpointStatement(cp), key).toString("base64") };
}

export function checkpointSignatureValid(cp: CheckpointRow, key: KeyObject): boolean {
  try {
    return cryptoVerify(null, checkpointStatement(cp), key, Buffer.from(cp.signature, "base64"));
  } catch {
    return false;
  }
}
