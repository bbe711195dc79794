import type { OperatorRole } from "./tokens.js";

/**
 * What each operator role may do (DESIGN §7). Every verb names the least role it needs:
 * `viewer` reads, `operator` writes, `approver` decides approvals, `admin` does everything
 * (secrets, configuration). `orchestrator` only invokes tools for existing sessions over gRPC
 * and holds nothing else — not even read — and no other role holds `invoke`, not even admin: a
 * token that may act as any agent of its tenant is a trust of its own, given on purpose.
 * Framework-free: HTTP, gRPC and the CLI all ask this table.
 */

export type Permission = "read" | "write" | "approve" | "admin" | "invoke";

const GRANTS: Record<OperatorRole, readonly Permission[]> = {
  viewer: ["read"],
  operator: ["read", "write"],
  approver: ["read", "approve"],
  admin: ["read", "write", "approve", "admin"],
  orchestrator: ["invoke"],
};

/** The permission a least role stands for. */
const PERMISSION_OF: Record<OperatorRole, Permission> = {
  viewer: "read",
  operator: "write",
  approver: "approve",
  admin: "admin",
  orchestrator: "invoke",
};

export function allows(role: OperatorRole, need: Permission): boolean {
  return GRANTS[role].includes(need);
}

/** True when `role` may do what `least` may (admin ⊇ operator ⊇ viewer; admin ⊇ approver ⊇ viewer). */
export function satisfies(role: OperatorRole, least: OperatorRole): boolean {
  return allows(role, PERMISSION_OF[least]);
}
