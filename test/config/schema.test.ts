import { describe, expect, it } from "vitest";
import type { GatewayConfigInput } from "../../src/config/schema.js";
import { GatewayConfig } from "../../src/config/schema.js";

const MASTER_KEY = Buffer.alloc(32, 9).toString("base64");

function problems(input: unknown): string[] {
  const result = GatewayConfig.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("GatewayConfig defaults", () => {
  it("gives a complete config from nothing", () => {
    const config = GatewayConfig.parse({});
    expect(config.server).toEqual({
      host: "127.0.0.1",
      port: 8089,
      body_limit_bytes: 1_048_576,
      max_depth: 64,
      trust_proxy: false,
      shutdown_grace_ms: 10_000,
    });
    expect(config.database).toEqual({
      url: "sqlite://./data/gateway.db",
      pool_size: 10,
      statement_timeout_ms: 30_000,
      idle_in_transaction_timeout_ms: 60_000,
      connect_timeout_seconds: 10,
    });
    expect(config.data_dir).toBe("./data");
    expect(config.dev_mode).toBe(true);
    expect(config.seal).toEqual({
      freshness_seconds: 30,
      clock_tolerance_seconds: 5,
      replay_scope: "envelope",
      algorithms: ["EdDSA", "RS256", "ES256"],
      agent_audience: "seal-gateway/agent",
      issuer: "seal-gateway",
      token_ttl: 3600,
      replay_sweep_interval_ms: 30_000,
      token_cache_seconds: 300,
      token_cache_entries: 10_000,
      issuers: [],
    });
    expect(config.operator).toEqual({
      audience: "seal-gateway/operator",
      role_claim: "role",
      tenant_claim: "tenant_id",
      issuers: [],
    });
    expect(config.egress).toEqual({
      allow_networks: [],
      connect_timeout_ms: 5000,
      request_timeout_ms: 30_000,
      max_response_bytes: 10_485_760,
    });
    expect(config.secrets).toEqual({ static_backend: "builtin", previous_master_keys: [], backends: {} });
    expect(config.audit).toEqual({
      durability: "normal",
      seal_interval_ms: 1000,
      seal_settle_ms: 2000,
      preauth_rate_per_minute: 60,
      summary_interval_ms: 60_000,
      stream_poll_ms: 250,
      stream_heartbeat_ms: 15_000,
      stream_buffer_bytes: 1_048_576,
      stream_max_clients: 100,
    });
    expect(config.cli).toEqual({
      socket_path: "/var/run/docker.sock",
      default_timeout_seconds: 30,
      memory_mb: 256,
      pids_limit: 128,
      cpus: 1,
      max_output_bytes: 1_048_576,
      max_stdin_bytes: 1_048_576,
      tmpfs_mb: 64,
      reap_interval_ms: 60_000,
    });
    expect(config.judge).toEqual({ timeout_ms: 5000, kind: "plain", model: "seal-judge" });
    expect(config.log).toEqual({ level: "info" });
  });

  it("fills defaults inside a partly given section", () => {
    const config = GatewayConfig.parse({ server: { port: 9000 }, seal: { token_ttl: "15m" } });
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.server.port).toBe(9000);
    expect(config.seal.token_ttl).toBe(900);
    expect(config.seal.freshness_seconds).toBe(30);
  });

  it("derives the database url from data_dir, and keeps an explicit one", () => {
    expect(GatewayConfig.parse({ data_dir: "/srv/gw" }).database.url).toBe("sqlite:///srv/gw/gateway.db");
    const explicit: GatewayConfigInput = { data_dir: "/srv/gw", database: { url: "postgres://db/gw" } };
    expect(GatewayConfig.parse(explicit).database.url).toBe("postgres://db/gw");
  });
});

