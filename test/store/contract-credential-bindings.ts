/** Contract: UserBound credential bindings (user, provider, tenant → a secret reference) and their grants. */
import { describe, expect, it } from "vitest";
import type { CredentialBindingRow } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { credentialBinding, newEvent, T0 } from "./fixtures.js";
import { eventsAfter } from "./test-methods.js";

export function credentialBindingsContract(ctx: ContractContext): void {
  describe("credential bindings", () => {
    it("round-trips every field, grants in order, unicode and hostile text", async () => {
      const store = ctx.store();
      const grants = Array.from({ length: 100 }, (_, i) => ({
        toolPattern: i % 2 ? `github.t${String(i).padStart(3, "0")}` : "*",
        securityContext: i % 3 ? null : `ctx-${i}`,
      }));
      const row = credentialBinding({
        userSub: "ünïcødé-🐈'; DROP TABLE credential_bindings; --",
        userIssuer: "https://idp.example/realms/a",
        provider: "git/hub-1.x",
        secretKey: "users/ü/token",
        secretBackend: "openbao",
        secretField: "password",
        createdAt: Number.MAX_SAFE_INTEGER,
        grants,
      });
      const plain = credentialBinding();
      expect(await store.insertCredentialBinding(row)).toBe(true);
      expect(await store.insertCredentialBinding(plain)).toBe(true);
      expect(await store.getCredentialBinding(row.id)).toEqual(row);
      expect(await store.getCredentialBinding(plain.id)).toEqual(plain);
      expect(await store.findCredentialBinding("default", row.userSub, row.provider)).toEqual(row);
      expect(await store.getCredentialBinding("cbd_missing")).toBeNull();
      expect(await store.getCredentialBinding("%")).toBeNull();
    });

    it("finds by exact (tenant, user, provider) only: no case folding, no wildcards, no other tenant", async () => {
      const store = ctx.store();
      const row = credentialBinding({ userSub: "Alice", provider: "github" });
      await store.insertCredentialBinding(row);
      const find = (t: string, u: string, p: string) => store.findCredentialBinding(t, u, p);
      expect(await find("default", "Alice", "github")).toEqual(row);
      for (const [t, u, p] of [
        ["default", "alice", "github"],
        ["default", "Alice ", "github"],
        ["default", "%", "github"],
        ["default", "Alice", "GitHub"],
        ["default", "Alice", "%"],
        ["other", "Alice", "github"],
        ["*", "Alice", "github"],
      ] as const)
        expect(await find(t, u, p), `${t}/${u}/${p}`).toBeNull();
    });

    it("binds (tenant, user, provider) once: a duplicate returns false and writes no grants", async () => {
      const store = ctx.store();
      const row = credentialBinding({ userSub: "bob" });
      expect(await store.insertCredentialBinding(row)).toBe(true);
      const dup = credentialBinding({
        userSub: "bob",
        secretKey: "evil",
        grants: [{ toolPattern: "*", securityContext: null }],
      });
      expect(await store.insertCredentialBinding(dup)).toBe(false);
      expect(await store.getCredentialBinding(dup.id)).toBeNull();
      expect(await store.findCredentialBinding("default", "bob", "github")).toEqual(row);
      // Another provider, another tenant: separate bindings.
      expect(
        await store.insertCredentialBinding(credentialBinding({ userSub: "bob", provider: "gitlab" })),
      ).toBe(true);
      expect(await store.insertCredentialBinding(credentialBinding({ userSub: "bob", tenantId: "t2" }))).toBe(
        true,
      );
    });

    it("lets exactly one of 10 concurrent bindings of one user and provider win", async () => {
      const store = ctx.store();
      const rows = Array.from({ length: 10 }, (_, i) =>
        credentialBinding({ userSub: "raced", secretKey: `k${i}` }),
      );
      const results = await Promise.all(rows.map((r) => store.insertCredentialBinding(r)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.findCredentialBinding("default", "raced", "github")).toEqual(
        rows[results.indexOf(true)],
      );
    });

    it("lists one tenant or every tenant with '*', oldest first, grants attached", async () => {
      const store = ctx.store();
      const rows: CredentialBindingRow[] = [
        credentialBinding({ tenantId: "b", createdAt: T0 + 2 }),
        credentialBinding({ tenantId: "a", createdAt: T0 + 1, grants: [] }),
        credentialBinding({ tenantId: "a", createdAt: T0 + 3 }),
      ];
      for (const r of rows) await store.insertCredentialBinding(r);
      expect(await store.listCredentialBindings("a")).toEqual([rows[1], rows[2]]);
      expect(await store.listCredentialBindings("*")).toEqual([rows[1], rows[0], rows[2]]);
      expect(await store.listCredentialBindings("nobody")).toEqual([]);
      expect(await store.listCredentialBindings("%")).toEqual([]);
    });

    it("deletes a binding once, with its grants, and frees (user, provider)", async () => {
      const store = ctx.store();
      const row = credentialBinding({ userSub: "carol" });
      const neighbour = credentialBinding({ userSub: "dave" });
      await store.insertCredentialBinding(row);
      await store.insertCredentialBinding(neighbour);
      expect(await store.deleteCredentialBinding(row.id)).toBe(true);
      expect(await store.deleteCredentialBinding(row.id)).toBe(false);
      expect(await store.deleteCredentialBinding("cbd_missing")).toBe(false);
      expect(await store.findCredentialBinding("default", "carol", "github")).toBeNull();
      expect(await store.getCredentialBinding(neighbour.id)).toEqual(neighbour);
      // A new binding under the old id's user gets only its own grants, none of the deleted ones.
      const again = credentialBinding({
        userSub: "carol",
        grants: [{ toolPattern: "x.y", securityContext: null }],
      });
      expect(await store.insertCredentialBinding(again)).toBe(true);
      expect((await store.findCredentialBinding("default", "carol", "github"))?.grants).toEqual(again.grants);
    });

    it("replaces a binding's grants in order, and only of an existing binding", async () => {
      const store = ctx.store();
      const row = credentialBinding({
        userSub: "kim",
        grants: [
          { toolPattern: "a.*", securityContext: null },
          { toolPattern: "b.*", securityContext: "ctx" },
        ],
      });
      const neighbour = credentialBinding({ userSub: "lee" });
      await store.insertCredentialBinding(row);
      await store.insertCredentialBinding(neighbour);
      const next = [
        { toolPattern: "c.x", securityContext: "other" },
        { toolPattern: "a.*", securityContext: null },
        { toolPattern: "d.*", securityContext: null },
      ];
      expect(await store.replaceCredentialGrants(row.id, next)).toBe(true);
      expect(await store.getCredentialBinding(row.id)).toEqual({ ...row, grants: next });
      expect(await store.replaceCredentialGrants(row.id, next.slice(0, 1))).toBe(true);
      expect((await store.findCredentialBinding("default", "kim", "github"))?.grants).toEqual(
        next.slice(0, 1),
      );
      expect(await store.getCredentialBinding(neighbour.id)).toEqual(neighbour);
      expect(await store.replaceCredentialGrants("cbd_missing", next)).toBe(false);
      expect(await store.getCredentialBinding("cbd_missing")).toBeNull();
    });

    it("writes each change with its event, and no event for a change that did not happen", async () => {
      const store = ctx.store();
      const row = credentialBinding({ userSub: "audited" });
      const created = newEvent({ eventType: "CredentialBindingCreated" });
      expect(await store.audited(created, "insertCredentialBinding", row)).toBe(true);
      expect(
        await store.audited(newEvent(), "insertCredentialBinding", credentialBinding({ userSub: "audited" })),
      ).toBe(false);
      const updated = newEvent({ eventType: "CredentialBindingUpdated" });
      const grants = [{ toolPattern: "x.*", securityContext: null }];
      expect(await store.audited(updated, "replaceCredentialGrants", row.id, grants)).toBe(true);
      expect(await store.audited(newEvent(), "replaceCredentialGrants", "cbd_absent", grants)).toBe(false);
      const deleted = newEvent({ eventType: "CredentialBindingDeleted" });
      expect(await store.audited(deleted, "deleteCredentialBinding", row.id)).toBe(true);
      expect(await store.audited(newEvent(), "deleteCredentialBinding", row.id)).toBe(false);
      const types = (await eventsAfter(store, 0, 100)).map((e) => `${e.eventType}:${e.id}`);
      expect(types).toEqual([
        `CredentialBindingCreated:${created.id}`,
        `CredentialBindingUpdated:${updated.id}`,
        `CredentialBindingDeleted:${deleted.id}`,
      ]);
    });
  });
}
