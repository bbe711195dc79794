/**
 * The operator token, held in memory and in sessionStorage — never localStorage, never a
 * cookie, never a URL. sessionStorage is per tab and is cleared when the tab closes, so a
 * reload keeps the operator signed in but the token does not outlive the tab (docs/console.md).
 * The role and tenant are read from the token's payload for display only: the API decides.
 */

export type Role = "admin" | "approver" | "operator" | "viewer";
const ROLES: readonly Role[] = ["admin", "approver", "operator", "viewer"];
const STORAGE_KEY = "seal-console.operator-token";
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface Session {
  token: string;
  sub: string;
  role: Role | null;
  tenant: string;
  /** Unix seconds, when the token says. */
  exp: number | null;
}

let current: Session | null = null;
const listeners = new Set<() => void>();

function decodePart(part: string): Record<string, unknown> | null {
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (ch) => ch.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Reads a token's claims for display; null when it is not a JWT at all. */
export function describeToken(token: string): Session | null {
  const trimmed = token.trim();
  if (!JWT_SHAPE.test(trimmed)) return null;
  const claims = decodePart(trimmed.split(".")[1] ?? "");
  if (!claims) return null;
  const role = ROLES.find((r) => r === claims.role) ?? null;
  return {
    token: trimmed,
    sub: typeof claims.sub === "string" ? claims.sub : "(unknown)",
    role,
    tenant: typeof claims.tenant_id === "string" ? claims.tenant_id : "default",
    exp: typeof claims.exp === "number" ? claims.exp : null,
  };
}

export function session(): Session | null {
  return current;
}

export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(): void {
  for (const fn of listeners) fn();
}

export function signIn(s: Session): void {
  current = s;
  try {
    sessionStorage.setItem(STORAGE_KEY, s.token);
  } catch {
    // storage disabled: the token lives in memory only, and a reload signs out
  }
  changed();
}

export function signOut(): void {
  current = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
  changed();
}

/** The token of this tab, after a reload. */
export function restoreSession(): void {
  try {
    const token = sessionStorage.getItem(STORAGE_KEY);
    current = token ? describeToken(token) : null;
  } catch {
    current = null;
  }
}

/** Display only: whether to offer a button the API would refuse anyway. */
export function may(s: Session | null, action: "approve" | "write" | "all-tenants"): boolean {
  if (!s?.role) return false;
  if (action === "approve") return s.role === "approver" || s.role === "admin";
  if (action === "write") return s.role === "operator" || s.role === "admin";
  return s.role === "admin" && s.tenant === "*";
}
