import type { MiddlewareHandler } from "hono";
import type { OperatorIdentity, OperatorRole, TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors.js";

/**
 * Control-plane authentication (operator JWTs only; agent tokens fail the audience check) and
 * role checks. Every protected route declares the least role it needs.
 */

export type Permission = "read" | "write" | "approve" | "admin";

const GRANTS: Record<OperatorRole, readonly Permission[]> = {
  viewer: ["read"],
  operator: ["read", "write"],
  approver: ["read", "approve"],
  admin: ["read", "write", "approve", "admin"],
};

export function allows(role: OperatorRole, need: Permission): boolean {
  return GRANTS[role].includes(need);
}

export type OperatorEnv = { Variables: { actor: OperatorIdentity } };

export function operatorAuth(
  tokens: TokenAuthority,
  clock: Clock,
  need: Permission,
): MiddlewareHandler<OperatorEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    // The scheme name is case-insensitive (RFC 9110 §11.1); the token68 alphabet is fixed.
    const m = /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    if (!m?.[1])
      throw new GatewayError("UNAUTHENTICATED", "an operator bearer token is required", {
        reason: "missing_token",
      });
    const r = await tokens.verifyOperatorToken(m[1], Math.floor(clock.nowMs() / 1000));
    if (!r.ok) throw new GatewayError("UNAUTHENTICATED", r.message, { reason: r.reason });
    if (!allows(r.identity.role, need)) {
      throw new GatewayError("FORBIDDEN", `role ${r.identity.role} may not ${need} here`, {
        reason: "wrong_role",
      });
    }
    c.set("actor", r.identity);
    await next();
  };
}
