import type { GatewayEvent } from "../types";
import { useApi } from "../use-api";

/**
 * The audit chain as far as the public API shows it. There is no chain-state route (head,
 * checkpoints, verification) yet, so this view reads the sealing fields of the newest events
 * and points to `seal-gateway audit verify`, which checks the whole chain and its checkpoints.
 */
export function AuditView() {
  const { data, error } = useApi<{ items: GatewayEvent[] }>("/v1/events?limit=1000");
  const items = data?.items ?? [];
  const sealed = items.filter((e) => e.chain_seq !== null);
  const head = sealed.reduce<GatewayEvent | null>(
    (m, e) => (!m || (e.chain_seq ?? 0) > (m.chain_seq ?? 0) ? e : m),
    null,
  );
  return (
    <section>
      <h2>Audit chain</h2>
      {error && <p class="error">{error}</p>}
      <p class="note">
        The gateway has no API for the chain's state yet. To verify the chain and its signed checkpoints, run{" "}
        <code>npx seal-gateway audit verify</code> (exit 0 intact, 3 intact with an unsealed tail, 1
        tampering).
      </p>
      {data && (
        <dl>
          <dt>newest events read</dt>
          <dd>{String(items.length)}</dd>
          <dt>sealed among them</dt>
          <dd>{String(sealed.length)}</dd>
          <dt>not sealed yet</dt>
          <dd>{String(items.length - sealed.length)}</dd>
          <dt>newest sealed position</dt>
          <dd class="mono">{head ? `${head.chain_seq} — ${head.hash}` : "—"}</dd>
        </dl>
      )}
    </section>
  );
}
