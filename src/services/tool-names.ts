/**
 * Tool names are one namespace per tenant across kinds (DESIGN §7): the built-in `explorer`,
 * the native `system.*`, workflows and CLI tools. The reserved names are refused as problems
 * of the body; a name another kind holds is 409 before the insert — and the database holds
 * the rule too (`tool_names`, migrations 0006 SQLite / 0005 PostgreSQL), so a registration
 * racing another kind's for one name loses at the insert with the same 409.
 */
import { GatewayError } from "../errors.js";
import type { CliToolStore, ToolStore } from "../store/types.js";
import { NATIVE_PREFIX } from "./native-tools.js";

export const EXPLORER_TOOL = "explorer";

export type ToolKind = "workflow" | "cli";

const KIND_NAMES: Record<ToolKind, string> = { workflow: "a workflow", cli: "a CLI tool" };

/** Problems of a name no registration may take (`path: "name"`). */
export function reservedNameProblems(name: string): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (name === EXPLORER_TOOL) problems.push({ path: "name", message: "explorer is a built-in tool name" });
  if (name.startsWith(NATIVE_PREFIX))
    problems.push({ path: "name", message: `${NATIVE_PREFIX}* names are reserved for the native tools` });
  return problems;
}

/** 409: the name is taken — by the same kind (use PUT) or by another kind. */
export function nameTaken(name: string, holder: ToolKind, registering: ToolKind): GatewayError {
  const which = holder === registering ? " (use PUT)" : ` (${KIND_NAMES[holder]})`;
  return new GatewayError("CONFLICT", `a tool named ${JSON.stringify(name)} already exists${which}`, {
    reason: "exists",
  });
}

/** Throws 409 when any kind holds `name` in the tenant. */
export async function refuseHeldName(
  store: Pick<ToolStore, "getWorkflowByName"> & Pick<CliToolStore, "getCliToolByName">,
  tenantId: string,
  name: string,
  registering: ToolKind,
): Promise<void> {
  if (await store.getWorkflowByName(tenantId, name)) throw nameTaken(name, "workflow", registering);
  if (await store.getCliToolByName(tenantId, name)) throw nameTaken(name, "cli", registering);
}
