import { type OperatorRole, TokenAuthority } from "../auth/tokens.js";
import type { GatewayConfig } from "../config/schema.js";
import { loadKeyring } from "../keys/keyring.js";
import { resolveMasterKey } from "../keys/master-key.js";
import { createLogger } from "../log/logger.js";
import type { JwtAlg } from "../seal/jwt.js";
import { openStore } from "../store/open.js";

/**
 * The gateway's own signing keys, opened from its database under its master key, for the CLI
 * commands that mint tokens or check signatures without a running gateway.
 */
export async function withKeyring<T>(
  config: GatewayConfig,
  fn: (
    tokens: TokenAuthority,
    store: Awaited<ReturnType<typeof openStore>>,
    keyring: Awaited<ReturnType<typeof loadKeyring>>,
  ) => Promise<T>,
): Promise<T> {
  const log = createLogger("warn");
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    await store.migrate();
    const keyring = await loadKeyring(
      store,
      resolveMasterKey(
        { configured: config.secrets.master_key, devMode: config.dev_mode, dataDir: config.data_dir },
        log,
      ),
      log,
    );
    const tokens = new TokenAuthority(
      keyring,
      {
        issuer: config.seal.issuer,
        agentAudience: config.seal.agent_audience,
        operatorAudience: config.operator.audience,
        algorithms: config.seal.algorithms as JwtAlg[],
        toleranceSeconds: config.seal.clock_tolerance_seconds,
        roleClaim: config.operator.role_claim,
        tenantClaim: config.operator.tenant_claim,
      },
      [],
      [],
    );
    return await fn(tokens, store, keyring);
  } finally {
    await store.close();
  }
}

/** An operator token signed by the gateway's own key: what `seal-gateway token` prints. */
export async function mintLocalOperatorToken(
  config: GatewayConfig,
  opts: { role: OperatorRole; tenant: string; ttlSeconds: number; sub?: string },
): Promise<string> {
  return await withKeyring(config, async (tokens) =>
    tokens.mintOperatorToken({
      sub: opts.sub ?? `cli:${opts.role}`,
      role: opts.role,
      tenant: opts.tenant,
      ttlSeconds: opts.ttlSeconds,
      nowSeconds: Math.floor(Date.now() / 1000),
    }),
  );
}
