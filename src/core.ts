import { issuerKeys } from "./auth/issuer-keys.js";
import { TokenAuthority } from "./auth/tokens.js";
import type { GatewayConfig } from "./config/schema.js";
import type { MasterKey } from "./crypto/sealed-box.js";
import { type Keyring, loadKeyring } from "./keys/keyring.js";
import { masterKeySource, resolveMasterKey } from "./keys/master-key.js";
import type { Logger } from "./log/logger.js";
import type { JwtAlg } from "./seal/jwt.js";
import type { StoreLog } from "./store/adapter-common.js";
import { openStore, sqliteDriverRisk } from "./store/open.js";
import type { Store } from "./store/types.js";

/**
 * The core every entry point shares: the migrated store, the master key, the gateway's signing
 * keyring and the token authority over them. `start` builds the gateway on it; every CLI
 * command that signs or reads (token, session, audit verify) opens the same core, so a token
 * minted by the CLI verifies on the server by construction.
 */
export interface Core {
  /** The raw store (not wrapped by the availability guard). */
  store: Store;
  master: MasterKey;
  keyring: Keyring;
  tokens: TokenAuthority;
  close(): Promise<void>;
}

export interface CoreOptions {
  log: Logger;
  nowMs?: number;
  /** Store log lines (the server logs where the store opened; the CLI stays quiet). */
  storeLog?: StoreLog;
}

export async function buildCore(config: GatewayConfig, opts: CoreOptions): Promise<Core> {
  const { log } = opts;
  const store = await openStore({
    url: config.database.url,
    durability: config.audit.durability,
    pool: {
      poolSize: config.database.pool_size,
      statementTimeoutMs: config.database.statement_timeout_ms,
      idleInTransactionTimeoutMs: config.database.idle_in_transaction_timeout_ms,
      connectTimeoutSeconds: config.database.connect_timeout_seconds,
    },
    ...(opts.storeLog ? { log: opts.storeLog } : {}),
  });
  try {
    if (store.dialect === "sqlite" && sqliteDriverRisk) log.warn(sqliteDriverRisk, { node: process.version });
    await store.migrate();
    const master = resolveMasterKey(masterKeySource(config), log);
    const keyring = await loadKeyring(store, master, log, opts.nowMs ?? Date.now());
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
        verifiedCacheSeconds: config.seal.token_cache_seconds,
        verifiedCacheEntries: config.seal.token_cache_entries,
      },
      config.seal.issuers.map((i) => issuerKeys(i)),
      config.operator.issuers.map((i) => issuerKeys(i)),
    );
    return { store, master, keyring, tokens, close: () => store.close() };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
