import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { createLogger } from "../../src/log/logger.js";
import { StoreError } from "../../src/store/adapter-common.js";
import { guardMethods, guardStore } from "../../src/store/guard.js";

const SECRET = "sk_live_DO_NOT_LEAK";

describe("guardMethods (adapter boundary)", () => {
  it("makes every method async and names its failures after the method, without bound values", async () => {
    const impl = {
      dialect: "sqlite" as const,
      ok: (n: number) => n + 1,
      boom: (_n: number): number => {
        throw Object.assign(new Error("UNIQUE constraint failed: t.k"), {
          code: "SQLITE_CONSTRAINT_UNIQUE",
          parameters: [SECRET],
        });
      },
      later: async () => await Promise.reject(Object.assign(new Error("x"), { code: "SQLITE_BUSY" })),
    };
    const guarded = guardMethods<{
      dialect: "sqlite";
      ok(n: number): Promise<number>;
      boom(n: number): Promise<number>;
      later(): Promise<void>;
    }>(impl);
    expect(guarded.dialect).toBe("sqlite");
    await expect(guarded.ok(1)).resolves.toBe(2);
    const err = await guarded.boom(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ operation: "boom", conflict: true, driverCode: "SQLITE_CONSTRAINT_UNIQUE" });
    expect(JSON.stringify(err)).not.toContain(SECRET);
    await expect(guarded.later()).rejects.toMatchObject({ operation: "later", conflict: false });
  });
});

describe("guardStore (composition root)", () => {
  const lines: string[] = [];
  const log = createLogger("debug", {}, (line) => lines.push(line));
  const store = guardStore(
    {
      conflict: async () => {
        throw new StoreError("insertSpec", "23505", "duplicate key");
      },
      down: async () => {
        throw new StoreError("ping", "ECONNREFUSED", "");
      },
      classified: async () => {
        throw new GatewayError("NOT_FOUND", "nope", { reason: "not_found" });
      },
      close: async () => {
        throw new Error("close failed");
      },
    },
    log,
  );

  it("answers a store conflict with 409 CONFLICT", async () => {
    await expect(store.conflict()).rejects.toMatchObject({ code: "CONFLICT", httpStatus: 409 });
  });

  it("answers any other store failure with 503, and passes classified errors through", async () => {
    await expect(store.down()).rejects.toMatchObject({ code: "UNAVAILABLE", httpStatus: 503 });
    await expect(store.classified()).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("leaves close unwrapped", async () => {
    await expect(store.close()).rejects.toThrow("close failed");
  });
});
