/**
 * Contract: the built-in secret store (versioned sealed values per tenant) and the re-sealing of
 * every sealed value in one all-or-nothing step, as master-key rotation needs.
 */
import { describe, expect, it } from "vitest";
import { StoreError, StoreUsageError } from "../../src/store/adapter-common.js";
import type { SealedValueRef, SecretRow, Store } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { rejection, sealedValue, secretWrite, signingKey, T0 } from "./fixtures.js";

const NUL = "\u0000";

/** Everything a rotation could touch, to prove a refused batch changed nothing. */
async function snapshot(store: Store) {
  return {
    sealed: await store.listSealedValues(),
    secrets: await store.listSecrets("*"),
    keys: await store.listSigningKeys(),
  };
}

function bySorted(refs: SealedValueRef[]): SealedValueRef[] {
  return [...refs].sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1));
}

export function secretsContract(ctx: ContractContext): void {
  describe("secrets (versioned, sealed)", () => {
    it("creates version 1, then each write bumps the version and stamps rotatedAt", async () => {
      const store = ctx.store();
      const w1 = secretWrite({ key: "shared/token" });
      const v1 = await store.putSecret(w1, T0);
      expect(v1).toEqual({ ...w1, version: 1, createdAt: T0, rotatedAt: null });
      expect(await store.getSecret("default", "shared/token")).toEqual(v1);

      const w2 = secretWrite({ key: "shared/token" });
      const v2 = await store.putSecret(w2, T0 + 10);
      expect(v2).toEqual({ ...w2, version: 2, createdAt: T0, rotatedAt: T0 + 10 });
      const w3 = secretWrite({ key: "shared/token" });
      const v3 = await store.putSecret(w3, T0 + 20);
      expect(v3).toEqual({ ...w3, version: 3, createdAt: T0, rotatedAt: T0 + 20 });
      expect(await store.getSecret("default", "shared/token")).toEqual(v3);
      expect(await store.listSecrets("default")).toEqual([v3]);
    });

    it("lets the store alone choose version and times, whatever the caller hands in", async () => {
      const store = ctx.store();
      const w = secretWrite();
      const hostile = { ...w, version: 99, createdAt: 1, rotatedAt: 2 } as unknown as typeof w;
      expect(await store.putSecret(hostile, T0)).toEqual({
        ...w,
        version: 1,
        createdAt: T0,
        rotatedAt: null,
      });
      expect((await store.putSecret(hostile, T0 + 5)).version).toBe(2);
    });

    it("gives 20 concurrent writers of one key the versions 1..20, each exactly once", async () => {
      const store = ctx.store();
      const writes = Array.from({ length: 20 }, () => secretWrite({ key: "raced" }));
      const rows = await Promise.all(writes.map((w, i) => store.putSecret(w, T0 + i)));
      expect(rows.map((r) => r.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      for (const [i, r] of rows.entries()) expect(r.valueSealed).toBe(writes[i]?.valueSealed);
      const last = rows.find((r) => r.version === 20);
      expect(await store.getSecret("default", "raced")).toEqual(last);
      expect(await store.listSecrets("*")).toHaveLength(1);
    });

    it("keeps tenants apart and lists one tenant or all ('*') in byte order", async () => {
      const store = ctx.store();
      const mine = await store.putSecret(secretWrite({ tenantId: "a-tenant", key: "db/password" }), T0);
      const theirs = await store.putSecret(secretWrite({ tenantId: "b-tenant", key: "db/password" }), T0);
      expect(
        (await store.putSecret(secretWrite({ tenantId: "a-tenant", key: "db/password" }), T0)).version,
      ).toBe(2);
      expect(await store.getSecret("b-tenant", "db/password")).toEqual(theirs);
      expect(await store.getSecret("c-tenant", "db/password")).toBeNull();
      expect(await store.getSecret("*", "db/password")).toBeNull();
      expect((await store.getSecret("a-tenant", "db/password"))?.valueSealed).not.toBe(mine.valueSealed);

      for (const key of ["b", "B", "a/c", "a-c", "ab"])
        await store.putSecret(secretWrite({ tenantId: "a-tenant", key }), T0);
      await store.putSecret(secretWrite({ tenantId: "A-tenant", key: "x" }), T0);
      const names = (rows: SecretRow[]) => rows.map((r) => `${r.tenantId}:${r.key}`);
      expect(names(await store.listSecrets("a-tenant"))).toEqual([
        "a-tenant:B",
        "a-tenant:a-c",
        "a-tenant:a/c",
        "a-tenant:ab",
        "a-tenant:b",
        "a-tenant:db/password",
      ]);
      const all = names(await store.listSecrets("*"));
      expect(all[0]).toBe("A-tenant:x");
      expect(all.at(-1)).toBe("b-tenant:db/password");
      expect(all).toHaveLength(8);
      expect(await store.listSecrets("nobody")).toEqual([]);
      expect(await store.listSecrets("%")).toEqual([]);
    });

    it("deletes a secret once, in its own tenant only; a new write starts again at version 1", async () => {
      const store = ctx.store();
      await store.putSecret(secretWrite({ key: "k" }), T0);
      await store.putSecret(secretWrite({ key: "k" }), T0 + 1);
      const foreign = await store.putSecret(secretWrite({ tenantId: "other", key: "k" }), T0);
      expect(await store.deleteSecret("default", "K")).toBe(false);
      expect(await store.deleteSecret("default", "k")).toBe(true);
      expect(await store.deleteSecret("default", "k")).toBe(false);
      expect(await store.getSecret("default", "k")).toBeNull();
      expect(await store.getSecret("other", "k")).toEqual(foreign);
      expect((await store.putSecret(secretWrite({ key: "k" }), T0 + 2)).version).toBe(1);
    });

    it("stores hostile keys as plain data", async () => {
      const store = ctx.store();
      const keys = ["'; DROP TABLE secrets; --", "clé🔑\u0301/ツ", "x".repeat(4096), "%_*\\", "", "a/../b"];
      for (const key of keys) {
        const row = await store.putSecret(secretWrite({ key }), T0);
        expect(await store.getSecret("default", key)).toEqual(row);
      }
      expect(await store.getSecret("default", "%")).toBeNull();
      expect(await store.listSecrets("default")).toHaveLength(keys.length);
    });

    it("round-trips a 64 KiB sealed value through put, get, list and re-sealing", async () => {
      const store = ctx.store();
      const big = sealedValue(64 * 1024);
      const row = await store.putSecret(secretWrite({ key: "big", valueSealed: big }), T0);
      expect(row.valueSealed).toBe(big);
      expect((await store.getSecret("default", "big"))?.valueSealed).toBe(big);
      expect((await store.listSealedValues()).find((r) => r.id === `default${NUL}big`)?.sealed).toBe(big);
      const bigger = sealedValue(64 * 1024);
      const id = `default${NUL}big`;
      expect(await store.replaceSealedValues([{ kind: "secret", id, sealed: bigger, previous: big }])).toBe(
        true,
      );
      expect((await store.getSecret("default", "big"))?.valueSealed).toBe(bigger);
    });
  });

  describe("sealed values (master-key rotation)", () => {
    it("lists every signing key and every secret of every tenant", async () => {
      const store = ctx.store();
      expect(await store.listSealedValues()).toEqual([]);
      const key = signingKey();
      expect(await store.insertFirstSigningKey(key)).toBe(true);
      const a = await store.putSecret(secretWrite({ tenantId: "t1", key: "api/key" }), T0);
      const b = await store.putSecret(secretWrite({ tenantId: "t2", key: "db" }), T0);
      const listed = await store.listSealedValues();
      expect(bySorted(listed)).toEqual(
        bySorted([
          { kind: "signing_key", id: key.kid, sealed: key.privateSealed },
          { kind: "secret", id: `t1${NUL}api/key`, sealed: a.valueSealed },
          { kind: "secret", id: `t2${NUL}db`, sealed: b.valueSealed },
        ]),
      );
    });

    it("re-seals secrets and signing keys together, keeping versions, fingerprints and times", async () => {
      const store = ctx.store();
      const key = signingKey();
      await store.insertFirstSigningKey(key);
      const a = await store.putSecret(secretWrite({ key: "a" }), T0);
      const b = await store.putSecret(secretWrite({ key: "b" }), T0);
      const b2 = await store.putSecret(secretWrite({ key: "b", fingerprint: b.fingerprint }), T0 + 7);
      const updates = (await store.listSealedValues()).map((r) => ({
        ...r,
        previous: r.sealed,
        sealed: sealedValue(),
      }));
      expect(await store.replaceSealedValues(updates)).toBe(true);
      expect(bySorted(await store.listSealedValues())).toEqual(
        bySorted(updates.map(({ kind, id, sealed }) => ({ kind, id, sealed }))),
      );
      const newOf = (id: string) => updates.find((u) => u.id === id)?.sealed;
      expect(await store.listSigningKeys()).toEqual([{ ...key, privateSealed: newOf(key.kid) }]);
      expect(await store.getSecret("default", "a")).toEqual({ ...a, valueSealed: newOf(`default${NUL}a`) });
      expect(await store.getSecret("default", "b")).toEqual({
        ...b2,
        version: 2,
        rotatedAt: T0 + 7,
        valueSealed: newOf(`default${NUL}b`),
      });
      expect(await store.replaceSealedValues([])).toBe(true);
    });

    it("writes nothing when any one update is stale or gone, wherever it sits in the batch", async () => {
      const store = ctx.store();
      await store.insertFirstSigningKey(signingKey());
      for (const key of ["a", "b", "c"]) await store.putSecret(secretWrite({ key }), T0);
      const current = await store.listSealedValues();
      const fresh = current.map((r) => ({ ...r, previous: r.sealed, sealed: sealedValue() }));
      const before = await snapshot(store);
      for (let i = 0; i < fresh.length; i++) {
        const stale = fresh.map((u, j) => (j === i ? { ...u, previous: sealedValue() } : u));
        expect(await store.replaceSealedValues(stale)).toBe(false);
        expect(await snapshot(store)).toEqual(before);
      }
      // A secret deleted after the rotation read it: its update matches no row.
      const gone = [
        ...fresh,
        { kind: "secret" as const, id: `default${NUL}gone`, sealed: "x", previous: "y" },
      ];
      expect(await store.replaceSealedValues(gone)).toBe(false);
      const unknownKid = [
        { kind: "signing_key" as const, id: "kid_absent", sealed: "x", previous: "y" },
        ...fresh,
      ];
      expect(await store.replaceSealedValues(unknownKid)).toBe(false);
      // A value re-written since the read (a put, same key) also refuses the batch.
      await store.putSecret(secretWrite({ key: "b" }), T0 + 1);
      const after = await snapshot(store);
      expect(await store.replaceSealedValues(fresh)).toBe(false);
      expect(await snapshot(store)).toEqual(after);
    });

    it("refuses malformed updates as caller bugs, touching nothing", async () => {
      const store = ctx.store();
      const row = await store.putSecret(secretWrite({ key: "a" }), T0);
      const good = {
        kind: "secret" as const,
        id: `default${NUL}a`,
        sealed: sealedValue(),
        previous: row.valueSealed,
      };
      const bad: unknown[] = [
        { ...good, id: "default/a" },
        { ...good, kind: "session" },
        { ...good, sealed: null },
      ];
      for (const b of bad) {
        const err = await rejection(store.replaceSealedValues([good, b as typeof good]));
        expect(err).toBeInstanceOf(StoreUsageError);
        expect(await store.getSecret("default", "a")).toEqual(row);
      }
    });

    it("lets exactly one of two concurrent rotations from one read win, with no mix of both", async () => {
      const store = ctx.store();
      // Enough rows that two unserialised batches would overlap (and deadlock on PostgreSQL).
      for (let i = 0; i < 40; i++) await store.putSecret(secretWrite({ key: `k${i}` }), T0);
      const read = await store.listSealedValues();
      const first = read.map((r) => ({ ...r, previous: r.sealed, sealed: sealedValue() }));
      // Opposite order: interleaved row locks would deadlock or mix the two batches.
      const second = read.map((r) => ({ ...r, previous: r.sealed, sealed: sealedValue() })).reverse();
      const results = await Promise.all([
        store.replaceSealedValues(first),
        store.replaceSealedValues(second),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? first : second;
      expect(bySorted(await store.listSealedValues())).toEqual(
        bySorted(winner.map(({ kind, id, sealed }) => ({ kind, id, sealed }))),
      );
    });
  });

  describe("secret store failures", () => {
    it("never puts a sealed value into a StoreError", async () => {
      const store = ctx.store();
      const sealed = sealedValue(200);
      // NOT NULL violation with the sealed value bound (PostgreSQL's detail quotes the whole row).
      const broken = secretWrite({ valueSealed: sealed, fingerprint: null as unknown as string });
      const err = await rejection(store.putSecret(broken, T0));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ operation: "putSecret", conflict: false });
      const text = `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ""}`;
      expect(text).not.toContain(sealed);
      expect((err as Error).cause).toBeUndefined();
      expect(await store.listSecrets("*")).toEqual([]);
    });

    it("rejects on a closed store without echoing the values it was given", async () => {
      const store = ctx.store();
      const row = await store.putSecret(secretWrite({ key: "a" }), T0);
      await store.close();
      const sealed = sealedValue(200);
      const calls = [
        store.putSecret(secretWrite({ key: "a", valueSealed: sealed }), T0),
        store.replaceSealedValues([
          { kind: "secret", id: `default${NUL}a`, sealed, previous: row.valueSealed },
        ]),
        store.getSecret("default", "a"),
        store.listSealedValues(),
      ];
      for (const call of calls) {
        const err = await rejection(call);
        expect(err).toBeInstanceOf(StoreError);
        expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain(sealed);
        expect(String(err)).not.toContain(row.valueSealed);
      }
    });
  });
}
