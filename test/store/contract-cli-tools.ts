/** Contract: registered CLI tools (container engine) and their audited changes. */
import { describe, expect, it } from "vitest";
import type { CliToolRow } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { cliTool, newEvent, T0 } from "./fixtures.js";
import { eventsAfter } from "./test-methods.js";

export function cliToolsContract(ctx: ContractContext): void {
  describe("cli tools", () => {
    it("round-trips every field, unicode and a 1 MB document", async () => {
      const store = ctx.store();
      const big = cliTool({
        name: "git:ünïcødé-🐈",
        document: `{"description":"'; DROP TABLE cli_tools; --","pad":"${"ツ".repeat(350_000)}"}`,
        createdAt: T0 + 1,
        updatedAt: Number.MAX_SAFE_INTEGER,
      });
      const plain = cliTool();
      expect(await store.insertCliTool(big)).toBe(true);
      expect(await store.insertCliTool(plain)).toBe(true);
      expect(await store.getCliTool(big.id)).toEqual(big);
      expect(await store.getCliToolByName("default", big.name)).toEqual(big);
      expect(await store.getCliTool(plain.id)).toEqual(plain);
      expect(await store.getCliTool("clt_missing")).toBeNull();
      expect(await store.getCliTool("%")).toBeNull();
      expect(await store.getCliToolByName("default", "%")).toBeNull();
      expect(await store.getCliToolByName("other", big.name)).toBeNull();
      expect(await store.getCliToolByName("default", big.name.toUpperCase())).toBeNull();
    });

    it("inserts a name once per tenant: a duplicate returns false and changes nothing", async () => {
      const store = ctx.store();
      const row = cliTool({ name: "git" });
      expect(await store.insertCliTool(row)).toBe(true);
      const dup = cliTool({ name: "git", document: '{"evil":true}' });
      expect(await store.insertCliTool(dup)).toBe(false);
      expect(await store.insertCliTool(row)).toBe(false);
      expect(await store.getCliToolByName("default", "git")).toEqual(row);
      expect(await store.getCliTool(dup.id)).toBeNull();
      expect(await store.insertCliTool(cliTool({ tenantId: "other", name: "git" }))).toBe(true);
    });

    it("lets exactly one of 10 concurrent inserts of one name win", async () => {
      const store = ctx.store();
      for (let round = 0; round < 3; round++) {
        const rows = Array.from({ length: 10 }, (_, i) =>
          cliTool({ name: `raced-${round}`, document: `{"attempt":${i}}` }),
        );
        const results = await Promise.all(rows.map((r) => store.insertCliTool(r)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getCliToolByName("default", `raced-${round}`)).toEqual(
          rows[results.indexOf(true)],
        );
      }
    });

    it("updates document and hash only, and only of an existing tool", async () => {
      const store = ctx.store();
      const row = cliTool({ name: "jq" });
      const neighbour = cliTool({ name: "jq-2" });
      await store.insertCliTool(row);
      await store.insertCliTool(neighbour);
      const patch = { document: '{"v":2}', hash: "ab".repeat(32), updatedAt: T0 + 50 };
      expect(await store.updateCliTool(row.id, patch)).toBe(true);
      expect(await store.getCliTool(row.id)).toEqual({ ...row, ...patch });
      expect(await store.getCliTool(neighbour.id)).toEqual(neighbour);
      expect(await store.updateCliTool("clt_missing", patch)).toBe(false);
      expect(await store.getCliTool("clt_missing")).toBeNull();

      // A whole row handed in as the patch must not rename, re-tenant or re-date the tool.
      const smuggled = { ...cliTool({ tenantId: "other", name: "jq-2", createdAt: 1 }), updatedAt: T0 + 60 };
      expect(await store.updateCliTool(row.id, smuggled)).toBe(true);
      expect(await store.getCliTool(row.id)).toEqual({
        ...row,
        document: smuggled.document,
        hash: smuggled.hash,
        updatedAt: T0 + 60,
      });
      expect(await store.getCliTool(smuggled.id)).toBeNull();
    });

    it("lists one tenant or every tenant with '*', ordered by tenant then name in byte order", async () => {
      const store = ctx.store();
      const rows = [
        cliTool({ tenantId: "b-tenant", name: "zeta" }),
        cliTool({ tenantId: "a-tenant", name: "ab" }),
        cliTool({ tenantId: "a-tenant", name: "a-c" }),
        cliTool({ tenantId: "a-tenant", name: "B" }),
        cliTool({ tenantId: "a-tenant", name: "a-b" }),
        cliTool({ tenantId: "A-tenant", name: "x" }),
      ];
      for (const r of rows) await store.insertCliTool(r);
      const names = (list: CliToolRow[]) => list.map((r) => `${r.tenantId}/${r.name}`);
      expect(names(await store.listCliTools("a-tenant"))).toEqual([
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
      ]);
      expect(names(await store.listCliTools("*"))).toEqual([
        "A-tenant/x",
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
        "b-tenant/zeta",
      ]);
      expect(await store.listCliTools("nobody")).toEqual([]);
      expect(await store.listCliTools("%")).toEqual([]);
    });

    it("deletes a tool once, by id, and frees its name", async () => {
      const store = ctx.store();
      const row = cliTool({ name: "c" });
      const foreign = cliTool({ tenantId: "other", name: "c" });
      await store.insertCliTool(row);
      await store.insertCliTool(foreign);
      expect(await store.deleteCliTool(row.id)).toBe(true);
      expect(await store.deleteCliTool(row.id)).toBe(false);
      expect(await store.deleteCliTool("clt_missing")).toBe(false);
      expect(await store.getCliToolByName("default", "c")).toBeNull();
      expect(await store.getCliTool(foreign.id)).toEqual(foreign);
      expect(await store.insertCliTool(cliTool({ name: "c" }))).toBe(true);
    });

    it("writes each change with its event, and no event for a change that did not happen", async () => {
      const store = ctx.store();
      const row = cliTool({ name: "audited" });
      const registered = newEvent({ eventType: "CliToolRegistered" });
      expect(await store.audited(registered, "insertCliTool", row)).toBe(true);
      expect(await store.audited(newEvent(), "insertCliTool", cliTool({ name: "audited" }))).toBe(false);
      const patch = { document: "{}", hash: "cd".repeat(32), updatedAt: T0 + 1 };
      const updated = newEvent({ eventType: "CliToolUpdated" });
      expect(await store.audited(updated, "updateCliTool", row.id, patch)).toBe(true);
      expect(await store.audited(newEvent(), "updateCliTool", "clt_absent", patch)).toBe(false);
      const deleted = newEvent({ eventType: "CliToolDeleted" });
      expect(await store.audited(deleted, "deleteCliTool", row.id)).toBe(true);
      expect(await store.audited(newEvent(), "deleteCliTool", row.id)).toBe(false);
      const types = (await eventsAfter(store, 0, 100)).map((e) => `${e.eventType}:${e.id}`);
      expect(types).toEqual([
        `CliToolRegistered:${registered.id}`,
        `CliToolUpdated:${updated.id}`,
        `CliToolDeleted:${deleted.id}`,
      ]);
    });
  });
}
