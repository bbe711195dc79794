/**
 * REST tools on SQLite: registered OpenAPI specs and the workflows built on them. Names are
 * unique per tenant by constraint, so an insert is one statement that either claims the name or
 * does nothing; the foreign key (ON DELETE RESTRICT) keeps a spec that workflows use.
 */
import { and, count, eq, getTableColumns, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { apiSpecs, workflows } from "../../../drizzle/sqlite/schema.js";
import { fromSpecRow, toSpecMeta, toSpecRow } from "../adapter-common.js";
import type { SyncImpl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { byTenantName, workflowPatch } from "../tools-common.js";
import type { ToolStore } from "../types.js";

export function sqliteTools(db: BetterSQLite3Database): SyncImpl<ToolStore> {
  const s = apiSpecs;
  const w = workflows;
  const specKey = byName("sqlite", s.tenantId, s.name);
  const workflowKey = byName("sqlite", w.tenantId, w.name);
  // Read on every workflow or explorer call: prepared once, lazily (the tables must exist).
  let hot: ReturnType<typeof prepareHot> | undefined;
  const prepared = () => {
    hot ??= prepareHot(db);
    return hot;
  };

  return {
    insertSpec: (row) =>
      db
        .insert(s)
        .values(fromSpecRow(row))
        .onConflictDoNothing({ target: [s.tenantId, s.name] })
        .run().changes === 1,
    getSpec: (id) => {
      const row = db.select().from(s).where(eq(s.id, id)).get();
      return row ? toSpecRow(row) : null;
    },
    getSpecMeta: (id) => {
      const row = prepared().specMeta.get({ id });
      return row ? toSpecMeta(row) : null;
    },
    getSpecByName: (tenantId, name) => {
      const row = db
        .select()
        .from(s)
        .where(byTenantName(s, tenantId, name))
        .get();
      return row ? toSpecRow(row) : null;
    },
    listSpecs: (tenantId, page) =>
      limited(
        db
          .select()
          .from(s)
          .where(
            and(
              tenantId === "*" ? undefined : eq(s.tenantId, tenantId),
              specKey.after(nameValues(page?.after), "asc"),
            ),
          )
          .orderBy(...specKey.order("asc"))
          .$dynamic(),
        page,
      )
        .all()
        .map(toSpecRow),
    deleteSpec: (id) => db.delete(s).where(eq(s.id, id)).run().changes === 1,
    countWorkflowsForSpec: (specId) => {
      const row = db.select({ n: count() }).from(w).where(eq(w.apiSpecId, specId)).get();
      return row?.n ?? 0;
    },

    insertWorkflow: (row) =>
      db
        .insert(w)
        .values(row)
        .onConflictDoNothing({ target: [w.tenantId, w.name] })
        .run().changes === 1,
    getWorkflow: (id) => db.select().from(w).where(eq(w.id, id)).get() ?? null,
    getWorkflowByName: (tenantId, name) => prepared().workflowByName.get({ tenantId, name }) ?? null,
    listWorkflows: (tenantId, page) =>
      limited(
        db
          .select()
          .from(w)
          .where(
            and(
              tenantId === "*" ? undefined : eq(w.tenantId, tenantId),
              workflowKey.after(nameValues(page?.after), "asc"),
            ),
          )
          .orderBy(...workflowKey.order("asc"))
          .$dynamic(),
        page,
      ).all(),
    updateWorkflow: (id, patch) =>
      db.update(w).set(workflowPatch(patch)).where(eq(w.id, id)).run().changes === 1,
    deleteWorkflow: (id) => db.delete(w).where(eq(w.id, id)).run().changes === 1,
  };
}

function prepareHot(db: BetterSQLite3Database) {
  const { document: _document, ...meta } = getTableColumns(apiSpecs);
  return {
    specMeta: db
      .select(meta)
      .from(apiSpecs)
      .where(eq(apiSpecs.id, sql.placeholder("id")))
      .prepare(),
    workflowByName: db
      .select()
      .from(workflows)
      .where(
        and(eq(workflows.tenantId, sql.placeholder("tenantId")), eq(workflows.name, sql.placeholder("name"))),
      )
      .prepare(),
  };
}
