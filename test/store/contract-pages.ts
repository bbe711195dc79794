/**
 * Contract: keyset pages of every listing (docs/api.md "Pagination"). Paging through a listing
 * yields each row once, in the listing's order, whatever is written between pages; a page never
 * leaves its tenant; the order is byte order on both dialects (a locale collation would sort
 * "B", "_" and "a" differently and skip or repeat rows across pages).
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CreatedKey, NameKey, Page, Store } from "../../src/store/types.js";
import type { ContractContext } from "./contract.js";
import {
  agentKey,
  apiSpec,
  approval,
  cliTool,
  credentialBinding,
  secretWrite,
  securityContext,
  session,
  T0,
  uid,
  workflow,
} from "./fixtures.js";

interface Row {
  id: string;
  tenantId: string;
}

interface Listing<K> {
  name: string;
  /** Inserts row number `i` of `tenant`; returns its id (what identifies it in a listing). */
  insert(store: Store, tenant: string, i: number): Promise<string>;
  list(store: Store, tenant: string, page?: Page<K>): Promise<Row[]>;
  keyOf(row: Row): K;
  /** Ascending, or newest first (approvals). */
  order: "asc" | "desc";
  sortKey(row: Row): (string | number)[];
}

/** Names whose byte order differs from a locale's ("-" < "B" < "_" < "a"). */
const STEMS = ["a", "B", "_x", "-y", "b", "A", "z9", "Z_"];
const nameOf = (i: number) =>
  `${STEMS[i % STEMS.length]}${String(i).padStart(3, "0")}-${uid("n").slice(2, 8)}`;
/** Creation times with ties, so the id breaks them. */
const createdOf = (i: number) => T0 + (i % 4) * 1000;

type Keyed = Row & Record<string, unknown>;
const asRows = <T extends object>(rows: T[], id: (r: T) => string, tenant: (r: T) => string): Row[] =>
  rows.map((r) => ({ ...(r as Keyed), id: id(r), tenantId: tenant(r) }));

function byName(r: Row): NameKey {
  return { tenantId: r.tenantId, name: String((r as Keyed).name ?? (r as Keyed).key) };
}
function byCreation(r: Row): CreatedKey {
  return { createdAt: Number((r as Keyed).createdAt), id: r.id };
}
const nameSort = (r: Row) => [r.tenantId, byName(r).name];
const createdSort = (r: Row) => [Number((r as Keyed).createdAt), r.id];

const specOf = new WeakMap<Store, Map<string, string>>();
async function specFor(store: Store, tenant: string): Promise<string> {
  const known = specOf.get(store) ?? new Map<string, string>();
  specOf.set(store, known);
  const existing = known.get(tenant);
  if (existing) return existing;
  const spec = apiSpec({ tenantId: tenant, name: uid("spec") });
  await store.insertSpec(spec);
  known.set(tenant, spec.id);
  return spec.id;
}

