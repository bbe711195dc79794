/**
 * Behaviour across gateway instances sharing one database: each instance has its own
 * connection (or pool), so atomicity must come from the database, not from one process.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/types.js";
import {
  apiSpec,
  approval,
  checkpoint,
  hashOf,
  newEvent,
  sealedValue,
  secretWrite,
  securityContext,
  signingKey,
  T0,
  uid,
  workflow,
} from "./fixtures.js";

export interface SharedDatabase {
  /** Opens another store instance (own connection/pool) on the same database; not migrated. */
  open(): Promise<Store>;
  drop(): Promise<void>;
}

const INSTANCES = 3;

export function runMultiInstanceContract(name: string, makeShared: () => Promise<SharedDatabase>): void {
  describe(`Store multi-instance contract: ${name}`, () => {
    let shared: SharedDatabase | undefined;
    let stores: Store[] = [];

    beforeEach(async () => {
      shared = await makeShared();
      for (let i = 0; i < INSTANCES; i++) stores.push(await shared.open());
    });

    afterEach(async () => {
      for (const s of stores) await s.close();
      stores = [];
      await shared?.drop();
      shared = undefined;
    });

    it("migrates concurrently from every instance, once", async () => {
      await Promise.all(stores.map((s) => s.migrate()));
      await Promise.all(stores.map((s) => s.migrate()));
      for (const s of stores) expect(await s.countEvents()).toEqual({ total: 0, sealed: 0 });
    });

    describe("once migrated", () => {
      beforeEach(async () => {
        await stores[0]?.migrate();
      });

      it("lets exactly one instance create the first signing key", async () => {
        const keys = stores.map(() => signingKey());
        const results = await Promise.all(
          stores.map((s, i) => s.insertFirstSigningKey(keys[i] ?? signingKey())),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = keys[results.indexOf(true)];
        for (const s of stores) expect(await s.listSigningKeys()).toEqual([winner]);
      });

      it("shares replay records: one key is new to exactly one instance", async () => {
        for (let round = 0; round < 20; round++) {
          const key = uid("k");
          const results = await Promise.all(
            stores.flatMap((s) => [s.recordReplay(key, 1), s.recordReplay(key, 1)]),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
        }
      });

      it("gives appends from every instance distinct sequence numbers", async () => {
        const seqs = await Promise.all(
          stores.flatMap((s) => Array.from({ length: 25 }, () => s.appendEvent(newEvent()))),
        );
        expect(new Set(seqs).size).toBe(seqs.length);
        expect((await stores[0]?.countEvents())?.total).toBe(seqs.length);
      });

      it("counts increments from every instance exactly once: 1..50, each once", async () => {
        const counts = await Promise.all(
          Array.from({ length: 50 }, (_, i) => {
            const s = stores[i % stores.length];
            if (s === undefined) throw new Error("no store");
            return s.incrementCounter("rl:shared", T0, T0 + 60_000);
          }),
        );
        expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        for (const [i, s] of stores.entries()) {
          expect(await s.incrementCounter("rl:shared", T0, T0 + 60_000)).toBe(51 + i);
        }
      });

      it("lets exactly one of 20 consumers across instances use an approval", async () => {
        const first = stores[0];
        if (first === undefined) throw new Error("no store");
        for (let round = 0; round < 5; round++) {
          const a = approval({ status: "approved", decidedAt: T0, decidedBy: "alice" });
          await first.insertApproval(a);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => stores[i % stores.length]?.consumeApproval(a.id, T0 + i)),
          );
          expect(results.filter((r) => r === true)).toHaveLength(1);
          expect(results.filter((r) => r === false)).toHaveLength(19);
          for (const s of stores) expect((await s.getApproval(a.id))?.status).toBe("used");
        }
      });

      it("lets exactly one instance decide a pending approval", async () => {
        const first = stores[0];
        if (first === undefined) throw new Error("no store");
        const a = approval();
        await first.insertApproval(a);
        const results = await Promise.all(
          stores.flatMap((s, i) => [
            s.decideApproval(a.id, "approved", `approver-${i}`, null, T0 + i),
            s.decideApproval(a.id, "denied", `approver-${i}`, "no", T0 + i),
          ]),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        for (const s of stores) expect(await s.getApproval(a.id)).toEqual(winners[0]);
      });

      it("lets exactly one instance create a security context name", async () => {
        const rows = stores.map(() => securityContext({ name: "shared" }));
        const results = await Promise.all(
          stores.map((s, i) => s.insertSecurityContext(rows[i] ?? securityContext())),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        for (const s of stores)
          expect(await s.listSecurityContexts("*")).toEqual([rows[results.indexOf(true)]]);
      });

      it("lets exactly one instance register a spec name, then a workflow name", async () => {
        const specs = stores.flatMap(() => [apiSpec({ name: "pets" }), apiSpec({ name: "pets" })]);
        const specResults = await Promise.all(
          specs.map((row, i) => stores[i % stores.length]?.insertSpec(row)),
        );
        expect(specResults.filter((r) => r === true)).toHaveLength(1);
        const spec = specs[specResults.indexOf(true)];
        if (spec === undefined) throw new Error("no winner");
        for (const s of stores) expect(await s.listSpecs("*")).toEqual([spec]);

        const wfs = stores.flatMap(() => [
          workflow(spec.id, { name: "list" }),
          workflow(spec.id, { name: "list" }),
        ]);
        const wfResults = await Promise.all(
          wfs.map((row, i) => stores[i % stores.length]?.insertWorkflow(row)),
        );
        expect(wfResults.filter((r) => r === true)).toHaveLength(1);
        for (const s of stores)
          expect(await s.listWorkflows("default")).toEqual([wfs[wfResults.indexOf(true)]]);
      });

      it("never leaves a workflow pointing at a spec deleted by another instance", async () => {
        const first = stores[0];
        if (first === undefined) throw new Error("no store");
        for (let round = 0; round < 5; round++) {
          const spec = apiSpec();
          await first.insertSpec(spec);
          const outcomes = await Promise.allSettled([
            ...stores.map((s) => s.insertWorkflow(workflow(spec.id))),
            ...stores.map((s) => s.deleteSpec(spec.id)),
          ]);
          for (const o of outcomes) {
            if (o.status === "rejected")
              expect(o.reason).toMatchObject({ name: "StoreError", conflict: true });
          }
          const remaining = await first.countWorkflowsForSpec(spec.id);
          if ((await first.getSpec(spec.id)) === null) expect(remaining).toBe(0);
          else expect(remaining).toBeGreaterThan(0);
        }
      });

      it("gives writers of one secret across instances the versions 1..30, each exactly once", async () => {
        const rows = await Promise.all(
          Array.from({ length: 30 }, (_, i) => {
            const s = stores[i % stores.length];
            if (s === undefined) throw new Error("no store");
            return s.putSecret(secretWrite({ key: "shared/token" }), T0 + i);
          }),
        );
        const versions = rows.map((r) => r.version).sort((a, b) => a - b);
        expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        const last = rows.find((r) => r.version === 30);
        for (const s of stores) expect(await s.getSecret("default", "shared/token")).toEqual(last);
      });

      it("lets exactly one of several instances re-seal from the same read, never a mix", async () => {
        const first = stores[0];
        if (first === undefined) throw new Error("no store");
        await first.insertFirstSigningKey(signingKey());
        // Enough rows that unserialised batches would overlap (and deadlock on PostgreSQL).
        for (let i = 0; i < 40; i++) await first.putSecret(secretWrite({ key: `k${i}` }), T0);
        const read = await first.listSealedValues();
        // Each instance walks the rows in another order, so interleaved row locks would deadlock.
        const batches = stores.map((_, i) => {
          const batch = read.map((r) => ({ ...r, previous: r.sealed, sealed: sealedValue() }));
          return i % 2 === 0 ? batch : batch.reverse();
        });
        const results = await Promise.all(stores.map((s, i) => s.replaceSealedValues(batches[i] ?? [])));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = batches[results.indexOf(true)] ?? [];
        const sealedNow = new Map((await first.listSealedValues()).map((r) => [r.id, r.sealed]));
        expect(sealedNow.size).toBe(winner.length);
        for (const u of winner) expect(sealedNow.get(u.id)).toBe(u.sealed);
      });

      it("lets exactly one of several instances seal from the same head", async () => {
        const first = stores[0];
        if (first === undefined) throw new Error("no store");
        const seq = await first.appendEvent(newEvent());
        const update = { seq, chainSeq: 1, prevHash: hashOf(0), hash: hashOf(1) };
        const results = await Promise.all(
          stores.map((s) => s.sealBatch([update], checkpoint({ lastChainSeq: 1, rowCount: 1 }), 0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await first.listCheckpoints()).toHaveLength(1);
      });
    });
  });
}
