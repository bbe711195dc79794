import * as z from "zod";
import { defaultDatabaseUrl } from "./database-url.js";
import {
  AlgorithmList,
  CidrString,
  DatabaseUrl,
  HttpUrl,
  MasterKey,
  NonEmptyString,
  NonNegativeInt,
  PositiveInt,
  TokenTtl,
  TrustedIssuer,
  whenObject,
} from "./fields.js";

// The whole configuration as one schema. Every object is strict so a misspelt key is refused
// instead of silently leaving a security setting at its default. Nested sections use
// `prefault({})` so their own field defaults apply when the section is absent.

const Server = z.strictObject({
  host: NonEmptyString.default("127.0.0.1"),
  port: z.int().min(0).max(65_535).default(8089),
  body_limit_bytes: PositiveInt.default(1_048_576),
  // The strict parser recurses per level; a hard ceiling keeps a hostile body off the stack limit.
  max_depth: z.int().min(1).max(1000).default(64),
  trust_proxy: z.boolean().default(false),
  shutdown_grace_ms: NonNegativeInt.default(10_000),
});

const Database = z.strictObject({
  // Absent means `sqlite://<data_dir>/gateway.db`, filled in once data_dir is final (below).
  url: DatabaseUrl.optional(),
  // PostgreSQL only: connections per instance, and how long a statement, a transaction left
  // idle, or a connection attempt may take before it fails (the call answers 5030).
  pool_size: z.int().min(1).max(1000).default(10),
  statement_timeout_ms: PositiveInt.default(30_000),
  idle_in_transaction_timeout_ms: PositiveInt.default(60_000),
  connect_timeout_seconds: z.int().min(1).max(300).default(10),
});

const Seal = z.strictObject({
  freshness_seconds: z.int().min(1).max(60).default(30),
  clock_tolerance_seconds: z.int().min(0).max(5).default(5),
  replay_scope: z.enum(["envelope", "token"]).default("envelope"),
  algorithms: AlgorithmList.default(["EdDSA", "RS256", "ES256"]),
  agent_audience: NonEmptyString.default("seal-gateway/agent"),
  issuer: NonEmptyString.default("seal-gateway"),
  /** Seconds after parsing (written as a duration: `15m`, `1h`, at most `24h`). */
  token_ttl: TokenTtl.prefault("1h"),
  replay_sweep_interval_ms: PositiveInt.default(30_000),
  // A security token's own signature is verified once and remembered this long (its time
  // claims are re-checked on every call); 0 turns the cache off.
  token_cache_seconds: z.int().min(0).max(300).default(300),
  token_cache_entries: z.int().min(1).max(1_000_000).default(10_000),
  issuers: z.array(TrustedIssuer).default([]),
});

const Operator = z.strictObject({
  audience: NonEmptyString.default("seal-gateway/operator"),
  role_claim: NonEmptyString.default("role"),
  tenant_claim: NonEmptyString.default("tenant_id"),
  issuers: z.array(TrustedIssuer).default([]),
});

const Egress = z.strictObject({
  allow_networks: z.array(CidrString).default([]),
  connect_timeout_ms: PositiveInt.default(5000),
  request_timeout_ms: PositiveInt.default(30_000),
  max_response_bytes: PositiveInt.default(10_485_760),
});

// OpenBao / Vault (DESIGN §4): StaticRef from KV v2 under a tenant-scoped prefix, SystemJit
// from dynamic secrets engines, leases revoked when the call ends. Token or AppRole auth.
const OpenBaoAppRole = z.strictObject({
  role_id: NonEmptyString,
  secret_id: NonEmptyString,
  mount: NonEmptyString.default("approle"),
});

