/**
 * Contract: a control-plane change and its audit event commit in one transaction
 * (Store.audited). The event insert is made to fail by handing in an event whose id is already
 * taken (gateway_events.id is unique), which every dialect refuses after the change ran.
 */
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/adapter-common.js";
import type { NewEvent, Store } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import {
  apiSpec,
  approval,
  newEvent,
  rejection,
  secretWrite,
  securityContext,
  session,
  T0,
  workflow,
} from "./fixtures.js";
import { eventsAfter } from "./test-methods.js";

/** An event whose insert fails: its id is taken by a row already in the table. */
async function doomedEvent(store: Store): Promise<NewEvent> {
  const taken = newEvent({ eventType: "Existing" });
  await store.appendEvent(taken);
  return newEvent({ id: taken.id, eventType: "Doomed" });
}

async function eventIds(store: Store): Promise<string[]> {
  return (await eventsAfter(store, 0, 10_000)).map((e) => `${e.eventType}:${e.id}`);
}

export function auditedContract(ctx: ContractContext): void {
  describe("audited control-plane changes", () => {
    it("writes the change and its event together", async () => {
      const store = ctx.store();
      const spec = apiSpec();
      const event = newEvent({ eventType: "ApiSpecRegistered" });
      expect(await store.audited(event, "insertSpec", spec)).toBe(true);
      expect(await store.getSpec(spec.id)).toEqual(spec);
      const [row] = await eventsAfter(store, 0, 10);
      expect(row).toMatchObject({ ...event, chainSeq: null, hash: null });
    });

    it("answers what the change answers, and writes no event for a change that did not happen", async () => {
      const store = ctx.store();
      const spec = apiSpec({ name: "taken" });
      await store.insertSpec(spec);
      expect(await store.audited(newEvent(), "insertSpec", apiSpec({ name: "taken" }))).toBe(false);
      expect(await store.audited(newEvent(), "deleteSpec", "spec_absent")).toBe(false);
      expect(await store.audited(newEvent(), "revokeSession", "ses_absent", T0)).toBeNull();
      expect(
        await store.audited(newEvent(), "decideApproval", "apr_absent", "approved", "op", null, T0),
      ).toBeNull();
      expect(await store.audited(newEvent(), "updateSecurityContext", "default", "absent", "{}", T0)).toBe(
        false,
      );
      expect(await eventIds(store)).toEqual([]);
    });

    it("a failed event insert leaves no change: inserts", async () => {
      const store = ctx.store();
      const doomed = await doomedEvent(store);
      const before = await eventIds(store);

      const spec = apiSpec();
      const err = await rejection(store.audited(doomed, "insertSpec", spec));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ operation: "audited", conflict: true });
      expect(await store.getSpec(spec.id)).toBeNull();

      const s = session();
      await expect(store.audited(doomed, "insertSession", s)).rejects.toBeInstanceOf(StoreError);
      expect(await store.getSession(s.executionId)).toBeNull();

      const c = securityContext();
      await expect(store.audited(doomed, "insertSecurityContext", c)).rejects.toBeInstanceOf(StoreError);
      expect(await store.getSecurityContext(c.tenantId, c.name)).toBeNull();

      const w = secretWrite({ key: "audited/secret" });
      await expect(store.audited(doomed, "putSecret", w, T0)).rejects.toBeInstanceOf(StoreError);
      expect(await store.getSecret(w.tenantId, w.key)).toBeNull();

      expect(await eventIds(store)).toEqual(before);
    });

    it("a failed event insert leaves no change: updates, decisions and deletes", async () => {
      const store = ctx.store();
      const spec = apiSpec();
      await store.insertSpec(spec);
      const wf = workflow(spec.id);
      await store.insertWorkflow(wf);
      const s = session();
      await store.insertSession(s);
      const a = approval();
      await store.insertApproval(a);
      const c = securityContext();
      await store.insertSecurityContext(c);
      const doomed = await doomedEvent(store);
      const before = await eventIds(store);

      await expect(store.audited(doomed, "revokeSession", s.executionId, T0 + 1)).rejects.toBeInstanceOf(
        StoreError,
      );
      expect((await store.getSession(s.executionId))?.status).toBe("Active");

      await expect(
        store.audited(doomed, "decideApproval", a.id, "approved", "op", null, T0 + 1),
      ).rejects.toBeInstanceOf(StoreError);
      expect((await store.getApproval(a.id))?.status).toBe("pending");

      await expect(
        store.audited(doomed, "updateWorkflow", wf.id, { ...wf, description: "changed", updatedAt: T0 + 1 }),
      ).rejects.toBeInstanceOf(StoreError);
      expect(await store.getWorkflow(wf.id)).toEqual(wf);

      await expect(store.audited(doomed, "deleteWorkflow", wf.id)).rejects.toBeInstanceOf(StoreError);
      expect(await store.getWorkflow(wf.id)).toEqual(wf);

      await expect(store.audited(doomed, "deleteSecurityContext", c.tenantId, c.name)).rejects.toBeInstanceOf(
        StoreError,
      );
      expect(await store.getSecurityContext(c.tenantId, c.name)).toEqual(c);

      expect(await eventIds(store)).toEqual(before);
    });

    it("a failed change writes no event, and a conflict stays a conflict", async () => {
      const store = ctx.store();
      const spec = apiSpec();
      await store.insertSpec(spec);
      await store.insertWorkflow(workflow(spec.id));
      // The foreign key refuses deleting a spec a workflow uses.
      const err = await rejection(store.audited(newEvent(), "deleteSpec", spec.id));
      expect(err).toMatchObject({ name: "StoreError", conflict: true });
      expect(await store.getSpec(spec.id)).toEqual(spec);
      const s = session();
      await store.insertSession(s);
      await expect(store.audited(newEvent(), "insertSession", s)).rejects.toMatchObject({ conflict: true });
      expect(await eventIds(store)).toEqual([]);
    });

    it("concurrent audited creates of one name: one change, one event", async () => {
      const store = ctx.store();
      const events = Array.from({ length: 6 }, () => newEvent({ eventType: "ConfigChanged" }));
      const results = await Promise.all(
        events.map((e) => store.audited(e, "insertSecurityContext", securityContext({ name: "race" }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = events[results.indexOf(true)];
      expect((await eventsAfter(store, 0, 100)).map((e) => e.id)).toEqual([winner?.id]);
    });
  });
}