const LISTINGS: Listing<NameKey | CreatedKey>[] = [
  {
    name: "sessions",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = session({ tenantId, createdAt: createdOf(i) });
      await store.insertSession(row);
      return row.executionId;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listSessions(tenant, undefined, page ? { page: page as Page<CreatedKey> } : {}),
        (r) => r.executionId,
        (r) => r.tenantId,
      ),
    keyOf: byCreation,
    sortKey: createdSort,
  },
  {
    name: "agent keys",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = agentKey({ tenantId, createdAt: createdOf(i) });
      await store.insertAgentKey(row);
      return row.id;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listAgentKeys(tenant, undefined, page as Page<CreatedKey> | undefined),
        (r) => r.id,
        (r) => r.tenantId,
      ),
    keyOf: byCreation,
    sortKey: createdSort,
  },
  {
    name: "approvals",
    order: "desc",
    insert: async (store, tenantId, i) => {
      const row = approval({ tenantId, createdAt: createdOf(i) });
      await store.insertApproval(row);
      return row.id;
    },
    list: async (store, tenant, page) => {
      const before = page?.after as CreatedKey | undefined;
      const rows = await store.listApprovals(
        tenant,
        undefined,
        page?.limit ?? 1_000_000,
        before ? { before } : {},
      );
      return asRows(
        rows,
        (r) => r.id,
        (r) => r.tenantId,
      );
    },
    keyOf: byCreation,
    sortKey: createdSort,
  },
  {
    name: "security contexts",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = securityContext({ tenantId, name: nameOf(i) });
      await store.insertSecurityContext(row);
      return row.name;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listSecurityContexts(tenant, page as Page<NameKey> | undefined),
        (r) => r.name,
        (r) => r.tenantId,
      ),
    keyOf: byName,
    sortKey: nameSort,
  },
  {
    name: "specs",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = apiSpec({ tenantId, name: nameOf(i) });
      await store.insertSpec(row);
      return row.id;
    },
    list: async (store, tenant, page) =>
      asRows(
        // The workflows' specs are rows of this table too: they are left out by name.
        (await store.listSpecs(tenant, page as Page<NameKey> | undefined)).filter(
          (r) => !r.name.startsWith("spec_"),
        ),
        (r) => r.id,
        (r) => r.tenantId,
      ),
    keyOf: byName,
    sortKey: nameSort,
  },
  {
    name: "workflows",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = workflow(await specFor(store, tenantId), { tenantId, name: nameOf(i) });
      await store.insertWorkflow(row);
      return row.id;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listWorkflows(tenant, page as Page<NameKey> | undefined),
        (r) => r.id,
        (r) => r.tenantId,
      ),
    keyOf: byName,
    sortKey: nameSort,
  },
  {
    name: "CLI tools",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = cliTool({ tenantId, name: nameOf(i) });
      await store.insertCliTool(row);
      return row.id;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listCliTools(tenant, page as Page<NameKey> | undefined),
        (r) => r.id,
        (r) => r.tenantId,
      ),
    keyOf: byName,
    sortKey: nameSort,
  },
  {
    name: "credential bindings",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const row = credentialBinding({ tenantId, createdAt: createdOf(i) });
      await store.insertCredentialBinding(row);
      return row.id;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listCredentialBindings(tenant, page as Page<CreatedKey> | undefined),
        (r) => r.id,
        (r) => r.tenantId,
      ),
    keyOf: byCreation,
    sortKey: createdSort,
  },
  {
    name: "secrets",
    order: "asc",
    insert: async (store, tenantId, i) => {
      const key = `k/${nameOf(i)}`;
      await store.putSecret(secretWrite({ tenantId, key }), T0);
      return key;
    },
    list: async (store, tenant, page) =>
      asRows(
        await store.listSecrets(tenant, page as Page<NameKey> | undefined),
        (r) => r.key,
        (r) => r.tenantId,
      ),
    keyOf: byName,
    sortKey: nameSort,
  },
];

