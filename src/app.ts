import { dockerVerifier } from "./attestation/docker-verifier.js";
import { AuditRecorder } from "./audit/recorder.js";
import { Sealer } from "./audit/sealer.js";
import type { UnknownFieldPolicy } from "./audit/vocabulary.js";
import { issuerKeys } from "./auth/issuer-keys.js";
import { type Clock, systemClock } from "./clock.js";
import type { TrustedIssuer } from "./config/fields.js";
import type { GatewayConfig } from "./config/schema.js";
import { buildCore } from "./core.js";
import { delegatedBackend } from "./credentials/backends/delegated.js";
import { credentialBackends } from "./credentials/backends/index.js";
import { openBaoBackend } from "./credentials/backends/openbao.js";
import { userBoundBackend } from "./credentials/backends/user-bound.js";
import { type BuiltinSecrets, builtinSecrets } from "./credentials/builtin-store.js";
import { createCredentialResolver, type ResolverDeps } from "./credentials/resolver.js";
import type { CredentialResolver } from "./credentials/types.js";
import { createUserTokenVerifier } from "./credentials/user-token.js";
import { createEgressClient } from "./egress/client.js";
import { dockerRuntime } from "./engines/cli/docker-runtime.js";
import { httpJudge } from "./engines/cli/judge.js";
import { type Reaper, startReaper } from "./engines/cli/reaper.js";
import type { ContainerRuntime } from "./engines/cli/runtime.js";
import { createHttpApp } from "./http/app.js";
import { createLogger, type Logger } from "./log/logger.js";
import {
  instrumentCredentials,
  instrumentEgress,
  instrumentRuntime,
  instrumentStore,
} from "./metrics/instrument.js";
import { GatewayMetrics } from "./metrics/metrics.js";
import { gatewayVersion } from "./paths.js";
import { type CallPipeline, createCallPipeline } from "./pipeline/index.js";
import { combineObservers, type StageObserver } from "./pipeline/run-stage.js";
import { ContextCache } from "./policy/contexts.js";
import type { AttestationSettings } from "./services/attestation.js";
import { killCliContainers, sessionContainers } from "./services/cli-revocation.js";
import { cliTools } from "./services/cli-tool-source.js";
import type { CliEngine } from "./services/cli-tools.js";
import type { ServiceDeps } from "./services/context.js";
import { EventStreamHub } from "./services/event-stream.js";
import { startExpirySweeper } from "./services/expiry-sweep.js";
import { explorerTool } from "./services/explorer.js";
import { nativeTools } from "./services/native-tools.js";
import { SpecCache } from "./services/specs.js";
import { workflowTools } from "./services/workflows.js";
import { withGroupCommit } from "./store/group-commit.js";
import { guardStore } from "./store/guard.js";
import type { Store } from "./store/types.js";
import { InflightRuns } from "./tools/inflight.js";
import { staticTools, ToolRegistry, type ToolSource } from "./tools/registry.js";
import { startTracing } from "./tracing/load.js";
import type { Tracing } from "./tracing/types.js";

/**
 * The composition root: config → store → keys → services → transports. Nothing else builds
 * long-lived objects, and nothing reads the environment after the config was loaded.
 */

export interface Gateway {
  app: ReturnType<typeof createHttpApp>;
  /** The transport-neutral call: what every transport (HTTP, MCP, gRPC) adapts. */
  calls: CallPipeline;
  store: Store;
  services: ServiceDeps;
  sealer: Sealer;
  audit: AuditRecorder;
  /** Open GET /v1/events/stream clients; closed first on shutdown so they do not hold it. */
  streams: EventStreamHub;
  log: Logger;
  /** The Prometheus registry behind GET /metrics; null when `metrics.enabled` is false. */
  metrics: GatewayMetrics | null;
  /** OpenTelemetry traces (the gRPC transport opens its server spans here); null when off. */
  tracing: Tracing | null;
  /** Stops background work, seals every audit row, closes the store, flushes the traces. */
  close(): Promise<void>;
}

