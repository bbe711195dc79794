/**
 * Pieces both store adapters share: the error they throw and the decoding of stored rows.
 *
 * Why a wrapper error: drizzle's own query error puts every bound parameter into its message
 * (`params: …`), and postgres.js errors carry them as properties (`parameters`, and `detail`
 * echoes key values). A StoreError therefore keeps no reference to the driver's error object:
 * only the operation, the driver code and a message known not to hold values.
 */
import { DrizzleQueryError } from "drizzle-orm";
import type { ApiSpecMeta, ApiSpecRow, SessionRow } from "./types.js";

export class StoreError extends Error {
  /** Store method that failed, e.g. "insertSession". */
  readonly operation: string;
  /** Driver code: a PostgreSQL SQLSTATE, a SQLITE_* code or a socket errno. */
  readonly driverCode: string | undefined;
  /**
   * True when the row clashes with what the store already holds, so the caller may answer 409
   * instead of 503: a unique/primary-key violation, or a foreign-key one (deleting a spec that
   * workflows still use, or naming a spec that is gone).
   */
  readonly conflict: boolean;

  constructor(
    operation: string,
    driverCode: string | undefined,
    detail: string,
    conflict: boolean = isConflictCode(driverCode),
  ) {
    super(`store ${operation} failed${driverCode ? ` (${driverCode})` : ""}${detail ? `: ${detail}` : ""}`);
    this.name = "StoreError";
    this.operation = operation;
    this.driverCode = driverCode;
    this.conflict = conflict;
  }
}

/**
 * Classified by the driver's code alone, never by its message. Of the integrity-constraint
 * violations (PostgreSQL SQLSTATE class 23, SQLite SQLITE_CONSTRAINT_*), those that mean "the
 * row clashes with what the store already holds" are conflicts: unique, primary-key, foreign-key
 * and exclusion violations. NOT NULL and CHECK violations are caller bugs the schema caught, and
 * SQLITE_CONSTRAINT_TRIGGER is what a RAISE() in a trigger reports (the schema's foreign key is
 * NO ACTION rather than RESTRICT so that SQLite reports it as …_FOREIGNKEY, not as a trigger).
 */
const CONFLICT_CODES = new Set([
  "23505", // unique_violation
  "23503", // foreign_key_violation
  "23P01", // exclusion_violation
  "SQLITE_CONSTRAINT_PRIMARYKEY",
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_FOREIGNKEY",
]);

function isConflictCode(driverCode: string | undefined): boolean {
  return driverCode !== undefined && CONFLICT_CODES.has(driverCode);
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined;
}

/** The driver's error underneath drizzle's wrapper (which exposes it as `cause`). */
function driverError(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 4; depth++) {
    if (typeof field(current, "code") === "string") return current;
    const next = field(current, "cause");
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

/** A caller passed an impossible argument: a programming error, not a store failure. */
export class StoreUsageError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "StoreUsageError";
  }
}

/** Re-throws `err` as a StoreError whose message holds no bound value. */
export function storeFailure(operation: string, err: unknown): Error {
  if (err instanceof StoreError || err instanceof StoreUsageError) return err;
  const cause = driverError(err);
  const code = field(cause, "code");
  const driverCode = typeof code === "string" ? code : undefined;
  const message = field(cause, "message");
  // SQLite messages name tables, columns and constraints only. PostgreSQL's do too, except data
  // exceptions (class 22: "invalid input syntax for type bigint: \"…\"") which quote the value.
  // drizzle's wrapper (reached only when it has no cause) lists every parameter.
  const safe =
    typeof message === "string" && !(cause instanceof DrizzleQueryError) && !driverCode?.startsWith("22");
  const detail = safe ? message : "";
  return new StoreError(operation, driverCode, detail);
}

/**
 * An audited change took effect unless it answered false or null (a name already taken, a row
 * already gone, an approval no longer pending): then nothing changed and no event is written.
 */
export function changeTookEffect(result: unknown): boolean {
  return result !== false && result !== null;
}

/** A stored string array, checked on the way out so a corrupted row cannot widen a session. */
export function decodeStringArray(text: string, column: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`stored ${column} is not valid JSON`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new Error(`stored ${column} is not an array of strings`);
  }
  return parsed;
}

type StoredSession = Omit<SessionRow, "allowedToolPatterns"> & { allowedToolPatterns: string };

export function toSessionRow(row: StoredSession): SessionRow {
  return { ...row, allowedToolPatterns: decodeStringArray(row.allowedToolPatterns, "allowed_tool_patterns") };
}

export function fromSessionRow(row: SessionRow): StoredSession {
  return { ...row, allowedToolPatterns: JSON.stringify(row.allowedToolPatterns) };
}

type StoredSpec = Omit<ApiSpecRow, "allowedHosts"> & { allowedHosts: string };

/** Checked on the way out: a corrupted allowed_hosts must fail, never widen the egress guard. */
export function toSpecRow(row: StoredSpec): ApiSpecRow {
  return { ...row, allowedHosts: decodeStringArray(row.allowedHosts, "allowed_hosts") };
}

export function toSpecMeta(row: Omit<StoredSpec, "document">): ApiSpecMeta {
  return { ...row, allowedHosts: decodeStringArray(row.allowedHosts, "allowed_hosts") };
}

export function fromSpecRow(row: ApiSpecRow): StoredSpec {
  return { ...row, allowedHosts: JSON.stringify(row.allowedHosts) };
}

/**
 * Advisory-lock keys (PostgreSQL): one for sealing the audit chain, one for migrations, one for
 * re-sealing stored secrets under a new master key.
 */
export const SEAL_LOCK_KEY = 0x5ea1_0001;
export const MIGRATE_LOCK_KEY = 0x5ea1_0002;
export const RESEAL_LOCK_KEY = 0x5ea1_0003;

/** Row limits come from callers that already validated them; a bad one is a programming error. */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new StoreUsageError("limit must be a non-negative integer");
  return limit;
}

/**
 * Deciding moves an approval out of "pending" to approved or denied only: a caller bug passing
 * "used" (or "expired") must not skip the approver or burn the approval.
 */
export function checkDecision(status: string): "approved" | "denied" {
  if (status !== "approved" && status !== "denied")
    throw new StoreUsageError("an approval decision must be approved or denied");
  return status;
}

export type StoreLog = (msg: string, fields?: Record<string, unknown>) => void;
