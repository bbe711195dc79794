import { z } from "zod";
import type { AuditRecorder, EventInput } from "../audit/recorder.js";
import type { EventType } from "../audit/vocabulary.js";
import { satisfies } from "../auth/roles.js";
import type { OperatorRole, TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import type { CredentialResolver } from "../credentials/types.js";
import type { EgressClient } from "../egress/types.js";
import { GatewayError } from "../errors.js";
import type { Keyring } from "../keys/keyring.js";
import type { Logger } from "../log/logger.js";
import type { ContextCache } from "../policy/contexts.js";
import type { Store } from "../store/types.js";
import type { InflightRuns } from "../tools/inflight.js";
import type { ToolRegistry } from "../tools/registry.js";
import type { AttestationSettings } from "./attestation.js";
import type { CliEngine } from "./cli-tools.js";
import type { EventStreamHub } from "./event-stream.js";
import type { SpecCache } from "./specs.js";

/** What every service verb receives: its dependencies, built once by the composition root. */
/** What GET /metrics needs of the metrics registry (src/metrics/ provides it). */
export interface MetricsExposition {
  /** The Prometheus text exposition of this instance, with its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface ServiceDeps {
  store: Store;
  audit: AuditRecorder;
  tokens: TokenAuthority;
  /** The gateway's signing keys: evidence packs are signed with the active one. */
  keyring: Pick<Keyring, "active" | "publicKeys">;
  clock: Clock;
  log: Logger;
  agentTokenTtlSeconds: number;
  /** How long an operator's explorer request may take (agent calls take their tool's timeout). */
  explorerTimeoutMs: number;
  /** `tools.max_spec_bytes`: the largest API description a spec may be (inline or fetched). */
  maxSpecBytes: number;
  tools: ToolRegistry;
  contexts: ContextCache;
  egress: EgressClient;
  specs: SpecCache;
  credentials: CredentialResolver;
  /** The live event streams of this instance (GET /v1/events/stream). */
  streams: EventStreamHub;
  /** The container engine of CLI tools; absent: CLI tools cannot run (calls answer 4040). */
  cli?: CliEngine;
  /** Tool runs in flight in this instance: revoking a session or agent key stops its runs. */
  inflight?: InflightRuns;
  /** POST /v1/seal/attest; absent: attestation is off (every request refused, 3002). */
  attestation?: AttestationSettings;
  /** This instance's Prometheus metrics (GET /metrics); absent when `metrics.enabled` is false. */
  metrics?: MetricsExposition;
  /** How long one what-if answer may decide calls (default WHAT_IF_BUDGET_MS, 20 s). */
  whatIfBudgetMs?: number;
}

/**
 * The dependencies of a verb that needs only part of the store: each service declares the
 * narrow store port it uses (e.g. `WithStore<ToolStore & AuditedWrites>`), and the composition
 * root's full ServiceDeps satisfies every one of them.
 */
export type WithStore<S> = Omit<ServiceDeps, "store"> & { store: S };

/**
 * A control-plane audit row: only the event type, tenant, payload and what the change is
 * about; the call-specific columns stay empty. The store writes it in the change's own
 * transaction (`deps.store.audited(deps.audit.event(controlEvent(…)), op, …args)`).
 */
export function controlEvent(e: {
  eventType: EventType;
  tenantId: string;
  payload: Record<string, unknown>;
  executionId?: string | null;
  agentId?: string | null;
  toolName?: string | null;
}): EventInput {
  return {
    executionId: null,
    callId: null,
    agentId: null,
    toolName: null,
    decision: null,
    stage: "control",
    code: null,
    requestId: null,
    ...e,
  };
}

/**
 * Who a verb runs for. Transports only say who the caller is; each verb decides what that
 * caller may do (`requireRole`), so MCP, gRPC and the CLI cannot forget a check HTTP made.
 */
export type Actor =
  /** A control-plane caller with a verified operator JWT. */
  | { kind: "operator"; sub: string; role: OperatorRole; tenant: string }
  /** An agent with a verified security token (agent plane: its own tools, its own approvals). */
  | {
      kind: "agent";
      sub: string;
      tenant: string;
      securityContext: string;
      executionId: string | null;
      /** The session's `allowed_tool_patterns`, when the token is session-bound. */
      sessionToolPatterns?: string[];
    }
  /** A `seal-gateway` command run with the gateway's own configuration (trusted as its role). */
  | { kind: "cli"; sub: string; role: OperatorRole; tenant: string }
  /** The gateway itself (policy, background work): every tenant, every role. */
  | { kind: "system"; sub: string };

/** An actor allowed to act on the control plane, as the verbs' tenancy helpers read it. */
export interface Principal {
  sub: string;
  role: OperatorRole;
  /** A tenant, or "*" (admin across tenants). */
  tenant: string;
}

/** What every service verb receives besides its input. */
export interface ServiceContext {
  actor: Actor;
  /** Correlates the verb's log lines and rows with the transport's request. */
  requestId: string;
  deps: ServiceDeps;
  /** For verbs that outlive a plain answer (the event stream): the request's lifetime and token. */
  request?: { signal: AbortSignal; tokenExpiresAtMs: number };
}

/** The one shape of a verb call: `verbEntity({ ctx, input })`; the verb parses `input` itself. */
export interface VerbCall {
  ctx: ServiceContext;
  input?: unknown;
}

/**
 * The verb's first line: the caller holds at least `least` (DESIGN §7), else 403 wrong_role.
 * Returns the principal whose tenant the verb then scopes by.
 */
export function requireRole(ctx: ServiceContext, least: OperatorRole): Principal {
  const { actor } = ctx;
  if (actor.kind === "system") return { sub: actor.sub, role: "admin", tenant: "*" };
  if (actor.kind === "agent")
    throw new GatewayError("FORBIDDEN", "an agent may not use the control plane", { reason: "wrong_role" });
  if (!satisfies(actor.role, least))
    throw new GatewayError("FORBIDDEN", `role ${actor.role} may not do what ${least} does here`, {
      reason: "wrong_role",
    });
  return { sub: actor.sub, role: actor.role, tenant: actor.tenant };
}

/** The agent a verb of the agent plane runs for; anyone else is 403. */
export function requireAgent(ctx: ServiceContext): Extract<Actor, { kind: "agent" }> {
  if (ctx.actor.kind !== "agent")
    throw new GatewayError("FORBIDDEN", "only an agent may do this", { reason: "wrong_role" });
  return ctx.actor;
}

/** One tenant name, wherever a tenant is named (bodies, queries, manifests). */
export const TenantId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be a tenant name");
export type TenantId = z.infer<typeof TenantId>;

/** `{tenant_id?}`: the input of a listing or lookup that may name a tenant. */
export const InTenant = z.strictObject({ tenant_id: TenantId.optional() });
export type InTenant = z.infer<typeof InTenant>;

/** `{id}`: the input of a verb on one object named by its id (a session, key, spec, approval). */
export const ById = z.strictObject({ id: z.string().min(1) });
export type ById = z.infer<typeof ById>;

function issuesToProblems(issues: z.core.$ZodIssue[]) {
  return issues.flatMap((i) => {
    const base = i.path.map(String);
    // One problem per unknown field at its own path, so the caller sees which field to drop.
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ path: [...base, k].join("."), message: "unknown field" }));
    return [{ path: base.join("."), message: i.message }];
  });
}

