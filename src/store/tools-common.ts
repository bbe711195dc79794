/** Pieces both adapters share for REST tools (OpenAPI specs and workflows). */
import { type AnyColumn, and, eq } from "drizzle-orm";
import type { CliToolRow, WorkflowRow } from "./types.js";

export type WorkflowPatch = Pick<
  WorkflowRow,
  "description" | "apiSpecId" | "document" | "hash" | "updatedAt"
>;

/**
 * The columns an update may change, copied one by one: a caller handing in a whole row must not
 * move the workflow to another tenant, rename it (its tool name) or rewrite its creation time.
 */
export function workflowPatch(patch: WorkflowPatch): WorkflowPatch {
  return {
    description: patch.description,
    apiSpecId: patch.apiSpecId,
    document: patch.document,
    hash: patch.hash,
    updatedAt: patch.updatedAt,
  };
}

export function byTenantName(
  table: { tenantId: AnyColumn; name: AnyColumn },
  tenantId: string,
  name: string,
) {
  return and(eq(table.tenantId, tenantId), eq(table.name, name));
}

export type CliToolPatch = Pick<CliToolRow, "document" | "hash" | "updatedAt">;

/** As `workflowPatch`: an update never renames, re-tenants or re-dates a CLI tool. */
export function cliToolPatch(patch: CliToolPatch): CliToolPatch {
  return { document: patch.document, hash: patch.hash, updatedAt: patch.updatedAt };
}
