import { type EventInput, SYSTEM_TENANT } from "../audit/recorder.js";
import type { Stage } from "../audit/vocabulary.js";
import { GatewayError } from "../errors.js";
import type { Envelope } from "../seal/envelope.js";
import { AuthError } from "./agent-token.js";
import type { Authenticated } from "./authenticate.js";
import {
  auditRequestId,
  type CallOutcome,
  errorOutcome,
  type PipelineDeps,
  type ResolvedSource,
  via,
} from "./call.js";

/**
 * The audited rejection: every refused call leaves an EnvelopeRejected row before the answer
 * leaves. In the token's tenant once the token verified, else in `system` through the
 * per-source budget (unauthenticated traffic cannot flood the audit store). A failed audit
 * write turns the answer into that failure (5030): no audit, no answer that pretends otherwise.
 */

export interface RejectionFacts {
  source: ResolvedSource;
  callId: string | null;
  requestId: string | number | null;
  env?: Envelope | undefined;
  auth?: Authenticated | undefined;
  stage: Stage;
  /** The read-only surface refused (e.g. "GET /v1/tools"), when it was not an envelope call. */
  surface?: string;
}

export async function recordRejection(
  deps: Pick<PipelineDeps, "audit" | "clock">,
  err: GatewayError,
  f: RejectionFacts,
): Promise<Extract<CallOutcome, { status: "error" }>> {
  const claims = f.auth?.claims ?? (err instanceof AuthError ? err.claims : null);
  const event: Omit<EventInput, "tenantId"> = {
    eventType: "EnvelopeRejected",
    executionId: f.auth?.executionId ?? claims?.exec_id ?? claims?.jti ?? null,
    callId: f.callId,
    agentId: claims?.sub ?? null,
    toolName: f.env?.toolName || null,
    decision: "reject",
    stage: f.stage,
    code: err.code,
    requestId: auditRequestId(f.requestId),
    payload: {
      reason: err.details.reason,
      message: err.message,
      source: f.source.address,
      ...via(f.source),
      ...(f.surface ? { surface: f.surface } : {}),
    },
  };
  try {
    if (claims)
      await deps.audit.record({ ...event, tenantId: f.auth?.tenantId ?? claims.tenant_id ?? "default" });
    else await deps.audit.recordPreauth(f.source.address, { ...event, tenantId: SYSTEM_TENANT });
  } catch (auditErr) {
    if (auditErr instanceof GatewayError)
      return errorOutcome(auditErr, f.requestId, f.callId ?? "", deps.clock.nowMs());
    throw auditErr;
  }
  return errorOutcome(err, f.requestId, f.callId ?? "", deps.clock.nowMs());
}

/** The answer to an error nobody classified: the caller sees an id, the log has the detail. */
export function internalError(callId: string): GatewayError {
  return new GatewayError("INTERNAL", `internal error (request id ${callId})`, { reason: "internal" });
}
