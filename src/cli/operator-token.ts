import { OPERATOR_ROLES, type OperatorRole } from "../auth/tokens.js";
import { parseDuration } from "../config/duration.js";
import type { GatewayConfig } from "../config/schema.js";
import { UsageError, withCore } from "./common.js";

/** A `--ttl` such as `15m` or `1h`, at most 24 h (DESIGN §7), in seconds. */
export function ttlSeconds(text: string | undefined, fallback: string): number {
  const ttl = parseDuration(text ?? fallback);
  if (ttl === null || ttl <= 0 || ttl > 86_400)
    throw new UsageError("--ttl must be a duration such as 15m or 1h, at most 24h");
  return ttl;
}

export function operatorRole(text: string | undefined): OperatorRole {
  const role = OPERATOR_ROLES.find((r) => r === text);
  if (!role) throw new UsageError(`--role must be one of ${OPERATOR_ROLES.join(", ")}`);
  return role;
}

export interface MintRequest {
  role: OperatorRole;
  tenant: string;
  ttlSeconds: number;
  sub?: string | undefined;
}

/** An operator token signed by the gateway's own key, from the same config and database as `start`. */
export async function mintOperatorToken(config: GatewayConfig, req: MintRequest): Promise<string> {
  if (req.tenant === "*" && req.role !== "admin")
    throw new UsageError("only admin tokens may use --tenant '*'");
  return await withCore(config, async ({ tokens }) =>
    tokens.mintOperatorToken({
      sub: req.sub ?? `cli:${req.role}`,
      role: req.role,
      tenant: req.tenant,
      ttlSeconds: req.ttlSeconds,
      nowSeconds: Math.floor(Date.now() / 1000),
    }),
  );
}

/**
 * The operator token a client command sends: `--token`, else SEAL_OPERATOR_TOKEN, else one
 * minted locally for a few minutes (which needs this machine's config and database, as `token`).
 */
export async function operatorTokenFor(
  flag: string | undefined,
  config: () => GatewayConfig,
  req: Omit<MintRequest, "ttlSeconds">,
): Promise<string> {
  const given = flag ?? process.env.SEAL_OPERATOR_TOKEN;
  if (given) return given;
  return await mintOperatorToken(config(), { ...req, ttlSeconds: 300 });
}
