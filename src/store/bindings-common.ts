import type { CredentialBindingRow, CredentialGrant } from "./types.js";

/** The grant rows of one binding, positions and ids from their order. */
export function grantRows(bindingId: string, grants: readonly CredentialGrant[]) {
  return grants.map((gr, i) => ({
    id: `${bindingId}.${i}`,
    bindingId,
    position: i,
    toolPattern: gr.toolPattern,
    securityContext: gr.securityContext,
  }));
}

/** Binding rows with their grant rows (ordered by binding, position) attached, in row order. */
export function withGrants(
  rows: readonly Omit<CredentialBindingRow, "grants">[],
  grants: readonly { bindingId: string; toolPattern: string; securityContext: string | null }[],
): CredentialBindingRow[] {
  const byBinding = new Map<string, CredentialBindingRow["grants"]>();
  for (const g of grants) {
    const list = byBinding.get(g.bindingId) ?? [];
    list.push({ toolPattern: g.toolPattern, securityContext: g.securityContext });
    byBinding.set(g.bindingId, list);
  }
  return rows.map((r) => ({ ...r, grants: byBinding.get(r.id) ?? [] }));
}
