/**
 * Status filters that judge expiry as the views do (src/services/sessions.ts, approvals.ts), so
 * a filtered listing is filtered in the query and pages stay full: a row whose stored status is
 * still Active (or pending/approved) but whose time has passed reads as expired.
 */
import { type AnyColumn, and, eq, gt, inArray, lte, or, type SQL } from "drizzle-orm";
import type { ApprovalStatus, SessionStatus } from "./types.js";

interface Expiring {
  status: AnyColumn;
  expiresAt: AnyColumn;
}

export function sessionStatusIs(
  t: Expiring,
  status: SessionStatus | undefined,
  at?: number,
): SQL | undefined {
  if (status === undefined) return undefined;
  if (at === undefined || status === "Revoked") return eq(t.status, status);
  if (status === "Active") return and(eq(t.status, "Active"), gt(t.expiresAt, at));
  return or(eq(t.status, "Expired"), and(eq(t.status, "Active"), lte(t.expiresAt, at)));
}

export function approvalStatusIs(
  t: Expiring,
  status: ApprovalStatus | undefined,
  at?: number,
): SQL | undefined {
  if (status === undefined) return undefined;
  if (at === undefined || status === "denied" || status === "used") return eq(t.status, status);
  if (status === "expired")
    return or(eq(t.status, "expired"), and(inArray(t.status, ["pending", "approved"]), lte(t.expiresAt, at)));
  return and(eq(t.status, status), gt(t.expiresAt, at));
}
