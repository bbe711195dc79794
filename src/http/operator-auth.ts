import type { MiddlewareHandler } from "hono";
import type { OperatorIdentity, TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors.js";

/**
 * Control-plane authentication: an operator JWT as Bearer (agent tokens fail the audience
 * check) → 401 otherwise. What the operator may then do is the verb's decision
 * (`requireRole`), not this middleware's.
 */

export type OperatorEnv = { Variables: { actor: OperatorIdentity } };

export function authenticateOperator(tokens: TokenAuthority, clock: Clock): MiddlewareHandler<OperatorEnv> {
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
    c.set("actor", r.identity);
    await next();
  };
}