const OpenBao = z
  .strictObject({
    address: HttpUrl,
    token: NonEmptyString.optional(),
    approle: OpenBaoAppRole.optional(),
    kv_mount: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/,
        "must be a mount path such as secret",
      )
      .default("secret"),
    // Every tenant reads only below its own prefix; `{tenant}` is required in it.
    kv_prefix: z
      .string()
      .regex(/^[A-Za-z0-9{}_-]+(\/[A-Za-z0-9{}_-]+)*$/, "must be path segments")
      .refine((p) => p.includes("{tenant}"), "must contain {tenant}, so no tenant reads another's secrets")
      .default("seal-gateway/{tenant}"),
    namespace: NonEmptyString.optional(),
    ca_file: NonEmptyString.optional(),
    timeout_ms: z.int().min(100).max(60_000).default(5000),
    // A failed lease revocation is retried this many times in all before it is audited as failed.
    revoke_attempts: z.int().min(1).max(5).default(3),
  })
  .superRefine((v, ctx) => {
    if ((v.token === undefined) === (v.approle === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of token or approle" });
  });

// Keycloak (or any RFC 8693 token endpoint) for HumanDelegated: the end user's token, verified
// against `user_token_issuers` (each with the audience the exchanging client must be), is
// exchanged for one whose audience is the target service (`audience_map` renames a target).
const Keycloak = z.strictObject({
  token_url: HttpUrl,
  client_id: NonEmptyString,
  client_secret: NonEmptyString,
  user_token_issuers: z
    .array(TrustedIssuer)
    .min(1, "name at least one issuer of end-user tokens")
    .refine((list) => list.every((i) => i.audience !== undefined), "every issuer needs its audience"),
  audience_map: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/), NonEmptyString).default({}),
  timeout_ms: z.int().min(100).max(60_000).default(5000),
  // The longest end-user token lifetime accepted (an identity provider's access tokens are short).
  max_user_token_lifetime_seconds: z.int().min(60).max(86_400).default(3600),
});

// UserBound: the issuers whose tokens name the end user, when they are not (only) Keycloak's.
// Without this section UserBound trusts `secrets.keycloak.user_token_issuers`; with neither it
// is refused (4010 backend_not_configured).
const UserBound = z.strictObject({
  user_token_issuers: z
    .array(TrustedIssuer)
    .min(1, "name at least one issuer of end-user tokens")
    .refine((list) => list.every((i) => i.audience !== undefined), "every issuer needs its audience"),
  max_user_token_lifetime_seconds: z.int().min(60).max(86_400).default(3600),
});

const Secrets = z
  .strictObject({
    master_key: MasterKey.optional(),
    // Earlier master keys during a rotation: values sealed under them still open; nothing new
    // is sealed under them (docs/operations.md "Key rotation across a fleet").
    previous_master_keys: z.array(MasterKey).max(4).default([]),
    // Where a StaticRef without its own `backend` reads.
    static_backend: z.enum(["builtin", "openbao"]).default("builtin"),
    openbao: OpenBao.optional(),
    keycloak: Keycloak.optional(),
    user_bound: UserBound.optional(),
    // Backend settings are validated by each backend when it is built.
    backends: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((v, ctx) => {
    if (v.static_backend === "openbao" && v.openbao === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["static_backend"],
        message: "is openbao, but secrets.openbao is not configured",
      });
  });

const Audit = z.strictObject({
  durability: z.enum(["normal", "full"]).default("normal"),
  seal_interval_ms: PositiveInt.default(1000),
  seal_settle_ms: NonNegativeInt.default(2000),
  preauth_rate_per_minute: NonNegativeInt.default(60),
  summary_interval_ms: PositiveInt.default(60_000),
  // GET /v1/events/stream: how often each instance polls the store, the idle heartbeat, the
  // bytes one client may have queued before it is dropped, and the open streams per instance.
  stream_poll_ms: z.int().min(50).max(10_000).default(250),
  stream_heartbeat_ms: z.int().min(1000).max(300_000).default(15_000),
  stream_buffer_bytes: z.int().min(65_536).max(67_108_864).default(1_048_576),
  stream_max_clients: PositiveInt.default(100),
});

const Cli = z.strictObject({
  socket_path: NonEmptyString.default("/var/run/docker.sock"),
  default_timeout_seconds: z.int().min(1).max(300).default(30),
  memory_mb: PositiveInt.default(256),
  pids_limit: PositiveInt.default(128),
  cpus: z.number().positive().default(1),
  max_output_bytes: PositiveInt.default(1_048_576),
  max_stdin_bytes: NonNegativeInt.default(1_048_576),
  tmpfs_mb: PositiveInt.default(64),
  reap_interval_ms: PositiveInt.default(60_000),
});

const Judge = z.strictObject({
  url: HttpUrl.optional(),
  timeout_ms: PositiveInt.default(5000),
  kind: z.enum(["openai", "plain"]).default("plain"),
  /** The `model` of chat-completions requests (kind `openai`). */
  model: NonEmptyString.default("seal-judge"),
});

// POST /v1/seal/attest (DESIGN §7): off unless a verifier is named. `docker` inspects the
// workload's container on `socket_path` (default: cli.socket_path).
const Attestation = z.strictObject({
  verifier: z.enum(["none", "docker"]).default("none"),
  socket_path: NonEmptyString.optional(),
  /** Comma-separated context names the container may request. */
  contexts_label: NonEmptyString.default("seal-gateway.attest.contexts"),
  /** The container's tenant (absent: `default`). */
  tenant_label: NonEmptyString.default("seal-gateway.attest.tenant"),
  /** The request must come from one of the container's own addresses. */
  match_source_address: z.boolean().default(true),
  token_ttl_seconds: z.int().min(60).max(86_400).default(3600),
});

const Approvals = z.strictObject({
  // How long a pending or granted approval stays redeemable.
  ttl_seconds: z
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3600),
});