describe("GatewayConfig refusals", () => {
  it("reports every problem at once, each with its path", () => {
    expect(
      problems({ server: { port: 70_000 }, seal: { freshness_seconds: 61 }, log: { level: "verbose" } }).map(
        (p) => p.split(":")[0],
      ),
    ).toEqual(["server.port", "seal.freshness_seconds", "log.level"]);
  });

  it("refuses unknown keys at every depth", () => {
    const result = GatewayConfig.safeParse({ sever: {}, seal: { freshnes_seconds: 1 }, seal_extra: 1 });
    const keys = result.error?.issues.flatMap((i) => (i.code === "unrecognized_keys" ? i.keys : []));
    expect(keys?.sort()).toEqual(["freshnes_seconds", "seal_extra", "sever"]);
  });

  it.each([
    [{ seal: { freshness_seconds: 61 } }, "seal.freshness_seconds"],
    [{ seal: { freshness_seconds: 0 } }, "seal.freshness_seconds"],
    [{ seal: { freshness_seconds: 1.5 } }, "seal.freshness_seconds"],
    [{ seal: { clock_tolerance_seconds: 6 } }, "seal.clock_tolerance_seconds"],
    [{ seal: { clock_tolerance_seconds: -1 } }, "seal.clock_tolerance_seconds"],
    [{ seal: { replay_scope: "session" } }, "seal.replay_scope"],
    [{ seal: { algorithms: [] } }, "seal.algorithms"],
    [{ seal: { algorithms: ["EdDSA", "EdDSA"] } }, "seal.algorithms"],
    [{ seal: { algorithms: "EdDSA" } }, "seal.algorithms"],
    [{ seal: { token_ttl: "25h" } }, "seal.token_ttl"],
    [{ seal: { token_ttl: 3600 } }, "seal.token_ttl"],
    [{ seal: { token_ttl: "forever" } }, "seal.token_ttl"],
    [{ server: { port: -1 } }, "server.port"],
    [{ server: { port: "8089" } }, "server.port"],
    [{ server: { max_depth: 0 } }, "server.max_depth"],
    [{ server: { max_depth: 100_000 } }, "server.max_depth"],
    [{ server: { host: "" } }, "server.host"],
    [{ server: { trust_proxy: "yes" } }, "server.trust_proxy"],
    [{ database: { url: "mysql://x" } }, "database.url"],
    [{ egress: { allow_networks: ["10.0.0.0/8", "10.0.0.1"] } }, "egress.allow_networks.1"],
    [{ egress: { max_response_bytes: 0 } }, "egress.max_response_bytes"],
    [{ audit: { durability: "paranoid" } }, "audit.durability"],
    [{ cli: { default_timeout_seconds: 301 } }, "cli.default_timeout_seconds"],
    [{ cli: { cpus: 0 } }, "cli.cpus"],
    [{ judge: { url: "ftp://judge" } }, "judge.url"],
    [{ judge: { kind: "anthropic" } }, "judge.kind"],
    [{ secrets: { backends: [] } }, "secrets.backends"],
    [{ seal: { issuers: [{ issuer: "x" }] } }, "seal.issuers.0.jwks_url"],
    [
      { operator: { issuers: [{ issuer: "x", jwks_url: "https://a", public_key: "{}" }] } },
      "operator.issuers.0.public_key",
    ],
    [{ dev_mode: "false" }, "dev_mode"],
    [[], ""],
    [null, ""],
  ])("refuses %j at %s", (input, path) => {
    expect(problems(input).map((p) => p.slice(0, p.indexOf(": ")))).toContain(path);
  });

  it("accepts the boundaries", () => {
    const config = GatewayConfig.parse({
      server: { port: 0, max_depth: 1 },
      seal: { freshness_seconds: 60, clock_tolerance_seconds: 0, token_ttl: "24h", algorithms: ["Ed25519"] },
      cli: { cpus: 0.5, default_timeout_seconds: 300 },
    });
    expect(config.seal.token_ttl).toBe(86_400);
    expect(config.cli.cpus).toBe(0.5);
  });

  it("refuses none and HMAC algorithms with a message", () => {
    expect(problems({ seal: { algorithms: ["none", "HS256"] } })).toEqual([
      'seal.algorithms.0: "none" is never allowed: it accepts unsigned tokens',
      "seal.algorithms.1: HMAC algorithms (HS256/HS384/HS512) are never allowed: a public key would become the shared secret",
    ]);
  });

  it("refuses token_ttl over 24h and freshness over 60 with clear messages", () => {
    expect(problems({ seal: { token_ttl: "25h", freshness_seconds: 61 } })).toEqual([
      "seal.freshness_seconds: Too big: expected number to be <=60",
      "seal.token_ttl: must be at most 24h",
    ]);
  });
});