export interface BuildOptions {
  log?: Logger;
  clock?: Clock;
  /** Skip timers (tests drive sealing and sweeping themselves). */
  background?: boolean;
  /** Extra tool sources (tests add fixed tools). */
  tools?: ToolSource[];
  /** The credential stage (default: the built-in encrypted store; other backends fail closed). */
  credentials?: CredentialResolver;
  /** Told the name and duration of every stage of every call (metrics, tracing, tests). */
  stageObserver?: StageObserver;
  /**
   * Wraps the store under the group commit (tests inject write faults there, e.g. a failing
   * `writeBatch`). Default: the store as opened.
   */
  interceptStore?: (store: Store) => Store;
  /**
   * An audit payload field outside its event's schema: stripped and logged (default), or
   * thrown on (the test gateway, so the test that wrote it fails).
   */
  unknownPayloadFields?: UnknownFieldPolicy;
  /** The container engine of CLI tools (default: Docker at `cli.socket_path`). */
  cliRuntime?: ContainerRuntime;
}

/** The CLI engine from the `cli` and `judge` sections; the Docker client connects lazily. */
function cliEngine(
  config: GatewayConfig,
  runtime: ContainerRuntime | undefined,
  metrics: GatewayMetrics | null,
  tracing: Tracing | null,
): CliEngine {
  const { judge } = config;
  const engine = runtime ?? dockerRuntime({ socketPath: config.cli.socket_path });
  const measured = metrics ? instrumentRuntime(engine, metrics) : engine;
  return {
    runtime: tracing ? tracing.runtime(measured) : measured,
    settings: config.cli,
    devMode: config.dev_mode,
    ...(judge.url
      ? {
          judge: httpJudge({
            url: judge.url,
            kind: judge.kind,
            timeoutMs: judge.timeout_ms,
            model: judge.model,
          }),
        }
      : {}),
  };
}

/** The end-user token verifier of one set of trusted issuers. */
function userTokens(issuers: readonly TrustedIssuer[], maxLifetimeSeconds: number, config: GatewayConfig) {
  return createUserTokenVerifier(
    issuers.map((i) => issuerKeys(i)),
    { toleranceSeconds: config.seal.clock_tolerance_seconds, maxLifetimeSeconds },
  );
}

/**
 * The credential stage: the built-in store, OpenBao (StaticRef and SystemJit) and Keycloak
 * (HumanDelegated, Auto) when configured, UserBound whenever some issuer of user tokens is
 * trusted, and each backend `secrets.backends` configures.
 */
function gatewayCredentials(
  builtin: BuiltinSecrets,
  store: Pick<Store, "findCredentialBinding">,
  config: GatewayConfig,
  audit: ResolverDeps["audit"],
  log: Logger,
  clock: Clock,
): CredentialResolver {
  const { openbao, keycloak, user_bound: userBound } = config.secrets;
  const fingerprint = (v: string) => builtin.fingerprint(v);
  const nowSeconds = () => Math.floor(clock.nowMs() / 1000);
  const dynamic = openbao ? openBaoBackend(openbao, { fingerprint }) : undefined;
  const delegated = keycloak
    ? delegatedBackend(
        {
          tokenUrl: keycloak.token_url,
          clientId: keycloak.client_id,
          clientSecret: keycloak.client_secret,
          timeoutMs: keycloak.timeout_ms,
          audienceMap: keycloak.audience_map,
        },
        {
          verifier: userTokens(keycloak.user_token_issuers, keycloak.max_user_token_lifetime_seconds, config),
          fingerprint,
          nowSeconds,
          systemJit: dynamic,
        },
      )
    : undefined;
  const statics = [...credentialBackends(builtin, config.secrets.backends), ...(dynamic ? [dynamic] : [])];
  const userIssuers = userBound ?? (keycloak ? { ...keycloak } : undefined);
  const bound = userIssuers
    ? userBoundBackend({
        verifier: userTokens(
          userIssuers.user_token_issuers,
          userIssuers.max_user_token_lifetime_seconds,
          config,
        ),
        trustedIssuers: userIssuers.user_token_issuers.length,
        bindings: store,
        staticBackend: (name) =>
          statics.find(
            (b) => b.name === (name ?? config.secrets.static_backend) && b.variants.includes("StaticRef"),
          ),
        nowSeconds,
      })
    : undefined;
  return createCredentialResolver({
    backends: [...statics, ...(delegated ? [delegated] : []), ...(bound ? [bound] : [])],
    audit,
    builtin,
    log,
    staticBackend: config.secrets.static_backend,
  });
}