const Tools = z.strictObject({
  // How long a call may run when its tool names no timeout of its own (engines may be shorter).
  default_timeout_seconds: z.int().min(1).max(3600).default(300),
  // An operator's POST /v1/explorer request (an agent's explorer call takes the tool timeout).
  explorer_timeout_seconds: z.int().min(1).max(3600).default(60),
  // The largest OpenAPI description a spec may be, inline or fetched from its source_url
  // (which egress.max_response_bytes also caps). Published descriptions run to megabytes.
  max_spec_bytes: z
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(16 * 1024 * 1024),
});

// DNS-rebinding protection of POST /mcp (DESIGN §7): a browser page on another site must not
// reach a gateway on loopback. Hosts match the Host header without its port; an Origin header,
// when sent, must be listed (`:*` = any port; clients outside browsers send none).
const Mcp = z.strictObject({
  allowed_hosts: z.array(NonEmptyString).default(["127.0.0.1", "localhost", "::1"]),
  allowed_origins: z
    .array(NonEmptyString)
    .default(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]),
});

// GET /metrics (DESIGN §7): on the main port it takes an operator token of any role; `listen`
// (HOST:PORT) also serves it without a token on a separate address (keep that one private).
const Metrics = z.strictObject({
  enabled: z.boolean().default(true),
  listen: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "HOST:PORT (IPv6 in brackets)")
    .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65_535, "port must be at most 65535")
    .optional(),
  // Database gauges (replay records, unsealed rows) are re-read at most this often.
  refresh_ms: z.int().min(100).max(300_000).default(5000),
});

// OpenTelemetry traces over OTLP/HTTP (docs/operations.md "Traces"): off by default, and then the
// SDK is never loaded. Span attributes follow the metrics' cardinality rules; no argument or
// secret value is ever one. `headers` go to the collector only (e.g. its API key; `env:VAR`).
const Tracing = z.strictObject({
  enabled: z.boolean().default(false),
  otlp_endpoint: HttpUrl.default("http://127.0.0.1:4318/v1/traces"),
  service_name: NonEmptyString.default("seal-gateway"),
  // Of the traces that begin at the gateway; a caller's `traceparent` sampled flag is followed.
  sample_ratio: z.number().min(0).max(1).default(1),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, "must be an HTTP header name"),
      z
        .string()
        .regex(/^[\t\x20-\x7e\x80-\xff]+$/, "must be a non-empty header value without control characters"),
    )
    .default({}),
  // Send `traceparent` (the gateway's own span, never the caller's `tracestate`) on upstream requests.
  propagate_upstream: z.boolean().default(true),
  export_timeout_ms: z.int().min(100).max(60_000).default(10_000),
  // Spans wait at most this long in the buffer before a batch is sent (shutdown sends the rest).
  batch_delay_ms: z.int().min(100).max(300_000).default(1000),
});

// The gRPC surface (DESIGN §7, docs/grpc.md): off unless enabled, on a port of its own. `tls`
// names PEM files (read at start; a missing or unreadable file refuses to start); with
// `client_ca_file` every client must present a certificate it signed (mutual TLS).
const GrpcTls = z.strictObject({
  cert_file: NonEmptyString.optional(),
  key_file: NonEmptyString.optional(),
  client_ca_file: NonEmptyString.optional(),
});

