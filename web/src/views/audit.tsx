import type { ChainState } from "../types";
import { useApi } from "../use-api";

/**
 * The audit chain's state (`GET /v1/audit/chain`): how far it is sealed, the unsealed tail and
 * the newest signed checkpoint. Verifying the chain itself is `seal-gateway audit verify`.
 */
export function AuditView() {
  const { data, error } = useApi<ChainState>("/v1/audit/chain");
  const checkpoint = data?.last_checkpoint ?? null;
  return (
    <section>
      <h2>Audit chain</h2>
      {error && <p class="error">{error}</p>}
      {data && (
        <dl data-testid="chain-state">
          <dt>sealed through position</dt>
          <dd class="mono">{String(data.sealed_through)}</dd>
          <dt>head hash</dt>
          <dd class="mono">{data.head_hash ?? "—"}</dd>
          <dt>unsealed rows</dt>
          <dd>{String(data.unsealed.rows)}</dd>
          <dt>oldest unsealed row</dt>
          <dd>{data.unsealed.oldest_created_at ?? "—"}</dd>
          <dt>last checkpoint</dt>
          <dd class="mono">
            {checkpoint
              ? `${checkpoint.id} at ${checkpoint.created_at}: through ${checkpoint.last_chain_seq} (${checkpoint.row_count} rows), key ${checkpoint.kid}`
              : "none yet"}
          </dd>
        </dl>
      )}
      <p class="note">
        The chain is one for the whole gateway, so these figures cover every tenant. To verify the chain and
        its signed checkpoints, run <code>npx seal-gateway audit verify</code> (exit 0 intact, 3 intact with
        an unsealed tail, 1 tampering).
      </p>
    </section>
  );
}