/** The attestation verifier, or none (POST /v1/seal/attest then refuses every request). */
function attestationSettings(config: GatewayConfig): AttestationSettings | undefined {
  const a = config.attestation;
  if (a.verifier === "none") return undefined;
  return {
    verifier: dockerVerifier({
      socketPath: a.socket_path ?? config.cli.socket_path,
      contextsLabel: a.contexts_label,
      tenantLabel: a.tenant_label,
      matchSourceAddress: a.match_source_address,
    }),
    ttlSeconds: a.token_ttl_seconds,
  };
}

function measuredCredentials(resolver: CredentialResolver, metrics: GatewayMetrics | null) {
  return metrics ? instrumentCredentials(resolver, metrics) : resolver;
}

function observerOf(observers: Array<StageObserver | undefined>): { observer?: StageObserver } {
  const present = observers.filter((o): o is StageObserver => o !== undefined);
  if (present.length === 0) return {};
  return { observer: present.length === 1 ? (present[0] as StageObserver) : combineObservers(present) };
}

interface PeerEnv {
  incoming?: { socket?: { remoteAddress?: string } };
}

export async function buildGateway(config: GatewayConfig, opts: BuildOptions = {}): Promise<Gateway> {
  const log = opts.log ?? createLogger(config.log.level);
  const clock = opts.clock ?? systemClock;
  const core = await buildCore(config, {
    log,
    nowMs: clock.nowMs(),
    storeLog: (msg, fields) => log.info(msg, fields),
  });
  const { store: rawStore, master, tokens } = core;
  let tracing: Tracing | null = null;
  try {
    // Only when enabled is the SDK loaded at all (src/tracing/load.ts).
    tracing = await startTracing(config.tracing, { version: gatewayVersion(), log });
    const metrics = config.metrics.enabled
      ? new GatewayMetrics({
          now: () => clock.nowMs(),
          refreshMs: config.metrics.refresh_ms,
          db: {
            replayRecords: () => rawStore.countReplay(),
            unsealed: () => rawStore.unsealedSummary(),
            poolSize: rawStore.dialect === "postgres" ? config.database.pool_size : 1,
          },
        })
      : null;
    // Hot-path rows of one event-loop turn share a transaction (src/store/group-commit.ts).
    const measured = metrics ? instrumentStore(rawStore, metrics) : rawStore;
    const store = guardStore(withGroupCommit(opts.interceptStore?.(measured) ?? measured), log);
    const audit = new AuditRecorder(store, log, {
      preauthPerMinute: config.audit.preauth_rate_per_minute,
      summaryIntervalMs: config.audit.summary_interval_ms,
      now: () => clock.nowMs(),
      unknownPayloadFields: opts.unknownPayloadFields ?? "strip",
    });
    // SQLite has one writer, so sequence order is commit order and rows settle at once.
    const settleMs = rawStore.dialect === "sqlite" ? 0 : config.audit.seal_settle_ms;
    const sealer = new Sealer({
      store: rawStore,
      signingKey: () => core.keyring.active,
      log,
      settleMs,
      // A batch's write is one synchronous transaction on SQLite, which the calls wait behind:
      // smaller there. On PostgreSQL it is awaited I/O, and bigger batches mean fewer commits.
      batchSize: rawStore.dialect === "sqlite" ? 100 : 200,
      now: () => clock.nowMs(),
    });
    // Engines register their tools here once the services they need exist.
    const toolSources: ToolSource[] = [];
    const tools = new ToolRegistry(toolSources);
    const contexts = new ContextCache(store);
    const directEgress = createEgressClient({
      allowNetworks: config.egress.allow_networks,
      connectTimeoutMs: config.egress.connect_timeout_ms,
      requestTimeoutMs: config.egress.request_timeout_ms,
      maxResponseBytes: config.egress.max_response_bytes,
    });
    const measuredEgress = metrics ? instrumentEgress(directEgress, metrics) : directEgress;
    const egress = tracing ? tracing.egress(measuredEgress) : measuredEgress;
    const streams = new EventStreamHub({
      store,
      log,
      nowMs: () => clock.nowMs(),
      settings: {
        pollMs: config.audit.stream_poll_ms,
        heartbeatMs: config.audit.stream_heartbeat_ms,
        bufferBytes: config.audit.stream_buffer_bytes,
        maxClients: config.audit.stream_max_clients,
        settleMs,
      },
    });
    const cli = cliEngine(config, opts.cliRuntime, metrics, tracing);
    const attestation = attestationSettings(config);
    const inflight = new InflightRuns();
    const services: ServiceDeps = {
      cli,
      inflight,
      ...(attestation ? { attestation } : {}),
      store,
      streams,
      audit,
      tokens,
      keyring: core.keyring,
      clock,
      log,
      agentTokenTtlSeconds: config.seal.token_ttl,
      ...(metrics ? { metrics } : {}),
      explorerTimeoutMs: config.tools.explorer_timeout_seconds * 1000,
      maxSpecBytes: config.tools.max_spec_bytes,
      tools,
      contexts,
      egress,
      specs: new SpecCache(store),
      credentials: measuredCredentials(
        opts.credentials ??
          gatewayCredentials(builtinSecrets(store, master), store, config, audit, log, clock),
        metrics,
      ),
    };
    toolSources.push(
      staticTools([explorerTool(services), ...nativeTools(services)]),
      workflowTools(services),
      cliTools(services),
      ...(opts.tools ?? []),
    );
    const calls = createCallPipeline({
      store,
      tokens,
      audit,
      clock,
      log,
      tools,
      defaultToolTimeoutMs: config.tools.default_timeout_seconds * 1000,
      inflight,
      ...observerOf([opts.stageObserver, metrics ?? undefined, tracing?.observer]),
      authz: {
        store,
        audit,
        contexts,
        approvalTtlSeconds: config.approvals.ttl_seconds,
        onSessionRevoked: async (executionId) => {
          // Its containers are killed (their calls answer 4040 container_gone), every other
          // run of the session is stopped (1006 session_revoked).
          await killCliContainers(cli, log, sessionContainers(executionId), "session");
          inflight.revokeSession(executionId);
        },
      },
      settings: {
        freshnessSeconds: config.seal.freshness_seconds,
        toleranceSeconds: config.seal.clock_tolerance_seconds,
        replayScope: config.seal.replay_scope,
        maxDepth: config.server.max_depth,
      },
    });
    const app = createHttpApp({
      services,
      calls,
      store,
      clock,
      log,
      bodyLimit: config.server.body_limit_bytes,
      maxDepth: config.server.max_depth,
      ...(tracing ? { tracing } : {}),
      mcp: {
        origins: { allowedHosts: config.mcp.allowed_hosts, allowedOrigins: config.mcp.allowed_origins },
      },
      remoteAddress: (c) => {
        const peer = (c.env as PeerEnv | undefined)?.incoming?.socket?.remoteAddress ?? "unknown";
        if (!config.server.trust_proxy) return peer;
        // Behind a trusted proxy the client is the last address the proxy appended.
        const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
        return forwarded || peer;
      },
    });

    let sweeper: { stop(): Promise<void> } | null = null;
    let reaper: Reaper | null = null;
    if (opts.background !== false) {
      // Leftover CLI containers (a crash mid-call): reaped at start and then periodically. An
      // engine that is down only logs a warning per pass; calls answer 4040 meanwhile.
      reaper = startReaper(cli.runtime, { intervalMs: config.cli.reap_interval_ms, log });
      sealer.start(config.audit.seal_interval_ms);
      audit.start();
      // Expired replay records and rate-limit windows, drained each pass in short slices.
      sweeper = startExpirySweeper(
        { store: rawStore, nowMs: () => clock.nowMs(), log },
        config.seal.replay_sweep_interval_ms,
      );
    }

    return {
      app,
      calls,
      store,
      services,
      sealer,
      audit,
      streams,
      log,
      metrics,
      tracing,
      async close() {
        streams.close();
        await sweeper?.stop();
        await reaper?.stop();
        await audit.stop();
        await sealer.stop();
        await sealer
          .sealNow(true)
          .catch((err: unknown) => log.error("final audit sealing failed", { error: err }));
        egress.close();
        await rawStore.close();
        // Last, so the spans of calls that finished during shutdown are exported too.
        await tracing?.shutdown();
      },
    };
  } catch (err) {
    await rawStore.close().catch(() => undefined);
    await tracing?.shutdown();
    throw err;
  }
}
