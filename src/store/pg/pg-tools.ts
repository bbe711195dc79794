/**
 * REST tools on PostgreSQL: registered OpenAPI specs and the workflows built on them. Several
 * instances may register at once, so a name is claimed by the unique (tenant, name) index with
 * ON CONFLICT DO NOTHING, and the foreign key (ON DELETE RESTRICT) keeps a spec that workflows
 * use even when a workflow is registered between a caller's check and its delete.
 */
import { and, count, eq, getTableColumns, sql } from "drizzle-orm";
import { apiSpecs, workflows } from "../../../drizzle/pg/schema.js";
import { fromSpecRow, toSpecMeta, toSpecRow } from "../adapter-common.js";
import type { Impl } from "../guard.js";
import { byName, limited, nameValues } from "../keyset.js";
import { byTenantName, workflowPatch } from "../tools-common.js";
import type { ToolStore } from "../types.js";
import type { PgDb } from "./pg-db.js";

export function pgTools(db: PgDb): Impl<ToolStore> {
  const s = apiSpecs;
  const w = workflows;
  // Byte order, as SQLite sorts: the database's locale collation would differ by server.
  const specKey = byName("postgres", s.tenantId, s.name);
  const workflowKey = byName("postgres", w.tenantId, w.name);
  // Read on every workflow or explorer call: prepared once, lazily.
  let hot: ReturnType<typeof prepareHot> | undefined;
  const prepared = () => {
    hot ??= prepareHot(db);
    return hot;
  };

  return {
    insertSpec: async (row) => {
      // Only the name is a conflict target: a reused id is a caller bug and must throw.
      const inserted = await db
        .insert(s)
        .values(fromSpecRow(row))
        .onConflictDoNothing({ target: [s.tenantId, s.name] })
        .returning({ id: s.id });
      return inserted.length === 1;
    },
    getSpec: async (id) => {
      const [row] = await db.select().from(s).where(eq(s.id, id));
      return row ? toSpecRow(row) : null;
    },
    getSpecMeta: async (id) => {
      const [row] = await prepared().specMeta.execute({ id });
      return row ? toSpecMeta(row) : null;
    },
    getSpecByName: async (tenantId, name) => {
      const [row] = await db
        .select()
        .from(s)
        .where(byTenantName(s, tenantId, name));
      return row ? toSpecRow(row) : null;
    },
    listSpecs: async (tenantId, page) => {
      const rows = await limited(
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
      );
      return rows.map(toSpecRow);
    },
    deleteSpec: async (id) => {
      const deleted = await db.delete(s).where(eq(s.id, id)).returning({ id: s.id });
      return deleted.length === 1;
    },
    countWorkflowsForSpec: async (specId) => {
      const [row] = await db.select({ n: count() }).from(w).where(eq(w.apiSpecId, specId));
      return row?.n ?? 0;
    },

    insertWorkflow: async (row) => {
      const inserted = await db
        .insert(w)
        .values(row)
        .onConflictDoNothing({ target: [w.tenantId, w.name] })
        .returning({ id: w.id });
      return inserted.length === 1;
    },
    getWorkflow: async (id) => {
      const [row] = await db.select().from(w).where(eq(w.id, id));
      return row ?? null;
    },
    getWorkflowByName: async (tenantId, name) => {
      const [row] = await prepared().workflowByName.execute({ tenantId, name });
      return row ?? null;
    },
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
      ),
    updateWorkflow: async (id, patch) => {
      const updated = await db
        .update(w)
        .set(workflowPatch(patch))
        .where(eq(w.id, id))
        .returning({ id: w.id });
      return updated.length === 1;
    },
    deleteWorkflow: async (id) => {
      const deleted = await db.delete(w).where(eq(w.id, id)).returning({ id: w.id });
      return deleted.length === 1;
    },
  };
}

function prepareHot(db: PgDb) {
  const { document: _document, ...meta } = getTableColumns(apiSpecs);
  return {
    specMeta: db
      .select(meta)
      .from(apiSpecs)
      .where(eq(apiSpecs.id, sql.placeholder("id")))
      .prepare("seal_spec_meta"),
    workflowByName: db
      .select()
      .from(workflows)
      .where(
        and(eq(workflows.tenantId, sql.placeholder("tenantId")), eq(workflows.name, sql.placeholder("name"))),
      )
      .prepare("seal_workflow_by_name"),
  };
}