describe("production mode (dev_mode: false)", () => {
  it("requires a master key, reported at secrets.master_key", () => {
    expect(problems({ dev_mode: false })).toEqual([
      "secrets.master_key: required when dev_mode is false (set it here, as env:VAR, or via SEAL_GATEWAY_MASTER_KEY)",
    ]);
    expect(GatewayConfig.safeParse({ dev_mode: false, secrets: { master_key: MASTER_KEY } }).success).toBe(
      true,
    );
  });

  it("reports the missing master key alongside unrelated problems", () => {
    const paths = problems({ dev_mode: false, server: { port: "x" } }).map((p) => p.split(":")[0]);
    expect(paths.sort()).toEqual(["secrets.master_key", "server.port"]);
  });

  it("does not require a master key in dev mode", () => {
    expect(GatewayConfig.safeParse({ dev_mode: true }).success).toBe(true);
  });

  it("requires https JWKS URLs outside dev mode only", () => {
    const issuers = [{ issuer: "kc", jwks_url: "http://keycloak:8080/certs" }];
    expect(GatewayConfig.safeParse({ seal: { issuers } }).success).toBe(true);
    expect(problems({ dev_mode: false, secrets: { master_key: MASTER_KEY }, operator: { issuers } })).toEqual(
      ["operator.issuers.0.jwks_url: must use https:// when dev_mode is false"],
    );
  });

  it("never echoes a wrong-length master key", () => {
    const secret = Buffer.alloc(31, 0x5a).toString("base64");
    const messages = problems({ dev_mode: false, secrets: { master_key: secret } });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^secrets\.master_key: must be base64 of exactly 32 bytes/);
    expect(messages.join("\n")).not.toContain(secret);
    expect(messages.join("\n")).not.toContain(secret.slice(0, 12));
  });
});

describe("secrets.openbao", () => {
  const openbao = (extra: Record<string, unknown>) => ({
    secrets: { openbao: { address: "http://127.0.0.1:8200", ...extra } },
  });

  it("takes a token or an AppRole, never both or neither", () => {
    expect(problems(openbao({ token: "t" }))).toEqual([]);
    expect(problems(openbao({ approle: { role_id: "r", secret_id: "s" } }))).toEqual([]);
    expect(problems(openbao({}))).toEqual(["secrets.openbao: give exactly one of token or approle"]);
    expect(problems(openbao({ token: "t", approle: { role_id: "r", secret_id: "s" } }))).toEqual([
      "secrets.openbao: give exactly one of token or approle",
    ]);
  });

  it("fills its defaults: KV v2 at secret/, a tenant-scoped prefix, 5 s, three revocation attempts", () => {
    const config = GatewayConfig.parse(openbao({ token: "t" }));
    expect(config.secrets.openbao).toEqual({
      address: "http://127.0.0.1:8200",
      token: "t",
      kv_mount: "secret",
      kv_prefix: "seal-gateway/{tenant}",
      timeout_ms: 5000,
      revoke_attempts: 3,
    });
  });

  it("refuses a prefix without {tenant}, bad mounts and paths, out-of-range limits, and unknown keys", () => {
    expect(problems(openbao({ token: "t", kv_prefix: "shared" }))).toEqual([
      "secrets.openbao.kv_prefix: must contain {tenant}, so no tenant reads another's secrets",
    ]);
    expect(problems(openbao({ token: "t", kv_prefix: "a/../{tenant}" }))).toHaveLength(1);
    expect(problems(openbao({ token: "t", kv_mount: "/secret" }))).toHaveLength(1);
    expect(problems(openbao({ token: "t", timeout_ms: 50 }))).toHaveLength(1);
    expect(problems(openbao({ token: "t", revoke_attempts: 6 }))).toHaveLength(1);
    expect(problems(openbao({ token: "t", tokne: "x" }))).toHaveLength(1);
    expect(problems(openbao({ token: "t", address: "not a url" }))).toHaveLength(1);
  });

  it("refuses static_backend openbao without an openbao section", () => {
    expect(problems({ secrets: { static_backend: "openbao" } })).toEqual([
      "secrets.static_backend: is openbao, but secrets.openbao is not configured",
    ]);
    expect(problems({ secrets: { static_backend: "vault" } })).toHaveLength(1);
  });

  it("never repeats the token in a message", () => {
    const all = problems(
      openbao({ token: "tok-SECRET-123", approle: { role_id: "r", secret_id: "sec-SECRET" } }),
    );
    expect(all.join("\n")).not.toMatch(/SECRET/);
  });
});

