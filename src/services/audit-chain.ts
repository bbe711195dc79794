import { z } from "zod";
import { iso, parseInput, requireRole, type VerbCall } from "./context.js";

/**
 * GET /v1/audit/chain: the audit chain's state — how far it is sealed, the unsealed tail, the
 * newest signed checkpoint (DESIGN §6). The chain is one for the instance, across tenants, so
 * like `/metrics` (DESIGN §7: any role reads it) the answer is instance-wide: positions, counts,
 * hashes and a key id. Nothing of any row — no tenant, agent, tool or argument — is in it, so a
 * tenant-scoped viewer reads the same answer as an admin.
 */

export const ChainStateQuery = z.strictObject({});

export async function readChainState({ ctx, input }: VerbCall) {
  requireRole(ctx, "viewer");
  parseInput(ChainStateQuery, input ?? {}, "invalid_query");
  const { store } = ctx.deps;
  // Chain positions run 1..head without gaps, so the head's position is the sealed row count
  // (no count over the whole table).
  const [head, unsealed, checkpoint] = await Promise.all([
    store.chainHead(),
    store.unsealedSummary(),
    store.lastCheckpoint(),
  ]);
  return {
    sealed_through: head?.chainSeq ?? 0,
    head_hash: head?.hash ?? null,
    unsealed: { rows: unsealed.count, oldest_created_at: iso(unsealed.oldestCreatedAt) },
    last_checkpoint: checkpoint
      ? {
          id: checkpoint.id,
          created_at: iso(checkpoint.createdAt),
          last_chain_seq: checkpoint.lastChainSeq,
          row_count: checkpoint.rowCount,
          head_hash: checkpoint.headHash,
          kid: checkpoint.kid,
        }
      : null,
    verify: "seal-gateway audit verify",
  };
}
