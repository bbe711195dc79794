import { z } from "zod";
import { GatewayError } from "../errors.js";
import type { CreatedKey, NameKey } from "../store/types.js";
import { TenantId } from "./context.js";

/**
 * Pagination, one way for every listing (docs/api.md "Pagination"). A listing takes `limit` and
 * an opaque `cursor` and answers `next_cursor` (null on the last page). The cursor is the key of
 * the page's last row, and the store reads the rows strictly after it (keyset, never an offset),
 * so rows written while a caller pages neither repeat nor hide rows that already existed. The
 * cursor only positions a query that stays filtered by the caller's tenant: editing one can move
 * within what the caller may read, never beyond it.
 */

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** A cursor holds one short key; anything longer is refused before it is decoded. */
const MAX_CURSOR_CHARS = 1024;

/** The `limit` and `cursor` fields of every listing's strict query schema (spread in). */
export const PageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .describe(`Rows per page: 1 to ${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}.`),
  cursor: z
    .string()
    .optional()
    .describe("The `next_cursor` of the previous page (opaque); absent for the first page."),
};

/** A listing's cursor: its kind (so one listing's cursor is refused by another) and key shape. */
export interface Cursor<K> {
  encode(key: K): string;
  /** The key a cursor holds; undefined without one; 400 `bad_cursor` for anything not minted here. */
  decode(cursor: string | undefined): K | undefined;
}

function badCursor(): GatewayError {
  return new GatewayError("BAD_REQUEST", "invalid cursor", { reason: "bad_cursor" });
}

/** Wire form: base64url of `<kind>:<JSON>` (events: `seq:<n>`, as it always was). */
export function cursorOf<K, W>(kind: string, wire: z.ZodType<W>, toWire: (k: K) => W, fromWire: (w: W) => K) {
  return {
    encode: (key: K) => Buffer.from(`${kind}:${JSON.stringify(toWire(key))}`, "utf8").toString("base64url"),
    decode: (cursor: string | undefined): K | undefined => {
      if (cursor === undefined) return undefined;
      if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
      const text = Buffer.from(cursor, "base64url").toString("utf8");
      // Canonical only: stray bits, padding tricks or invalid UTF-8 do not re-encode to the same text.
      if (Buffer.from(text, "utf8").toString("base64url") !== cursor) throw badCursor();
      const prefix = `${kind}:`;
      if (!text.startsWith(prefix)) throw badCursor();
      let json: unknown;
      try {
        json = JSON.parse(text.slice(prefix.length));
      } catch {
        throw badCursor();
      }
      const parsed = wire.safeParse(json);
      if (!parsed.success) throw badCursor();
      return fromWire(parsed.data);
    },
  } satisfies Cursor<K>;
}

const Id = z.string().min(1).max(256);

/** A cursor over (created_at, id): sessions, agent keys, approvals. */
export function createdCursor(kind: string): Cursor<CreatedKey> {
  return cursorOf(
    kind,
    z.tuple([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), Id]),
    (k: CreatedKey) => [k.createdAt, k.id] as [number, string],
    ([createdAt, id]) => ({ createdAt, id }),
  );
}

/** A cursor over (tenant_id, name): contexts, specs, workflows, CLI tools, secrets. */
export function nameCursor(kind: string): Cursor<NameKey> {
  return cursorOf(
    kind,
    z.tuple([z.string().min(1).max(64), z.string().min(1).max(512)]),
    (k: NameKey) => [k.tenantId, k.name] as [string, string],
    ([tenantId, name]) => ({ tenantId, name }),
  );
}

/**
 * One page from the store's `limit + 1` rows: the extra row is never shown, it only says that
 * another page follows, so the last page answers `next_cursor: null` without a further read.
 */
export function pageOf<R, K>(rows: readonly R[], limit: number, cursor: Cursor<K>, keyOf: (row: R) => K) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page,
    next_cursor: rows.length > limit && last !== undefined ? cursor.encode(keyOf(last)) : null,
  };
}

/** The store's page for a decoded cursor: one row more than asked, to know if more follow. */
export function storePage<K>(limit: number, after: K | undefined): { after?: K; limit: number } {
  return after === undefined ? { limit: limit + 1 } : { after, limit: limit + 1 };
}

/** `{tenant_id?, limit?, cursor?}`: a listing with no filter of its own. */
export const ListingQuery = z.strictObject({ tenant_id: TenantId.optional(), ...PageQuery });
export type ListingQuery = z.infer<typeof ListingQuery>;
