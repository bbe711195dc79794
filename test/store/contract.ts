/**
 * The one behaviour suite every Store adapter must pass. `makeStore` returns a store on a fresh,
 * empty database; each test gets its own, so tests never depend on each other's rows.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/types.js";
import { approvalsContract } from "./contract-approvals.js";
import { auditContract } from "./contract-audit.js";
import { auditedContract } from "./contract-audited.js";
import { cliToolsContract } from "./contract-cli-tools.js";
import { contextsContract } from "./contract-contexts.js";
import { credentialBindingsContract } from "./contract-credential-bindings.js";
import { pagesContract } from "./contract-pages.js";
import { recordsContract } from "./contract-records.js";
import { secretsContract } from "./contract-secrets.js";
import { toolsContract } from "./contract-tools.js";

export interface ContractContext {
  /** The store under test (migrated). */
  store(): Store;
}

export function runStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let current: Store | undefined;

    beforeEach(async () => {
      current = await makeStore();
      await current.migrate();
    });

    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    const ctx: ContractContext = {
      store: () => {
        if (current === undefined) throw new Error("store not open");
        return current;
      },
    };

    describe("lifecycle", () => {
      it("migrate is idempotent and ping answers", async () => {
        await ctx.store().migrate();
        await ctx.store().migrate();
        await expect(ctx.store().ping()).resolves.toBeUndefined();
        expect(["sqlite", "postgres"]).toContain(ctx.store().dialect);
      });

      it("a closed store rejects instead of hanging, and closing twice is harmless", async () => {
        const store = ctx.store();
        await store.close();
        await expect(store.ping()).rejects.toThrow();
        await expect(store.recordReplay("k", 1)).rejects.toThrow();
        await store.close();
      });
    });

    recordsContract(ctx);
    contextsContract(ctx);
    approvalsContract(ctx);
    auditContract(ctx);
    toolsContract(ctx);
    cliToolsContract(ctx);
    secretsContract(ctx);
    credentialBindingsContract(ctx);
    auditedContract(ctx);
    pagesContract(ctx);
  });
}
