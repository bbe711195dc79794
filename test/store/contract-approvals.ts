/** Contract: approvals (escalated calls): pending → approved|denied → used, each step once. */
import { describe, expect, it } from "vitest";
import { StoreError, StoreUsageError } from "../../src/store/adapter-common.js";
import type { ApprovalRow } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import { approval, T0 } from "./fixtures.js";

export function approvalsContract(ctx: ContractContext): void {
  describe("approvals", () => {
    it("round-trips every field, nulls, unicode and a large summary", async () => {
      const store = ctx.store();
      const full = approval({
        summary: `{"note":"ünïcødé 👩‍💻 \\u2028","q":"'; DROP TABLE approvals; --","pad":"${"x".repeat(50_000)}"}`,
        createdAt: T0 + 1,
        expiresAt: Number.MAX_SAFE_INTEGER,
      });
      const sparse = approval({ requestId: null, summary: "" });
      const decided = approval({
        status: "used",
        decidedAt: T0 + 2,
        decidedBy: "approver@example.com",
        reason: "ok",
        usedAt: T0 + 3,
      });
      for (const a of [full, sparse, decided]) await store.insertApproval(a);
      expect(await store.getApproval(full.id)).toEqual(full);
      expect(await store.getApproval(sparse.id)).toEqual(sparse);
      expect(await store.getApproval(decided.id)).toEqual(decided);
      expect(await store.getApproval("apr_missing")).toBeNull();
      expect(await store.getApproval("%")).toBeNull();
    });

    it("refuses a duplicate id as a conflict without echoing bound values", async () => {
      const store = ctx.store();
      const a = approval();
      await store.insertApproval(a);
      const dup = approval({ id: a.id, summary: '{"token":"SECRET-LOOKING-VALUE"}' });
      const err: unknown = await store.insertApproval(dup).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      if (!(err instanceof StoreError)) return;
      expect(err).toMatchObject({ conflict: true, operation: "insertApproval" });
      for (const value of [a.id, dup.summary, dup.argumentsDigest, "SECRET-LOOKING-VALUE"]) {
        expect(err.message).not.toContain(value);
      }
      expect(await store.getApproval(a.id)).toEqual(a);
    });

    it("refuses a status outside the five known ones", async () => {
      const store = ctx.store();
      const bogus: string = "approved-by-nobody";
      const row = { ...approval(), status: bogus } as ApprovalRow;
      await expect(store.insertApproval(row)).rejects.toBeInstanceOf(StoreError);
      expect(await store.getApproval(row.id)).toBeNull();
    });

    it("lists one tenant or all with '*', newest first, by status, at most limit", async () => {
      const store = ctx.store();
      const a1 = approval({ createdAt: T0 + 1 });
      const a2 = approval({ createdAt: T0 + 3, status: "approved", decidedAt: T0 + 4, decidedBy: "u" });
      const a3 = approval({ createdAt: T0 + 2 });
      const foreign = approval({ tenantId: "other", createdAt: T0 + 5 });
      for (const a of [a1, a2, a3, foreign]) await store.insertApproval(a);
      expect(await store.listApprovals("default", undefined, 100)).toEqual([a2, a3, a1]);
      expect(await store.listApprovals("default", "pending", 100)).toEqual([a3, a1]);
      expect(await store.listApprovals("default", "approved", 100)).toEqual([a2]);
      expect(await store.listApprovals("default", "used", 100)).toEqual([]);
      expect(await store.listApprovals("*", undefined, 100)).toEqual([foreign, a2, a3, a1]);
      expect(await store.listApprovals("*", "pending", 2)).toEqual([foreign, a3]);
      expect(await store.listApprovals("default", undefined, 1)).toEqual([a2]);
      expect(await store.listApprovals("default", undefined, 0)).toEqual([]);
      expect(await store.listApprovals("other", "pending", 100)).toEqual([foreign]);
      expect(await store.listApprovals("nobody", undefined, 100)).toEqual([]);
      expect(await store.listApprovals("%", undefined, 100)).toEqual([]);
    });

    it("orders approvals created in the same millisecond the same way on every dialect", async () => {
      const store = ctx.store();
      const ids = ["apr_B", "apr_a", "apr_a-b", "apr_ab", "apr_A"];
      for (const id of ids) await store.insertApproval(approval({ id, createdAt: T0 }));
      const listed = (await store.listApprovals("default", undefined, 10)).map((a) => a.id);
      expect(listed).toEqual(["apr_ab", "apr_a-b", "apr_a", "apr_B", "apr_A"]);
    });

    it("rejects a nonsensical limit", async () => {
      const store = ctx.store();
      for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.listApprovals("*", undefined, limit)).rejects.toThrow(/limit/);
      }
    });

    it("decides a pending approval once and returns the row after", async () => {
      const store = ctx.store();
      const a = approval();
      await store.insertApproval(a);
      const approved = await store.decideApproval(a.id, "approved", "alice", "looks right", T0 + 10);
      const expected: ApprovalRow = {
        ...a,
        status: "approved",
        decidedAt: T0 + 10,
        decidedBy: "alice",
        reason: "looks right",
      };
      expect(approved).toEqual(expected);
      expect(await store.decideApproval(a.id, "denied", "mallory", "no", T0 + 20)).toBeNull();
      expect(await store.decideApproval(a.id, "approved", "mallory", null, T0 + 20)).toBeNull();
      expect(await store.getApproval(a.id)).toEqual(expected);
      expect(await store.decideApproval("apr_missing", "approved", "alice", null, T0)).toBeNull();

      const d = approval();
      await store.insertApproval(d);
      const denied = await store.decideApproval(d.id, "denied", "bob", null, T0 + 30);
      expect(denied).toEqual({ ...d, status: "denied", decidedAt: T0 + 30, decidedBy: "bob", reason: null });
      expect(await store.decideApproval(d.id, "approved", "bob", null, T0 + 31)).toBeNull();
      expect(await store.consumeApproval(d.id, T0 + 32)).toBe(false);
    });

    it("does not decide an approval that is used or expired", async () => {
      const store = ctx.store();
      for (const status of ["used", "expired"] as const) {
        const a = approval({ status });
        await store.insertApproval(a);
        expect(await store.decideApproval(a.id, "approved", "alice", null, T0)).toBeNull();
        expect(await store.getApproval(a.id)).toEqual(a);
      }
    });

    it("refuses a decision other than approved or denied, leaving the approval pending", async () => {
      const store = ctx.store();
      const a = approval();
      await store.insertApproval(a);
      for (const bogus of ["used", "expired", "pending", "APPROVED", ""]) {
        const status = bogus as "approved";
        await expect(store.decideApproval(a.id, status, "alice", null, T0)).rejects.toBeInstanceOf(
          StoreUsageError,
        );
      }
      expect(await store.getApproval(a.id)).toEqual(a);
    });

    it("lets exactly one of 20 concurrent decisions win", async () => {
      const store = ctx.store();
      const a = approval();
      await store.insertApproval(a);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.decideApproval(a.id, i % 2 === 0 ? "approved" : "denied", `approver-${i}`, null, T0 + i),
        ),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(await store.getApproval(a.id)).toEqual(winners[0]);
    });

    it("consumes an approved approval exactly once", async () => {
      const store = ctx.store();
      const a = approval();
      await store.insertApproval(a);
      expect(await store.consumeApproval(a.id, T0 + 1)).toBe(false); // still pending
      const approved = await store.decideApproval(a.id, "approved", "alice", null, T0 + 2);
      expect(await store.consumeApproval(a.id, T0 + 3)).toBe(true);
      expect(await store.getApproval(a.id)).toEqual({ ...approved, status: "used", usedAt: T0 + 3 });
      expect(await store.consumeApproval(a.id, T0 + 4)).toBe(false);
      expect((await store.getApproval(a.id))?.usedAt).toBe(T0 + 3);
      expect(await store.decideApproval(a.id, "approved", "alice", null, T0 + 5)).toBeNull();
      expect(await store.consumeApproval("apr_missing", T0)).toBe(false);
    });

    it("does not consume an approved row that already carries a use time", async () => {
      const store = ctx.store();
      const a = approval({ status: "approved", decidedAt: T0, decidedBy: "alice", usedAt: T0 + 1 });
      await store.insertApproval(a);
      expect(await store.consumeApproval(a.id, T0 + 2)).toBe(false);
      expect(await store.getApproval(a.id)).toEqual(a);
    });

    it("lets exactly one of 20 concurrent consumers run the approved call", async () => {
      const store = ctx.store();
      for (let round = 0; round < 3; round++) {
        const a = approval({ status: "approved", decidedAt: T0, decidedBy: "alice" });
        await store.insertApproval(a);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.consumeApproval(a.id, T0 + 100 + i)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const used = await store.getApproval(a.id);
        expect(used?.status).toBe("used");
        expect(used?.usedAt).toBe(T0 + 100 + results.indexOf(true));
      }
    });
  });
}
