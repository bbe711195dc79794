import { DrizzleQueryError } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  checkLimit,
  decodeStringArray,
  StoreError,
  StoreUsageError,
  storeFailure,
} from "../../src/store/adapter-common.js";

const SECRET = "sk_live_DO_NOT_LEAK";

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), {
    code,
    detail: `Key (key)=(${SECRET}) already exists.`,
    parameters: [SECRET],
    constraint_name: "replay_records_pkey",
  });
}

describe("storeFailure", () => {
  it("unwraps drizzle's error, keeps the code and drops every bound value", () => {
    const wrapped = new DrizzleQueryError(
      "insert into t values ($1)",
      [SECRET],
      pgError("23505", "duplicate key"),
    );
    expect(wrapped.message).toContain(SECRET); // the reason this wrapper exists
    const err = storeFailure("recordReplay", wrapped);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ operation: "recordReplay", driverCode: "23505", conflict: true });
    expect(err.message).toBe("store recordReplay failed (23505): duplicate key");
    expect(JSON.stringify(err)).not.toContain(SECRET);
    expect(err.cause).toBeUndefined();
  });

  it("says nothing more when drizzle's error has no driver cause", () => {
    const err = storeFailure("appendEvent", new DrizzleQueryError("insert …", [SECRET], undefined));
    expect(err.message).toBe("store appendEvent failed");
  });

  it("omits PostgreSQL data-exception messages, which quote the offending value", () => {
    const err = storeFailure(
      "listEvents",
      pgError("22P02", `invalid input syntax for type bigint: "${SECRET}"`),
    );
    expect(err.message).toBe("store listEvents failed (22P02)");
  });

  it("keeps SQLite's message (names only) and flags unique violations as conflicts", () => {
    const sqlite = Object.assign(new Error("UNIQUE constraint failed: sessions.execution_id"), {
      code: "SQLITE_CONSTRAINT_PRIMARYKEY",
    });
    const err = storeFailure("insertSession", sqlite);
    expect(err).toMatchObject({ conflict: true, driverCode: "SQLITE_CONSTRAINT_PRIMARYKEY" });
    expect(err.message).toContain("sessions.execution_id");
    const busy = storeFailure(
      "appendEvent",
      Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }),
    );
    expect(busy).toMatchObject({ conflict: false, driverCode: "SQLITE_BUSY" });
  });

  it("flags foreign-key violations as conflicts, by driver code only", () => {
    const pg = storeFailure(
      "deleteSpec",
      pgError("23503", 'update or delete on table "api_specs" violates foreign key constraint'),
    );
    expect(pg).toMatchObject({ conflict: true, driverCode: "23503" });
    expect(JSON.stringify(pg)).not.toContain(SECRET);
    const sqlite = (code: string, message: string) =>
      storeFailure("deleteSpec", Object.assign(new Error(message), { code }));
    expect(sqlite("SQLITE_CONSTRAINT_FOREIGNKEY", "FOREIGN KEY constraint failed")).toMatchObject({
      conflict: true,
    });
    // Classified by code, never by message: a trigger's RAISE() is no conflict whatever it says
    // (the schema's foreign key is NO ACTION, which SQLite reports as …_FOREIGNKEY; the contract
    // suite checks that on a real database).
    expect(sqlite("SQLITE_CONSTRAINT_TRIGGER", "FOREIGN KEY constraint failed")).toMatchObject({
      conflict: false,
      driverCode: "SQLITE_CONSTRAINT_TRIGGER",
    });
    expect(sqlite("SQLITE_CONSTRAINT_TRIGGER", "custom abort")).toMatchObject({ conflict: false });
    expect(sqlite("SQLITE_CONSTRAINT_UNIQUE", "custom text")).toMatchObject({ conflict: true });
    expect(sqlite("SQLITE_CONSTRAINT_CHECK", "CHECK constraint failed: x")).toMatchObject({
      conflict: false,
    });
    expect(new StoreError("x", "SQLITE_CONSTRAINT_TRIGGER", "").conflict).toBe(false);
    expect(new StoreError("x", "23503", "").conflict).toBe(true);
    expect(new StoreError("x", undefined, "").conflict).toBe(false);
  });

  it("passes usage errors and existing StoreErrors through unchanged", () => {
    const usage = new StoreUsageError("limit must be a non-negative integer");
    expect(storeFailure("x", usage)).toBe(usage);
    const store = new StoreError("y", undefined, "");
    expect(storeFailure("x", store)).toBe(store);
  });

  it("copes with thrown non-errors", () => {
    expect(storeFailure("ping", "boom").message).toBe("store ping failed");
    expect(storeFailure("ping", null).message).toBe("store ping failed");
  });
});

describe("checkLimit", () => {
  it("accepts non-negative integers and refuses anything else", () => {
    expect(checkLimit(0)).toBe(0);
    expect(checkLimit(500)).toBe(500);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => checkLimit(bad)).toThrow(StoreUsageError);
    }
  });
});

describe("decodeStringArray", () => {
  it("decodes a stored string array", () => {
    expect(decodeStringArray('["a","ツ"]', "c")).toEqual(["a", "ツ"]);
    expect(decodeStringArray("[]", "c")).toEqual([]);
  });

  it.each(["", "not json", "{}", '"a"', "[1]", '["a",null]', "null", '[["a"]]'])(
    "refuses a corrupted value %j",
    (text) => {
      expect(() => decodeStringArray(text, "allowed_tool_patterns")).toThrow(/allowed_tool_patterns/);
    },
  );
});
