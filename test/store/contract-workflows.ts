/** Contract: workflows (REST tools built on a registered spec) and their link to the spec. */
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/adapter-common.js";
import type { Store, WorkflowRow } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { apiSpec, rejection, T0, workflow } from "./fixtures.js";

async function specIn(store: Store, over: Parameters<typeof apiSpec>[0] = {}): Promise<string> {
  const row = apiSpec(over);
  expect(await store.insertSpec(row)).toBe(true);
  return row.id;
}

export function workflowsContract(ctx: ContractContext): void {
  describe("workflows", () => {
    it("round-trips every field, unicode and a 1 MB document", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      const big = workflow(specId, {
        name: "wf:ünïcødé-🐈",
        description: "Lists pets 👩‍💻 \u2028 '; DROP TABLE workflows; --",
        document: `{"steps":[],"pad":"${"ツ".repeat(350_000)}"}`,
        createdAt: T0 + 1,
        updatedAt: Number.MAX_SAFE_INTEGER,
      });
      const plain = workflow(specId, { description: "" });
      expect(await store.insertWorkflow(big)).toBe(true);
      expect(await store.insertWorkflow(plain)).toBe(true);
      expect(await store.getWorkflow(big.id)).toEqual(big);
      expect(await store.getWorkflowByName("default", big.name)).toEqual(big);
      expect(await store.getWorkflow(plain.id)).toEqual(plain);
      expect(await store.getWorkflow("wf_missing")).toBeNull();
      expect(await store.getWorkflow("%")).toBeNull();
      expect(await store.getWorkflowByName("default", "%")).toBeNull();
      expect(await store.getWorkflowByName("other", big.name)).toBeNull();
    });

    it("inserts a name once per tenant: a duplicate returns false and changes nothing", async () => {
      const store = ctx.store();
      const specId = await specIn(store, { name: "shared-name" });
      const row = workflow(specId, { name: "list-pets" });
      expect(await store.insertWorkflow(row)).toBe(true);
      const dup = workflow(specId, { name: "list-pets", document: '{"steps":["evil"]}' });
      expect(await store.insertWorkflow(dup)).toBe(false);
      expect(await store.insertWorkflow(row)).toBe(false);
      expect(await store.getWorkflowByName("default", "list-pets")).toEqual(row);
      expect(await store.getWorkflow(dup.id)).toBeNull();
      const foreign = workflow(specId, { tenantId: "other", name: "list-pets" });
      expect(await store.insertWorkflow(foreign)).toBe(true);
      // Specs and workflows are separate namespaces.
      expect(await store.insertWorkflow(workflow(specId, { name: "shared-name" }))).toBe(true);
      expect(await store.countWorkflowsForSpec(specId)).toBe(3);
    });

    it("lets exactly one of 10 concurrent inserts of one name win", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      for (let round = 0; round < 3; round++) {
        const rows = Array.from({ length: 10 }, (_, i) =>
          workflow(specId, { name: `raced-${round}`, description: `attempt ${i}` }),
        );
        const results = await Promise.all(rows.map((r) => store.insertWorkflow(r)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getWorkflowByName("default", `raced-${round}`)).toEqual(
          rows[results.indexOf(true)],
        );
      }
      expect(await store.countWorkflowsForSpec(specId)).toBe(3);
    });

    it("refuses a workflow naming a spec that does not exist, as a conflict", async () => {
      const store = ctx.store();
      const row = workflow("spec_SECRET-LOOKING-ID");
      const err = await rejection(store.insertWorkflow(row));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ conflict: true, operation: "insertWorkflow" });
      expect(String(err)).not.toContain("SECRET-LOOKING-ID");
      expect(await store.getWorkflow(row.id)).toBeNull();
      expect(await store.listWorkflows("*")).toEqual([]);
    });

    it("counts the workflows referencing a spec, whatever their tenant", async () => {
      const store = ctx.store();
      const a = await specIn(store);
      const b = await specIn(store);
      for (const over of [{}, {}, { tenantId: "other" }]) await store.insertWorkflow(workflow(a, over));
      await store.insertWorkflow(workflow(b));
      expect(await store.countWorkflowsForSpec(a)).toBe(3);
      expect(await store.countWorkflowsForSpec(b)).toBe(1);
      expect(await store.countWorkflowsForSpec("spec_missing")).toBe(0);
      expect(await store.countWorkflowsForSpec("%")).toBe(0);
    });

    it("refuses to delete a spec still in use, as a conflict, until its workflows are gone", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      const wfs = [workflow(specId), workflow(specId, { tenantId: "other" })];
      for (const w of wfs) await store.insertWorkflow(w);
      const before = await store.getSpec(specId);
      for (const w of wfs) {
        const err = await rejection(store.deleteSpec(specId));
        expect(err).toBeInstanceOf(StoreError);
        expect(err).toMatchObject({ conflict: true, operation: "deleteSpec" });
        expect(String(err)).not.toContain(specId);
        expect(await store.getSpec(specId)).toEqual(before);
        expect(await store.deleteWorkflow(w.id)).toBe(true);
      }
      expect(await store.countWorkflowsForSpec(specId)).toBe(0);
      expect(await store.deleteSpec(specId)).toBe(true);
      expect(await store.getSpec(specId)).toBeNull();
    });

    it("updates description, spec, document and hash only, and only of an existing workflow", async () => {
      const store = ctx.store();
      const specA = await specIn(store);
      const specB = await specIn(store);
      const row = workflow(specA, { name: "deploy" });
      const neighbour = workflow(specA, { name: "deploy-2" });
      await store.insertWorkflow(row);
      await store.insertWorkflow(neighbour);
      const patch = {
        description: "v2 ✓",
        apiSpecId: specB,
        document: '{"v":2}',
        hash: "ab".repeat(32),
        updatedAt: T0 + 50,
      };
      expect(await store.updateWorkflow(row.id, patch)).toBe(true);
      const expected: WorkflowRow = { ...row, ...patch };
      expect(await store.getWorkflow(row.id)).toEqual(expected);
      expect(await store.getWorkflow(neighbour.id)).toEqual(neighbour);
      expect(await store.countWorkflowsForSpec(specA)).toBe(1);
      expect(await store.countWorkflowsForSpec(specB)).toBe(1);
      expect(await store.updateWorkflow("wf_missing", patch)).toBe(false);
      expect(await store.getWorkflow("wf_missing")).toBeNull();

      // A whole row handed in as the patch must not rename, re-tenant or re-date the workflow.
      const smuggled = {
        ...workflow(specA, { tenantId: "other", name: "deploy-2", createdAt: 1 }),
        updatedAt: T0 + 60,
      };
      expect(await store.updateWorkflow(row.id, smuggled)).toBe(true);
      expect(await store.getWorkflow(row.id)).toEqual({
        ...row,
        description: smuggled.description,
        apiSpecId: specA,
        document: smuggled.document,
        hash: smuggled.hash,
        updatedAt: T0 + 60,
      });
      expect(await store.getWorkflow(smuggled.id)).toBeNull();
    });

    it("refuses an update pointing at a missing spec, leaving the workflow as it was", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      const row = workflow(specId);
      await store.insertWorkflow(row);
      const patch = {
        description: "x",
        apiSpecId: "spec_gone",
        document: "{}",
        hash: "0".repeat(64),
        updatedAt: T0 + 1,
      };
      const err = await rejection(store.updateWorkflow(row.id, patch));
      expect(err).toMatchObject({ name: "StoreError", conflict: true, operation: "updateWorkflow" });
      expect(await store.getWorkflow(row.id)).toEqual(row);
    });

    it("lists one tenant or every tenant with '*', ordered by tenant then name in byte order", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      const rows = [
        workflow(specId, { tenantId: "b-tenant", name: "zeta" }),
        workflow(specId, { tenantId: "a-tenant", name: "ab" }),
        workflow(specId, { tenantId: "a-tenant", name: "a-c" }),
        workflow(specId, { tenantId: "a-tenant", name: "B" }),
        workflow(specId, { tenantId: "a-tenant", name: "a-b" }),
        workflow(specId, { tenantId: "A-tenant", name: "x" }),
      ];
      for (const r of rows) await store.insertWorkflow(r);
      const names = (list: WorkflowRow[]) => list.map((r) => `${r.tenantId}/${r.name}`);
      expect(names(await store.listWorkflows("a-tenant"))).toEqual([
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
      ]);
      expect(names(await store.listWorkflows("*"))).toEqual([
        "A-tenant/x",
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
        "b-tenant/zeta",
      ]);
      expect(await store.listWorkflows("b-tenant")).toEqual([rows[0]]);
      expect(await store.listWorkflows("nobody")).toEqual([]);
      expect(await store.listWorkflows("%")).toEqual([]);
    });

    it("deletes a workflow once, by id, and frees its name", async () => {
      const store = ctx.store();
      const specId = await specIn(store);
      const row = workflow(specId, { name: "w" });
      const foreign = workflow(specId, { tenantId: "other", name: "w" });
      await store.insertWorkflow(row);
      await store.insertWorkflow(foreign);
      expect(await store.deleteWorkflow(row.id)).toBe(true);
      expect(await store.deleteWorkflow(row.id)).toBe(false);
      expect(await store.deleteWorkflow("wf_missing")).toBe(false);
      expect(await store.getWorkflowByName("default", "w")).toBeNull();
      expect(await store.getWorkflow(foreign.id)).toEqual(foreign);
      expect(await store.insertWorkflow(workflow(specId, { name: "w" }))).toBe(true);
      expect(await store.countWorkflowsForSpec(specId)).toBe(2);
    });
  });
}