/** Byte order of UTF-8 text (the ASCII test names: code unit order is byte order). */
function compareKeys(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

async function walk<K>(
  store: Store,
  listing: Listing<K>,
  tenant: string,
  limit: number,
  between: (page: number) => Promise<void> = async () => {},
): Promise<Row[]> {
  const out: Row[] = [];
  let after: K | undefined;
  for (let n = 0; n < 1000; n++) {
    const page = await listing.list(store, tenant, after === undefined ? { limit } : { after, limit });
    expect(page.length).toBeLessThanOrEqual(limit);
    out.push(...page);
    const last = page.at(-1);
    if (page.length < limit || last === undefined) return out;
    after = listing.keyOf(last);
    await between(n);
  }
  throw new Error("paging did not end");
}

export function pagesContract(ctx: ContractContext): void {
  describe("keyset pages", () => {
    for (const listing of LISTINGS) {
      const sorted = (rows: Row[]) => {
        const s = [...rows].sort((a, b) => compareKeys(listing.sortKey(a), listing.sortKey(b)));
        return listing.order === "asc" ? s : s.reverse();
      };

      it(`${listing.name}: every row once, in order, within its tenant, at any page size`, async () => {
        const store = ctx.store();
        const tenants = ["pg-a", "pg-b"];
        for (let i = 0; i < 23; i++) await listing.insert(store, tenants[i % 3 === 0 ? 1 : 0] as string, i);
        const whole = await listing.list(store, "*");
        expect(whole).toHaveLength(23);
        expect(whole.map((r) => r.id)).toEqual(sorted(whole).map((r) => r.id));
        for (const limit of [1, 4, 5, 22, 23, 24]) {
          for (const tenant of [...tenants, "*"]) {
            const expected = whole.filter((r) => tenant === "*" || r.tenantId === tenant).map((r) => r.id);
            const ids = (await walk(store, listing, tenant, limit)).map((r) => r.id);
            expect(ids).toEqual(expected);
          }
        }
        expect(await walk(store, listing, "pg-nobody", 5)).toEqual([]);
      });

      it(`${listing.name}: rows written between pages neither repeat nor hide existing ones`, async () => {
        const store = ctx.store();
        for (let i = 0; i < 20; i++) await listing.insert(store, "pg-a", i);
        const before = (await listing.list(store, "pg-a")).map((r) => r.id);
        let next = 100;
        const seen = await walk(store, listing, "pg-a", 3, async () => {
          // Rows that sort anywhere: before the position, after it, and in another tenant.
          for (let k = 0; k < 3; k++) await listing.insert(store, k === 2 ? "pg-b" : "pg-a", next++);
        });
        const ids = seen.map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(seen.every((r) => r.tenantId === "pg-a")).toBe(true);
        expect(ids.filter((id) => before.includes(id))).toEqual(before);
        expect(ids).toEqual(sorted(seen).map((r) => r.id));
      });

      it(`${listing.name}: a position past the end is an empty page; a limit of 0 is empty`, async () => {
        const store = ctx.store();
        for (let i = 0; i < 3; i++) await listing.insert(store, "pg-a", i);
        const all = await listing.list(store, "pg-a");
        const last = all.at(-1) as Row;
        expect(await listing.list(store, "pg-a", { after: listing.keyOf(last), limit: 10 })).toEqual([]);
        expect(await listing.list(store, "pg-a", { limit: 0 })).toEqual([]);
        await expect(listing.list(store, "pg-a", { limit: -1 })).rejects.toThrow(/limit/);
        // A position is a key, not an offset: after the first row come all the others.
        const first = all[0] as Row;
        const after = await listing.list(store, "pg-a", { after: listing.keyOf(first), limit: 10 });
        expect(after.map((r) => r.id)).toEqual(all.slice(1).map((r) => r.id));
      });
    }

    it("a key holding quotes, SQL and non-ASCII text is a bound value, not SQL", async () => {
      const store = ctx.store();
      await store.insertSecurityContext(securityContext({ tenantId: "pg-a", name: "a" }));
      await store.insertSecurityContext(securityContext({ tenantId: "pg-a", name: "z" }));
      const hostile = `m'); DROP TABLE security_contexts; -- ü${randomBytes(2).toString("hex")}`;
      const rows = await store.listSecurityContexts("pg-a", {
        after: { tenantId: "pg-a", name: hostile },
        limit: 5,
      });
      expect(rows.map((r) => r.name)).toEqual(["z"]);
      expect(await store.listSecurityContexts("pg-a")).toHaveLength(2);
    });

    it("sessions: a status judged at a time pages only the rows the view shows with it", async () => {
      const store = ctx.store();
      const at = T0 + 10_000;
      const live = session({ tenantId: "pg-a", createdAt: T0 + 1, expiresAt: at + 1 });
      const lapsed = session({ tenantId: "pg-a", createdAt: T0 + 2, expiresAt: at });
      const stored = session({ tenantId: "pg-a", createdAt: T0 + 3, status: "Expired" });
      const revoked = session({ tenantId: "pg-a", createdAt: T0 + 4, status: "Revoked", revokedAt: T0 + 5 });
      for (const s of [live, lapsed, stored, revoked]) await store.insertSession(s);
      const ids = async (status: "Active" | "Expired" | "Revoked") =>
        (await store.listSessions("pg-a", status, { at, page: { limit: 10 } })).map((s) => s.executionId);
      expect(await ids("Active")).toEqual([live.executionId]);
      expect(await ids("Expired")).toEqual([lapsed.executionId, stored.executionId]);
      expect(await ids("Revoked")).toEqual([revoked.executionId]);
    });

    it("approvals: a status judged at a time pages only the rows the view shows with it", async () => {
      const store = ctx.store();
      const at = T0 + 10_000;
      const open = approval({ tenantId: "pg-a", createdAt: T0 + 1, expiresAt: at + 1 });
      const lapsed = approval({ tenantId: "pg-a", createdAt: T0 + 2, expiresAt: at });
      const grantedLapsed = approval({
        tenantId: "pg-a",
        createdAt: T0 + 3,
        status: "approved",
        expiresAt: at,
      });
      const granted = approval({
        tenantId: "pg-a",
        createdAt: T0 + 4,
        status: "approved",
        expiresAt: at + 5,
      });
      const used = approval({ tenantId: "pg-a", createdAt: T0 + 5, status: "used", expiresAt: at });
      for (const a of [open, lapsed, grantedLapsed, granted, used]) await store.insertApproval(a);
      const ids = async (status: "pending" | "approved" | "expired" | "used") =>
        (await store.listApprovals("pg-a", status, 10, { at })).map((a) => a.id);
      expect(await ids("pending")).toEqual([open.id]);
      expect(await ids("approved")).toEqual([granted.id]);
      expect(await ids("expired")).toEqual([grantedLapsed.id, lapsed.id]);
      expect(await ids("used")).toEqual([used.id]);
      // Without a time, the stored status is compared (the pre-existing behaviour).
      expect((await store.listApprovals("pg-a", "pending", 10)).map((a) => a.id)).toEqual([
        lapsed.id,
        open.id,
      ]);
    });
  });
}
