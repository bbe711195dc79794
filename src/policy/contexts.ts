import type { AuthorizationStore } from "../store/types.js";
import { parseSecurityContext, type SecurityContext } from "./context-schema.js";

/**
 * Reads a security context for a call. The row is read on every call (an update on another
 * instance applies to the next call); parsing is cached per document text, so an unchanged
 * context costs one indexed read.
 */
export class ContextCache {
  private readonly parsed = new Map<string, { text: string; ctx: SecurityContext }>();

  constructor(
    private readonly store: Pick<AuthorizationStore, "getSecurityContext">,
    private readonly maxEntries = 10_000,
  ) {}

  async load(tenantId: string, name: string): Promise<SecurityContext | null> {
    const row = await this.store.getSecurityContext(tenantId, name);
    if (!row) return null;
    const key = `${tenantId}\u0000${name}`;
    const hit = this.parsed.get(key);
    if (hit && hit.text === row.document) return hit.ctx;
    const parsed = parseSecurityContext(JSON.parse(row.document));
    // Stored documents were validated on write; one that no longer parses (a stricter
    // schema after an upgrade) denies rather than half-applies.
    if (!parsed.ok) return null;
    if (this.parsed.size >= this.maxEntries) this.parsed.clear();
    this.parsed.set(key, { text: row.document, ctx: parsed.context });
    return parsed.context;
  }
}
