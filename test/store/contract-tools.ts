/** Contract: REST tools — registered OpenAPI specs (this file) and workflows (contract-workflows). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/adapter-common.js";
import type { ContractContext } from "./contract.js";
import { workflowsContract } from "./contract-workflows.js";
import { apiSpec, rejection, T0 } from "./fixtures.js";

const MB = 1024 * 1024;

/** A JSON-looking document of about `bytes` UTF-8 bytes with every awkward character class. */
function bigDocument(bytes: number): string {
  const chunk = `{"k":"ascii ünïcødé ツール 👩‍💻 \\u0000 \\" \\\\ \u2028\u2029 '; DROP TABLE api_specs; --"},`;
  const reps = Math.ceil(bytes / Buffer.byteLength(chunk));
  return `[${chunk.repeat(reps)}{}]`;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export function toolsContract(ctx: ContractContext): void {
  describe("api specs", () => {
    it("round-trips every field, nulls, an empty host list and extreme times", async () => {
      const store = ctx.store();
      const full = apiSpec({
        name: "pets-ünïcødé-🐈",
        allowedHosts: ["api.example.com", "*.example.org", "xn--bcher-kva.example", "ホスト.jp:8443"],
        sourceUrl: "https://specs.example.com/pets.yaml?v=1&x=%20",
        createdAt: T0 + 1,
        updatedAt: Number.MAX_SAFE_INTEGER,
      });
      const sparse = apiSpec({ baseUrl: null, allowedHosts: [], credentialPath: null, sourceUrl: null });
      expect(await store.insertSpec(full)).toBe(true);
      expect(await store.insertSpec(sparse)).toBe(true);
      expect(await store.getSpec(full.id)).toEqual(full);
      expect(await store.getSpec(sparse.id)).toEqual(sparse);
      expect(await store.getSpecByName("default", full.name)).toEqual(full);
      expect(await store.getSpecByName("default", sparse.name)).toEqual(sparse);
      // The metadata read used on every call: the row without its document.
      const { document: _doc, ...meta } = full;
      expect(await store.getSpecMeta(full.id)).toEqual(meta);
      expect(await store.getSpecMeta("spec_missing")).toBeNull();
      expect(await store.getSpec("spec_missing")).toBeNull();
      expect(await store.getSpec("%")).toBeNull();
      expect(await store.getSpecByName("default", "%")).toBeNull();
      expect(await store.getSpecByName("other", full.name)).toBeNull();
      expect(await store.getSpecByName("default", full.name.toUpperCase())).toBeNull();
    });

    it("round-trips a 12 MB document byte for byte", { timeout: 60_000 }, async () => {
      const store = ctx.store();
      const document = bigDocument(12 * MB);
      expect(Buffer.byteLength(document)).toBeGreaterThanOrEqual(12 * MB);
      const row = apiSpec({ name: "huge", document, hash: sha256(document) });
      expect(await store.insertSpec(row)).toBe(true);
      // Compared without toEqual: a 12 MB diff on failure would drown the report.
      for (const got of [await store.getSpec(row.id), await store.getSpecByName("default", "huge")]) {
        expect(got?.document.length).toBe(document.length);
        expect(got?.document === document).toBe(true);
        expect(sha256(got?.document ?? "")).toBe(row.hash);
        expect({ ...got, document: "" }).toEqual({ ...row, document: "" });
      }
      const [listed] = await store.listSpecs("default");
      expect(listed?.document === document).toBe(true);
    });

    it("inserts a name once per tenant: a duplicate returns false and changes nothing", async () => {
      const store = ctx.store();
      const row = apiSpec({ name: "pets" });
      expect(await store.insertSpec(row)).toBe(true);
      const dup = apiSpec({ name: "pets", document: "{}", allowedHosts: ["evil.example"] });
      expect(await store.insertSpec(dup)).toBe(false);
      expect(await store.insertSpec(row)).toBe(false);
      expect(await store.getSpecByName("default", "pets")).toEqual(row);
      expect(await store.getSpec(dup.id)).toBeNull();
      // Another tenant, or another spelling, is another spec.
      const foreign = apiSpec({ tenantId: "other", name: "pets" });
      const upper = apiSpec({ name: "Pets" });
      expect(await store.insertSpec(foreign)).toBe(true);
      expect(await store.insertSpec(upper)).toBe(true);
      expect(await store.getSpecByName("other", "pets")).toEqual(foreign);
      expect(await store.getSpecByName("default", "Pets")).toEqual(upper);
    });

    it("refuses a reused id under another name as a conflict without echoing bound values", async () => {
      const store = ctx.store();
      const row = apiSpec();
      await store.insertSpec(row);
      const clash = apiSpec({ id: row.id, credentialPath: '{"Secret":"SECRET-LOOKING-VALUE"}' });
      const err = await rejection(store.insertSpec(clash));
      expect(err).toBeInstanceOf(StoreError);
      if (!(err instanceof StoreError)) return;
      expect(err).toMatchObject({ conflict: true, operation: "insertSpec" });
      for (const value of [row.id, clash.name, clash.hash, "SECRET-LOOKING-VALUE"]) {
        expect(err.message).not.toContain(value);
      }
      expect(await store.getSpec(row.id)).toEqual(row);
    });

    it("lets exactly one of 10 concurrent inserts of one name win", async () => {
      const store = ctx.store();
      for (let round = 0; round < 3; round++) {
        const rows = Array.from({ length: 10 }, (_, i) =>
          apiSpec({ name: `raced-${round}`, document: `{"i":${i}}` }),
        );
        const results = await Promise.all(rows.map((r) => store.insertSpec(r)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getSpecByName("default", `raced-${round}`)).toEqual(rows[results.indexOf(true)]);
      }
      expect(await store.listSpecs("default")).toHaveLength(3);
    });

    it("stores hostile names and values as plain data", async () => {
      const store = ctx.store();
      const names = ["'; DROP TABLE api_specs; --", "spec🔑\u0301", "x".repeat(4096), "%_*\\", ""];
      for (const name of names) {
        const row = apiSpec({ name, allowedHosts: [name, '"]', "\u2028"], baseUrl: name, sourceUrl: name });
        expect(await store.insertSpec(row)).toBe(true);
        expect(await store.getSpecByName("default", name)).toEqual(row);
      }
      expect(await store.listSpecs("default")).toHaveLength(names.length);
    });

    it("lists one tenant or every tenant with '*', ordered by tenant then name in byte order", async () => {
      const store = ctx.store();
      const rows = [
        apiSpec({ tenantId: "b-tenant", name: "zeta" }),
        apiSpec({ tenantId: "a-tenant", name: "ab" }),
        apiSpec({ tenantId: "a-tenant", name: "a-c" }),
        apiSpec({ tenantId: "a-tenant", name: "B" }),
        apiSpec({ tenantId: "a-tenant", name: "a-b" }),
        apiSpec({ tenantId: "A-tenant", name: "x" }),
      ];
      for (const r of rows) await store.insertSpec(r);
      const names = (list: { tenantId: string; name: string }[]) =>
        list.map((r) => `${r.tenantId}/${r.name}`);
      expect(names(await store.listSpecs("a-tenant"))).toEqual([
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
      ]);
      expect(names(await store.listSpecs("*"))).toEqual([
        "A-tenant/x",
        "a-tenant/B",
        "a-tenant/a-b",
        "a-tenant/a-c",
        "a-tenant/ab",
        "b-tenant/zeta",
      ]);
      expect(await store.listSpecs("b-tenant")).toEqual([rows[0]]);
      expect(await store.listSpecs("nobody")).toEqual([]);
      expect(await store.listSpecs("%")).toEqual([]);
    });

    it("deletes an unused spec once, by id, and frees its name", async () => {
      const store = ctx.store();
      const row = apiSpec({ name: "pets" });
      const foreign = apiSpec({ tenantId: "other", name: "pets" });
      await store.insertSpec(row);
      await store.insertSpec(foreign);
      expect(await store.countWorkflowsForSpec(row.id)).toBe(0);
      expect(await store.deleteSpec(row.id)).toBe(true);
      expect(await store.deleteSpec(row.id)).toBe(false);
      expect(await store.deleteSpec("spec_missing")).toBe(false);
      expect(await store.deleteSpec("%")).toBe(false);
      expect(await store.getSpec(row.id)).toBeNull();
      expect(await store.getSpecByName("default", "pets")).toBeNull();
      expect(await store.getSpec(foreign.id)).toEqual(foreign);
      expect(await store.insertSpec(apiSpec({ name: "pets" }))).toBe(true);
    });
  });

  workflowsContract(ctx);
}
