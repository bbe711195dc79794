/**
 * REST tools on SQLite: registered OpenAPI specs and the workflows built on them. Names are
 * unique per tenant by constraint, so an insert is one statement that either claims the name or
 * does nothing; the foreign key (ON DELETE RESTRICT) keeps a spec that workflows use.
 */
import { count, eq } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { apiSpecs, workflows } from "../../../drizzle/sqlite/schema.js";
import { fromSpecRow, guard, toSpecRow } from "../adapter-common.js";
import { byTenantName, type ToolsPart, workflowPatch } from "../tools-common.js";

export function sqliteTools(db: BetterSQLite3Database): ToolsPart {
  const s = apiSpecs;
  const w = workflows;

  return {
    insertSpec: (row) =>
      guard(
        "insertSpec",
        () =>
          // Only the name is a conflict target: a reused id is a caller bug and must throw.
          db
            .insert(s)
            .values(fromSpecRow(row))
            .onConflictDoNothing({ target: [s.tenantId, s.name] })
            .run().changes === 1,
      ),
    getSpec: (id) =>
      guard("getSpec", () => {
        const row = db.select().from(s).where(eq(s.id, id)).get();
        return row ? toSpecRow(row) : null;
      }),
    getSpecByName: (tenantId, name) =>
      guard("getSpecByName", () => {
        const row = db
          .select()
          .from(s)
          .where(byTenantName(s, tenantId, name))
          .get();
        return row ? toSpecRow(row) : null;
      }),
    listSpecs: (tenantId) =>
      guard("listSpecs", () =>
        db
          .select()
          .from(s)
          .where(tenantId === "*" ? undefined : eq(s.tenantId, tenantId))
          .orderBy(s.tenantId, s.name)
          .all()
          .map(toSpecRow),
      ),
    deleteSpec: (id) => guard("deleteSpec", () => db.delete(s).where(eq(s.id, id)).run().changes === 1),
    countWorkflowsForSpec: (specId) =>
      guard("countWorkflowsForSpec", () => {
        const row = db.select({ n: count() }).from(w).where(eq(w.apiSpecId, specId)).get();
        return row?.n ?? 0;
      }),

    insertWorkflow: (row) =>
      guard(
        "insertWorkflow",
        () =>
          db
            .insert(w)
            .values(row)
            .onConflictDoNothing({ target: [w.tenantId, w.name] })
            .run().changes === 1,
      ),
    getWorkflow: (id) => guard("getWorkflow", () => db.select().from(w).where(eq(w.id, id)).get() ?? null),
    getWorkflowByName: (tenantId, name) =>
      guard(
        "getWorkflowByName",
        () =>
          db
            .select()
            .from(w)
            .where(byTenantName(w, tenantId, name))
            .get() ?? null,
      ),
    listWorkflows: (tenantId) =>
      guard("listWorkflows", () =>
        db
          .select()
          .from(w)
          .where(tenantId === "*" ? undefined : eq(w.tenantId, tenantId))
          .orderBy(w.tenantId, w.name)
          .all(),
      ),
    updateWorkflow: (id, patch) =>
      guard(
        "updateWorkflow",
        () => db.update(w).set(workflowPatch(patch)).where(eq(w.id, id)).run().changes === 1,
      ),
    deleteWorkflow: (id) =>
      guard("deleteWorkflow", () => db.delete(w).where(eq(w.id, id)).run().changes === 1),
  };
}
