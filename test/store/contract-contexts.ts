/** Contract: security-context CRUD, the active-session count per context, and counters. */
import { describe, expect, it } from "vitest";
import type { ContractContext } from "./contract.js";
import { securityContext, session, T0 } from "./fixtures.js";

export function contextsContract(ctx: ContractContext): void {
  describe("security contexts (CRUD)", () => {
    it("inserts once: a duplicate returns false, throws nothing and changes nothing", async () => {
      const store = ctx.store();
      const row = securityContext({ name: "research-safe" });
      expect(await store.insertSecurityContext(row)).toBe(true);
      const dup = { ...row, document: '{"capabilities":[{"tool_pattern":"*"}]}', createdAt: T0 + 9 };
      expect(await store.insertSecurityContext(dup)).toBe(false);
      expect(await store.getSecurityContext("default", "research-safe")).toEqual(row);
      // The same name in another tenant is another context.
      const foreign = securityContext({ tenantId: "other", name: "research-safe", document: "{}" });
      expect(await store.insertSecurityContext(foreign)).toBe(true);
      expect(await store.getSecurityContext("other", "research-safe")).toEqual(foreign);
      expect(await store.getSecurityContext("default", "research-safe")).toEqual(row);
    });

    it("lets exactly one of many concurrent inserts of one name win", async () => {
      const store = ctx.store();
      const rows = Array.from({ length: 20 }, (_, i) =>
        securityContext({ name: "raced", document: `{"i":${i}}` }),
      );
      const results = await Promise.all(rows.map((r) => store.insertSecurityContext(r)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.getSecurityContext("default", "raced")).toEqual(rows[results.indexOf(true)]);
    });

    it("stores hostile names and documents as plain data", async () => {
      const store = ctx.store();
      const names = ["'; DROP TABLE security_contexts; --", "ctx🔑\u0301", "x".repeat(4096), "%_*\\", ""];
      for (const name of names) {
        const row = securityContext({ name, document: `{"n":${JSON.stringify(name)},"ls":"\u2028"}` });
        expect(await store.insertSecurityContext(row)).toBe(true);
        expect(await store.getSecurityContext("default", name)).toEqual(row);
      }
      expect(await store.getSecurityContext("default", "%")).toBeNull();
      expect(await store.listSecurityContexts("default")).toHaveLength(names.length);
    });

    it("updates only an existing context, keeping created_at and other tenants", async () => {
      const store = ctx.store();
      expect(await store.updateSecurityContext("default", "absent", "{}", T0 + 1)).toBe(false);
      expect(await store.getSecurityContext("default", "absent")).toBeNull();
      const row = securityContext({ name: "ctx" });
      const foreign = securityContext({ tenantId: "other", name: "ctx" });
      await store.insertSecurityContext(row);
      await store.insertSecurityContext(foreign);
      expect(await store.updateSecurityContext("default", "ctx", '{"v":2}', T0 + 50)).toBe(true);
      expect(await store.getSecurityContext("default", "ctx")).toEqual({
        ...row,
        document: '{"v":2}',
        updatedAt: T0 + 50,
      });
      expect(await store.getSecurityContext("other", "ctx")).toEqual(foreign);
      expect(await store.updateSecurityContext("default", "CTX", "{}", T0 + 60)).toBe(false);
    });

    it("lists one tenant or every tenant with '*', ordered by tenant then name in byte order", async () => {
      const store = ctx.store();
      const rows = [
        securityContext({ tenantId: "b-tenant", name: "zeta" }),
        securityContext({ tenantId: "a-tenant", name: "ab" }),
        securityContext({ tenantId: "a-tenant", name: "a-c" }),
        securityContext({ tenantId: "a-tenant", name: "B" }),
        securityContext({ tenantId: "a-tenant", name: "a-b" }),
        securityContext({ tenantId: "A-tenant", name: "x" }),
      ];
      for (const r of rows) await store.insertSecurityContext(r);
      const names = (list: { tenantId: string; name: string }[]) =>
        list.map((r) => `${r.tenantId}/${r.name}`);
      expect(names(await store.listSecurityContexts("a-tenant"))).toEqual([
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
      ]);
      expect(names(await store.listSecurityContexts("*"))).toEqual([
        "A-tenant/x",
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
        "b-tenant/zeta",
      ]);
      expect(await store.listSecurityContexts("b-tenant")).toEqual([rows[0]]);
      expect(await store.listSecurityContexts("nobody")).toEqual([]);
      expect(await store.listSecurityContexts("%")).toEqual([]);
    });

    it("deletes a context once, in its own tenant only", async () => {
      const store = ctx.store();
      const row = securityContext({ name: "ctx" });
      const foreign = securityContext({ tenantId: "other", name: "ctx" });
      await store.insertSecurityContext(row);
      await store.insertSecurityContext(foreign);
      expect(await store.deleteSecurityContext("default", "ctx")).toBe(true);
      expect(await store.deleteSecurityContext("default", "ctx")).toBe(false);
      expect(await store.deleteSecurityContext("default", "absent")).toBe(false);
      expect(await store.getSecurityContext("default", "ctx")).toBeNull();
      expect(await store.getSecurityContext("other", "ctx")).toEqual(foreign);
      // Gone means gone: the name can be created afresh.
      expect(await store.insertSecurityContext({ ...row, document: "{}" })).toBe(true);
    });

    it("counts only Active, unexpired sessions of this tenant naming this context", async () => {
      const store = ctx.store();
      const now = T0 + 10_000;
      const counted = [
        session({ securityContext: "ctx", expiresAt: now + 1 }),
        session({ securityContext: "ctx" }),
      ];
      const ignored = [
        session({ securityContext: "ctx", expiresAt: now }), // expires exactly now
        session({ securityContext: "ctx", expiresAt: now - 1 }),
        session({ securityContext: "ctx", status: "Revoked", revokedAt: T0 }),
        session({ securityContext: "ctx", status: "Expired" }),
        session({ securityContext: "ctx", tenantId: "other" }),
        session({ securityContext: "ctx-2" }),
        session({ securityContext: "CTX" }),
      ];
      for (const s of [...counted, ...ignored]) await store.insertSession(s);
      expect(await store.countActiveSessionsForContext("default", "ctx", now)).toBe(2);
      expect(await store.countActiveSessionsForContext("other", "ctx", now)).toBe(1);
      expect(await store.countActiveSessionsForContext("default", "absent", now)).toBe(0);
      const [first] = counted;
      if (first === undefined) throw new Error("no session");
      await store.revokeSession(first.executionId, now);
      expect(await store.countActiveSessionsForContext("default", "ctx", now)).toBe(1);
    });
  });

  describe("counters", () => {
    it("starts a window at 1 and counts each key and window apart", async () => {
      const store = ctx.store();
      expect(await store.incrementCounter("rl:a", T0, T0 + 60_000)).toBe(1);
      expect(await store.incrementCounter("rl:a", T0, T0 + 60_000)).toBe(2);
      expect(await store.incrementCounter("rl:a", T0 + 60_000, T0 + 120_000)).toBe(1);
      expect(await store.incrementCounter("rl:b", T0, T0 + 60_000)).toBe(1);
      expect(await store.incrementCounter("rl:a", T0, T0 + 60_000)).toBe(3);
    });

    it("returns each of 50 concurrent increments a distinct count, 1 to 50", async () => {
      const store = ctx.store();
      const counts = await Promise.all(
        Array.from({ length: 50 }, () => store.incrementCounter("rl:hot", T0, T0 + 60_000)),
      );
      expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await store.incrementCounter("rl:hot", T0, T0 + 60_000)).toBe(51);
    });

    it("treats hostile keys and extreme windows as plain data", async () => {
      const store = ctx.store();
      const keys = ["'; DROP TABLE counters; --", "ключ🔑\u0301", "x".repeat(8192), "%_*\\", ""];
      for (const key of keys) {
        expect(await store.incrementCounter(key, 0, 1)).toBe(1);
        expect(await store.incrementCounter(key, 0, 1)).toBe(2);
      }
      expect(await store.incrementCounter("%", 0, 1)).toBe(1);
      expect(await store.incrementCounter("edge", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toBe(1);
      expect(await store.incrementCounter("edge", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toBe(2);
      expect(await store.incrementCounter("edge", 0, 1)).toBe(1);
    });

    it("sweeps only windows expired strictly before now, at most `limit` per call", async () => {
      const store = ctx.store();
      const now = T0 + 1000;
      for (let i = 0; i < 5; i++) await store.incrementCounter(`old-${i}`, T0, now - 1 - i);
      await store.incrementCounter("boundary", T0, now);
      await store.incrementCounter("live", T0, now + 1);
      expect(await store.sweepCounters(now, 0)).toBe(0);
      expect(await store.sweepCounters(now, 2)).toBe(2);
      expect(await store.sweepCounters(now, 100)).toBe(3);
      expect(await store.sweepCounters(now, 100)).toBe(0);
      expect(await store.incrementCounter("boundary", T0, now)).toBe(2);
      expect(await store.incrementCounter("live", T0, now + 1)).toBe(2);
      for (let i = 0; i < 5; i++) expect(await store.incrementCounter(`old-${i}`, T0, now + 5)).toBe(1);
    });

    it("keeps the later expiry, so a window still being counted is not swept", async () => {
      const store = ctx.store();
      await store.incrementCounter("rl:k", T0, T0 + 10);
      await store.incrementCounter("rl:k", T0, T0 + 1000);
      await store.incrementCounter("rl:k", T0, T0 + 5);
      expect(await store.sweepCounters(T0 + 500, 100)).toBe(0);
      expect(await store.incrementCounter("rl:k", T0, T0 + 10)).toBe(4);
      expect(await store.sweepCounters(T0 + 1001, 100)).toBe(1);
      expect(await store.incrementCounter("rl:k", T0, T0 + 10)).toBe(1);
    });

    it("rejects a nonsensical sweep limit", async () => {
      const store = ctx.store();
      for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.sweepCounters(T0, limit)).rejects.toThrow(/limit/);
      }
    });
  });
}