const Grpc = z
  .strictObject({
    enabled: z.boolean().default(false),
    host: NonEmptyString.default("127.0.0.1"),
    port: z.int().min(0).max(65_535).default(50_055),
    tls: GrpcTls.prefault({}),
    // A larger request or answer is refused with RESOURCE_EXHAUSTED before it is decoded.
    max_message_bytes: z
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    // The largest `x-seal-envelope` (arguments included); a larger one is refused with an audit
    // row. At most 60 KiB: Node's HTTP/2 under grpc-js resets a call whose whole header list
    // passes 64 KiB before the gateway sees it (and grpc-js offers no way to raise that).
    max_metadata_bytes: z
      .int()
      .min(8192)
      .max(60 * 1024)
      .default(60 * 1024),
    // HTTP/2 streams one connection may have open at once.
    max_concurrent_streams: z.int().min(1).max(100_000).default(100),
    // Server pings on an idle connection every keepalive_time_ms; no answer within
    // keepalive_timeout_ms closes it. (grpc-js has no policy for clients' pings: ping floods
    // are bounded by Node's HTTP/2 flood protection, so there is no setting for them.)
    keepalive_time_ms: z.int().min(1000).default(7_200_000),
    keepalive_timeout_ms: z.int().min(1000).default(20_000),
  })
  .superRefine((g, ctx) => {
    if ((g.tls.cert_file === undefined) !== (g.tls.key_file === undefined))
      ctx.addIssue({ code: "custom", path: ["tls"], message: "cert_file and key_file go together" });
    if (g.tls.client_ca_file !== undefined && g.tls.cert_file === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["tls", "client_ca_file"],
        message: "needs cert_file and key_file (mutual TLS is TLS first)",
      });
  }, whenObject);

const Log = z.strictObject({
  level: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

/** The raw sections, before cross-field checks; also walked to map environment variables. */
export const GatewayConfigShape = z.strictObject({
  server: Server.prefault({}),
  database: Database.prefault({}),
  data_dir: NonEmptyString.default("./data"),
  dev_mode: z.boolean().default(true),
  seal: Seal.prefault({}),
  operator: Operator.prefault({}),
  egress: Egress.prefault({}),
  secrets: Secrets.prefault({}),
  audit: Audit.prefault({}),
  cli: Cli.prefault({}),
  judge: Judge.prefault({}),
  attestation: Attestation.prefault({}),
  approvals: Approvals.prefault({}),
  tools: Tools.prefault({}),
  mcp: Mcp.prefault({}),
  metrics: Metrics.prefault({}),
  grpc: Grpc.prefault({}),
  tracing: Tracing.prefault({}),
  log: Log.prefault({}),
});

type Shape = z.output<typeof GatewayConfigShape>;

function checkProduction(config: Shape, ctx: z.RefinementCtx<Shape>): void {
  if (config.dev_mode !== false) return;
  // Outside dev mode nothing may fall back to a generated key on local disk.
  if (config.secrets?.master_key === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["secrets", "master_key"],
      message: "required when dev_mode is false (set it here, as env:VAR, or via SEAL_GATEWAY_MASTER_KEY)",
    });
  }
  // Keys fetched over plain HTTP could be swapped by anyone on the path.
  for (const section of ["seal", "operator"] as const) {
    const issuers: unknown = config[section]?.issuers;
    if (!Array.isArray(issuers)) continue;
    issuers.forEach((issuer: { jwks_url?: unknown }, index) => {
      if (typeof issuer?.jwks_url === "string" && issuer.jwks_url.startsWith("http:")) {
        ctx.addIssue({
          code: "custom",
          path: [section, "issuers", index, "jwks_url"],
          message: "must use https:// when dev_mode is false",
        });
      }
    });
  }
}

/** The gateway configuration: parse with `GatewayConfig.safeParse(raw)`; the output is complete. */
export const GatewayConfig = GatewayConfigShape.superRefine(checkProduction, whenObject).transform(
  (config) => ({
    ...config,
    database: { ...config.database, url: config.database.url ?? defaultDatabaseUrl(config.data_dir) },
  }),
);
export type GatewayConfig = z.infer<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;
