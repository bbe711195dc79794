import type { AuditRecorder, EventInput } from "../audit/recorder.js";
import type { EventType } from "../audit/vocabulary.js";
import type { OperatorIdentity, TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import type { CredentialResolver } from "../credentials/types.js";
import type { EgressClient } from "../egress/types.js";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { ContextCache } from "../policy/contexts.js";
import type { Store } from "../store/types.js";
import type { ToolRegistry } from "../tools/registry.js";
import type { SpecCache } from "./specs.js";

/** What every service verb receives: its dependencies, built once by the composition root. */
export interface ServiceDeps {
  store: Store;
  audit: AuditRecorder;
  tokens: TokenAuthority;
  clock: Clock;
  log: Logger;
  agentTokenTtlSeconds: number;
  tools: ToolRegistry;
  contexts: ContextCache;
  egress: EgressClient;
  specs: SpecCache;
  credentials: CredentialResolver;
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

/** The operator on whose behalf a control-plane verb runs. */
export type Actor = OperatorIdentity;

/**
 * The tenant an operator acts in. A tenant-bound token acts in its own tenant only; an
 * admin with tenant "*" names one explicitly (or gets "default").
 */
export function actingTenant(actor: Actor, requested: string | undefined): string {
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
export function listingTenant(actor: Actor, requested: string | undefined): string {
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
export function canSee(actor: Actor, tenantId: string): boolean {
  return actor.tenant === "*" || actor.tenant === tenantId;
}

export function notFound(what: string): GatewayError {
  return new GatewayError("NOT_FOUND", `${what} not found`, { reason: "not_found" });
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