describe("secrets.keycloak", () => {
  const issuer = {
    issuer: "https://kc/realms/r",
    audience: "seal-gateway",
    jwks_url: "https://kc/realms/r/certs",
  };
  const keycloak = (extra: Record<string, unknown>) => ({
    secrets: {
      keycloak: {
        token_url: "https://kc/realms/r/protocol/openid-connect/token",
        client_id: "seal-gateway",
        client_secret: "cs-SECRET",
        user_token_issuers: [issuer],
        ...extra,
      },
    },
  });

  it("accepts a complete section and fills its defaults", () => {
    const config = GatewayConfig.parse(keycloak({}));
    expect(config.secrets.keycloak).toMatchObject({
      audience_map: {},
      timeout_ms: 5000,
      max_user_token_lifetime_seconds: 3600,
    });
  });

  it("needs at least one user-token issuer, each with its audience; refuses bad URLs and limits", () => {
    expect(problems(keycloak({ user_token_issuers: [] }))).toEqual([
      "secrets.keycloak.user_token_issuers: name at least one issuer of end-user tokens",
    ]);
    expect(problems(keycloak({ user_token_issuers: [{ ...issuer, audience: undefined }] }))).toEqual([
      "secrets.keycloak.user_token_issuers: every issuer needs its audience",
    ]);
    expect(problems(keycloak({ token_url: "not a url" }))).toHaveLength(1);
    expect(problems(keycloak({ timeout_ms: 10 }))).toHaveLength(1);
    expect(problems(keycloak({ audience_map: { "../x": "y" } }))).toHaveLength(1);
    expect(problems(keycloak({ client_secret: "" })).join("\n")).not.toContain("cs-SECRET");
  });
});

describe("secrets.user_bound", () => {
  const issuer = {
    issuer: "https://kc/realms/r",
    audience: "seal-gateway",
    jwks_url: "https://kc/realms/r/certs",
  };
  const userBound = (extra: Record<string, unknown>) => ({
    secrets: { user_bound: { user_token_issuers: [issuer], ...extra } },
  });

  it("is optional, and fills its lifetime default when set", () => {
    expect(GatewayConfig.parse({}).secrets.user_bound).toBeUndefined();
    expect(GatewayConfig.parse(userBound({})).secrets.user_bound).toEqual({
      user_token_issuers: [issuer],
      max_user_token_lifetime_seconds: 3600,
    });
  });

  it("needs at least one issuer, each with its audience and one key source; refuses bad limits and unknown fields", () => {
    expect(problems(userBound({ user_token_issuers: [] }))).toEqual([
      "secrets.user_bound.user_token_issuers: name at least one issuer of end-user tokens",
    ]);
    expect(problems(userBound({ user_token_issuers: [{ ...issuer, audience: undefined }] }))).toEqual([
      "secrets.user_bound.user_token_issuers: every issuer needs its audience",
    ]);
    expect(problems(userBound({ user_token_issuers: [{ issuer: "x", audience: "a" }] }))).toHaveLength(1);
    for (const bad of [59, 86_401, 1.5, "3600s"])
      expect(problems(userBound({ max_user_token_lifetime_seconds: bad })), String(bad)).toHaveLength(1);
    expect(problems(userBound({ issuers: [issuer] }))).toHaveLength(1);
  });
});
