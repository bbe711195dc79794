/**
 * Keyset pagination, shared by both adapters (docs/api.md "Pagination"). A listing names its
 * key columns once; the page condition is a row-value comparison `(k1, k2) > (v1, v2)`, which
 * SQLite and PostgreSQL both evaluate lexicographically, and the ORDER BY uses the very same
 * expressions, so the condition and the order can never disagree. Text columns compare in byte
 * order on PostgreSQL (collate "C"), as SQLite compares them: a locale collation would differ by
 * server and could skip or repeat rows across pages.
 */
import { type AnyColumn, type SQL, sql } from "drizzle-orm";
import { checkLimit } from "./adapter-common.js";
import type { CreatedKey, Dialect, NameKey, Page } from "./types.js";

export interface KeyColumn {
  column: AnyColumn;
  text?: boolean;
}

export type Direction = "asc" | "desc";

export interface Keyset {
  /** ORDER BY terms: every key column, in `dir`. */
  order(dir: Direction): SQL[];
  /** The rows strictly after `values` in `dir` order; undefined (no condition) without values. */
  after(values: readonly (string | number)[] | undefined, dir: Direction): SQL | undefined;
}

export function keyset(dialect: Dialect, columns: readonly KeyColumn[]): Keyset {
  const expr = (c: KeyColumn): SQL =>
    dialect === "postgres" && c.text ? sql`${c.column} collate "C"` : sql`${c.column}`;
  return {
    order: (dir) => columns.map((c) => (dir === "asc" ? sql`${expr(c)} asc` : sql`${expr(c)} desc`)),
    after: (values, dir) => {
      if (values === undefined) return undefined;
      if (values.length !== columns.length) throw new Error("keyset: one value per key column");
      const left = sql.join(columns.map(expr), sql`, `);
      const right = sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      );
      return dir === "asc" ? sql`(${left}) > (${right})` : sql`(${left}) < (${right})`;
    },
  };
}

/** A query's LIMIT when it is paged (one more than a page, chosen by the caller), else none. */
export function limited<Q extends { limit(n: number): Q }>(query: Q, page: Page<unknown> | undefined): Q {
  return page === undefined ? query : query.limit(checkLimit(page.limit));
}

/** The (tenant_id, name) key of a listing ordered by name (secrets: the key column). */
export function byName(dialect: Dialect, tenantId: AnyColumn, name: AnyColumn): Keyset {
  return keyset(dialect, [
    { column: tenantId, text: true },
    { column: name, text: true },
  ]);
}

/** The (created_at, id) key of a listing ordered by creation. */
export function byCreation(dialect: Dialect, createdAt: AnyColumn, id: AnyColumn): Keyset {
  return keyset(dialect, [{ column: createdAt }, { column: id, text: true }]);
}

export const nameValues = (k: NameKey | undefined) => (k === undefined ? undefined : [k.tenantId, k.name]);
export const createdValues = (k: CreatedKey | undefined) =>
  k === undefined ? undefined : [k.createdAt, k.id];
