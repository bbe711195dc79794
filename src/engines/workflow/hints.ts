import { findOperation } from "../openapi/load-spec.js";
import type { IndexedSpec } from "../openapi/types.js";
import type { WorkflowDefinition } from "./definition.js";

/**
 * MCP annotations from the HTTP methods a workflow's steps send: read-only when every step is
 * a GET (or HEAD), destructive when any step is a DELETE. Clients use them to decide whether
 * to ask the user first; the gateway's own decision is still the security context.
 */
export function workflowHints(
  def: WorkflowDefinition,
  spec: IndexedSpec,
): { readOnlyHint?: true; destructiveHint?: true } {
  const methods = def.steps.map((step) => {
    const op =
      step.operation_id !== undefined
        ? findOperation(spec, { operationId: step.operation_id })
        : findOperation(spec, { method: step.method ?? "", path: step.path ?? "" });
    return (op?.method ?? step.method ?? "").toUpperCase();
  });
  const readOnly = methods.length > 0 && methods.every((m) => m === "GET" || m === "HEAD");
  if (readOnly) return { readOnlyHint: true };
  // Anything else is left to MCP's defaults (may write, may destroy): never claim "harmless".
  return methods.includes("DELETE") ? { destructiveHint: true } : {};
}