/**
 * The verb's second line: its input, parsed by its own schema. `kind` names what was refused:
 * a document (`invalid_body`) or a filter (`invalid_query`).
 */
export function parseInput<T>(
  schema: z.ZodType<T>,
  input: unknown,
  kind: "invalid_body" | "invalid_query" = "invalid_body",
): T {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new GatewayError(
      "BAD_REQUEST",
      kind === "invalid_body" ? "the request body is invalid" : "the query is invalid",
      { reason: kind, problems: issuesToProblems(parsed.error.issues) },
    );
  }
  return parsed.data;
}

/**
 * The tenant an operator acts in. A tenant-bound token acts in its own tenant only; an
 * admin with tenant "*" names one explicitly (or gets "default").
 */
export function actingTenant(actor: Principal, requested: string | undefined): string {
  if (actor.tenant !== "*") {
    if (requested !== undefined && requested !== actor.tenant) {
      throw new GatewayError("FORBIDDEN", "this token cannot act in another tenant", {
        reason: "wrong_tenant",
      });
    }
    return actor.tenant;
  }
  return requested ?? "default";
}

/**
 * The tenant a listing reads: a tenant-bound token reads its own tenant only; an admin with
 * tenant "*" reads the named tenant, or every tenant ("*") when none is named.
 */
export function listingTenant(actor: Principal, requested: string | undefined): string {
  if (actor.tenant !== "*") {
    if (requested !== undefined && requested !== actor.tenant) {
      throw new GatewayError("FORBIDDEN", "this token cannot read another tenant", {
        reason: "wrong_tenant",
      });
    }
    return actor.tenant;
  }
  return requested ?? "*";
}

/** True when the actor may see rows of `tenantId`. */
export function canSee(actor: Principal, tenantId: string): boolean {
  return actor.tenant === "*" || actor.tenant === tenantId;
}

export function notFound(what: string): GatewayError {
  return new GatewayError("NOT_FOUND", `${what} not found`, { reason: "not_found" });
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
