/** Contract: signing keys, sessions, agent keys, replay records and security contexts. */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log/logger.js";
import { sweepExpired } from "../../src/services/expiry-sweep.js";
import { StoreError } from "../../src/store/adapter-common.js";
import type { ContractContext } from "./contract.js";
import { agentKey, session, signingKey, T0, uid } from "./fixtures.js";
import { putSecurityContext } from "./test-methods.js";

export function recordsContract(ctx: ContractContext): void {
  describe("signing keys", () => {
    it("starts empty, inserts the first key once, and round-trips every field", async () => {
      const store = ctx.store();
      expect(await store.listSigningKeys()).toEqual([]);
      const first = signingKey({ createdAt: Number.MAX_SAFE_INTEGER });
      expect(await store.insertFirstSigningKey(first)).toBe(true);
      expect(await store.insertFirstSigningKey(signingKey())).toBe(false);
      expect(await store.insertFirstSigningKey(first)).toBe(false);
      expect(await store.listSigningKeys()).toEqual([first]);
    });

    it("lets exactly one of many racing first-key inserts win", async () => {
      const store = ctx.store();
      const keys = Array.from({ length: 12 }, () => signingKey());
      const results = await Promise.all(keys.map((k) => store.insertFirstSigningKey(k)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = keys[results.indexOf(true)];
      expect(await store.listSigningKeys()).toEqual([winner]);
    });

    it("rotates: the active key retired (kept, with retired_at), the new one active, in generation order", async () => {
      const store = ctx.store();
      const first = signingKey({ createdAt: T0 });
      await store.insertFirstSigningKey(first);
      const second = signingKey({ createdAt: T0 + 1 });
      expect(await store.rotateSigningKey(second, T0 + 5)).toEqual([first.kid]);
      const third = signingKey({ createdAt: T0 + 2 });
      expect(await store.rotateSigningKey(third, T0 + 9)).toEqual([second.kid]);
      expect(await store.listSigningKeys()).toEqual([
        { ...first, status: "retired", retiredAt: T0 + 5 },
        { ...second, status: "retired", retiredAt: T0 + 9 },
        { ...third, status: "active", retiredAt: null },
      ]);
    });
  });

  describe("sessions", () => {
    it("round-trips a session, including patterns with unicode and an empty list", async () => {
      const store = ctx.store();
      const a = session({ allowedToolPatterns: ["wf:*", "cli:ls -la", "ツール:*", 'q"uote\\'] });
      const b = session({ allowedToolPatterns: [] });
      await store.insertSession(a);
      await store.insertSession(b);
      expect(await store.getSession(a.executionId)).toEqual(a);
      expect(await store.getSession(b.executionId)).toEqual(b);
      expect(await store.getSession("exe_missing")).toBeNull();
    });

    it("finds a session by execution id whatever its tenant", async () => {
      const store = ctx.store();
      const s = session({ tenantId: "acme" });
      await store.insertSession(s);
      expect((await store.getSession(s.executionId))?.tenantId).toBe("acme");
    });

    it("refuses a duplicate execution id as a conflict without echoing bound values", async () => {
      const store = ctx.store();
      const s = session();
      await store.insertSession(s);
      const dup = session({ executionId: s.executionId, publicKeyB64: "SECRET-LOOKING-VALUE" });
      const err: unknown = await store.insertSession(dup).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      if (!(err instanceof StoreError)) return;
      const storeErr = err;
      expect(storeErr.conflict).toBe(true);
      expect(storeErr.operation).toBe("insertSession");
      for (const value of [s.executionId, dup.publicKeyB64, dup.tokenJti]) {
        expect(storeErr.message).not.toContain(value);
      }
    });

    it("lists a tenant's sessions, optionally by status, oldest first", async () => {
      const store = ctx.store();
      const s1 = session({ createdAt: T0 + 2 });
      const s2 = session({ createdAt: T0 + 1, status: "Expired" });
      const s3 = session({ createdAt: T0 + 3 });
      const other = session({ tenantId: "other" });
      for (const s of [s1, s2, s3, other]) await store.insertSession(s);
      expect(await store.listSessions("default")).toEqual([s2, s1, s3]);
      expect(await store.listSessions("default", "Active")).toEqual([s1, s3]);
      expect(await store.listSessions("default", "Revoked")).toEqual([]);
      expect(await store.listSessions("other")).toEqual([other]);
      expect(await store.listSessions("nobody")).toEqual([]);
      // "*" lists every tenant (admin tokens spanning tenants).
      expect(await store.listSessions("*")).toHaveLength(4);
      expect(await store.listSessions("*", "Active")).toEqual(expect.arrayContaining([s1, s3, other]));
    });

    it("revokes an Active session once and reports the row either way", async () => {
      const store = ctx.store();
      const s = session();
      await store.insertSession(s);
      const revoked = await store.revokeSession(s.executionId, T0 + 10);
      expect(revoked).toEqual({ ...s, status: "Revoked", revokedAt: T0 + 10 });
      expect(await store.revokeSession(s.executionId, T0 + 99)).toEqual(revoked);
      expect(await store.getSession(s.executionId)).toEqual(revoked);
      expect(await store.revokeSession("exe_missing", T0)).toBeNull();
    });

    it("does not turn an Expired session into a Revoked one", async () => {
      const store = ctx.store();
      const s = session({ status: "Expired" });
      await store.insertSession(s);
      expect(await store.revokeSession(s.executionId, T0 + 10)).toEqual(s);
    });
  });

  describe("agent keys", () => {
    it("round-trips keys, lists per tenant and sub, and keeps tenants apart", async () => {
      const store = ctx.store();
      const k1 = agentKey({ createdAt: T0 + 1 });
      const k2 = agentKey({ createdAt: T0 + 2, sub: "agent-2", label: null });
      const k3 = agentKey({ createdAt: T0 + 3, status: "revoked", revokedAt: T0 + 4 });
      const foreign = agentKey({ tenantId: "other" });
      for (const k of [k3, k2, k1, foreign]) await store.insertAgentKey(k);
      expect(await store.getAgentKey(k2.id)).toEqual(k2);
      expect(await store.getAgentKey("ak_missing")).toBeNull();
      expect(await store.listAgentKeys("default")).toEqual([k1, k2, k3]);
      expect(await store.listAgentKeys("default", "agent-1")).toEqual([k1, k3]);
      expect(await store.listAgentKeys("other", "agent-1")).toEqual([foreign]);
      expect(await store.listAgentKeys("*", "agent-1")).toEqual(expect.arrayContaining([k1, k3, foreign]));
      expect(await store.listAgentKeys("*")).toHaveLength(4);
      expect(await store.agentKeysFor("default", "agent-1")).toEqual([k1, k3]);
      expect(await store.agentKeysFor("other", "agent-2")).toEqual([]);
    });

    it("refuses a duplicate key id", async () => {
      const store = ctx.store();
      const k = agentKey();
      await store.insertAgentKey(k);
      await expect(store.insertAgentKey(agentKey({ id: k.id }))).rejects.toMatchObject({ conflict: true });
    });

    it("revokes an active key once and reports the row either way", async () => {
      const store = ctx.store();
      const k = agentKey();
      await store.insertAgentKey(k);
      const revoked = await store.revokeAgentKey(k.id, T0 + 5);
      expect(revoked).toEqual({ ...k, status: "revoked", revokedAt: T0 + 5 });
      expect(await store.revokeAgentKey(k.id, T0 + 50)).toEqual(revoked);
      expect(await store.revokeAgentKey("ak_missing", T0)).toBeNull();
    });
  });

  describe("replay records", () => {
    it("records a key once; a second record of the same key reports a replay", async () => {
      const store = ctx.store();
      expect(await store.recordReplay("jti-1:aaaa", T0 + 60_000)).toBe(true);
      expect(await store.recordReplay("jti-1:aaaa", T0 + 60_000)).toBe(false);
      expect(await store.recordReplay("jti-1:aaaa", T0 + 999_999)).toBe(false);
      expect(await store.recordReplay("jti-1:aaab", T0 + 60_000)).toBe(true);
    });

    it("treats hostile and large keys as plain data", async () => {
      const store = ctx.store();
      const keys = ["'; DROP TABLE replay_records; --", "ключ🔑\u0301", "x".repeat(8192), "%_*\\", ""];
      for (const key of keys) {
        expect(await store.recordReplay(key, T0)).toBe(true);
        expect(await store.recordReplay(key, T0)).toBe(false);
      }
      expect(await store.recordReplay("unrelated", T0)).toBe(true);
    });

    it("lets exactly one of many concurrent inserts of one key succeed", async () => {
      const store = ctx.store();
      const key = uid("race");
      const results = await Promise.all(Array.from({ length: 40 }, () => store.recordReplay(key, T0)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("sweeps only rows expired strictly before now, at most `limit` per call", async () => {
      const store = ctx.store();
      const now = T0 + 1000;
      for (let i = 0; i < 5; i++) await store.recordReplay(`old-${i}`, now - 1 - i);
      await store.recordReplay("boundary", now);
      await store.recordReplay("live", now + 1);
      expect(await store.sweepReplay(now, 0)).toBe(0);
      expect(await store.sweepReplay(now, 2)).toBe(2);
      expect(await store.sweepReplay(now, 100)).toBe(3);
      expect(await store.sweepReplay(now, 100)).toBe(0);
      expect(await store.recordReplay("boundary", now)).toBe(false);
      expect(await store.recordReplay("live", now)).toBe(false);
      for (let i = 0; i < 5; i++) expect(await store.recordReplay(`old-${i}`, now + 5)).toBe(true);
    });

    it("one expiry pass drains every expired replay record and counter window, in slices", async () => {
      const store = ctx.store();
      const now = T0 + 1000;
      // More than two slices of each, as a busy gateway leaves between two passes.
      for (let i = 0; i < 1234; i++) {
        await store.recordReplay(uid("expired"), now - 1);
        await store.incrementCounter(uid("expired"), T0, now - 1);
      }
      await store.recordReplay("live", now + 1);
      await store.incrementCounter("live", T0, now + 1);
      const swept = await sweepExpired({ store, nowMs: () => now, log: silentLogger, slice: 500 });
      expect(swept).toEqual({ replay: 1234, counters: 1234 });
      expect(await store.countReplay()).toBe(1);
      expect(await store.recordReplay("live", now)).toBe(false);
      expect(await store.incrementCounter("live", T0, now + 1)).toBe(2);
    });

    it("rejects a nonsensical sweep limit", async () => {
      const store = ctx.store();
      for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.sweepReplay(T0, limit)).rejects.toThrow(/limit/);
      }
    });
  });

  describe("security contexts", () => {
    it("puts, replaces (keeping created_at) and keeps tenants apart", async () => {
      const store = ctx.store();
      expect(await store.getSecurityContext("default", "ctx")).toBeNull();
      const doc = '{"name":"ctx","rules":[{"tool":"wf:*"}],"note":"ünïcødé ✓ \\u2028"}';
      await putSecurityContext(store, {
        tenantId: "default",
        name: "ctx",
        document: doc,
        createdAt: T0,
        updatedAt: T0,
      });
      await putSecurityContext(store, {
        tenantId: "other",
        name: "ctx",
        document: "{}",
        createdAt: T0 + 1,
        updatedAt: T0 + 1,
      });
      expect(await store.getSecurityContext("default", "ctx")).toEqual({
        tenantId: "default",
        name: "ctx",
        document: doc,
        createdAt: T0,
        updatedAt: T0,
      });
      await putSecurityContext(store, {
        tenantId: "default",
        name: "ctx",
        document: '{"v": 2}',
        createdAt: T0 + 50,
        updatedAt: T0 + 50,
      });
      expect(await store.getSecurityContext("default", "ctx")).toEqual({
        tenantId: "default",
        name: "ctx",
        document: '{"v": 2}',
        createdAt: T0,
        updatedAt: T0 + 50,
      });
      expect((await store.getSecurityContext("other", "ctx"))?.document).toBe("{}");
      expect(await store.getSecurityContext("default", "CTX")).toBeNull();
    });
  });
}
