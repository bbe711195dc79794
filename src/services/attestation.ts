/**
 * `POST /v1/seal/attest` (DESIGN §7, RFC §6): a workload proves who it is through the
 * configured verifier and receives an agent token bound to its ephemeral Ed25519 key by `cnf`
 * (RFC 7800), for one security context its verified workload may request. Off — every request
 * refused with 3002 `attestation_disabled` — when no verifier is configured (fail closed).
 *
 * Order: body shape and key (3002) → workload (3000, the verifier) → the context is one the
 * workload's label names (3000) → the context exists in the workload's tenant (3001) → token.
 * Refusals before the workload verified belong to the `system` tenant and are audited
 * rate-limited per source address, like unauthenticated envelopes; later ones in the
 * workload's tenant. The success row is written before the token is returned (no audit, no
 * token).
 */
import { z } from "zod";
import { attestationFailed, type WorkloadVerifier, workloadRefused } from "../attestation/verifier.js";
import { SYSTEM_TENANT } from "../audit/recorder.js";
import { GatewayError, isGatewayError } from "../errors.js";
import { decodePublicKey } from "../seal/ed25519.js";
import { type ServiceDeps, TenantId } from "./context.js";

export interface AttestationSettings {
  verifier: WorkloadVerifier;
  ttlSeconds: number;
}

const ContextName = z.string().regex(/^[a-z][a-z0-9-]*$/);

/** DESIGN names `security_context`; the RFC's `requested_scope` is accepted as its alias. */
export const AttestInput = z
  .strictObject({
    public_key: z.string().min(1).max(512),
    workload_id: z.string().min(1).max(256),
    security_context: ContextName.optional(),
    requested_scope: ContextName.optional(),
  })
  .refine((v) => (v.security_context ?? v.requested_scope) !== undefined, {
    message: "security_context is required",
    path: ["security_context"],
  })
  .refine((v) => !(v.security_context && v.requested_scope && v.security_context !== v.requested_scope), {
    message: "security_context and requested_scope differ",
    path: ["requested_scope"],
  });

export interface AttestAnswer {
  status: "success";
  security_token: string;
  expires_at: string;
  workload_id: string;
  security_context: string;
  tenant_id: string;
}

interface Attempt {
  address: string;
  workloadId: string | null;
  context: string | null;
  tenantId: string | null;
}

async function refuse(deps: ServiceDeps, err: GatewayError, a: Attempt): Promise<never> {
  const event = {
    eventType: "AttestationFailed" as const,
    executionId: null,
    callId: null,
    agentId: null,
    toolName: null,
    decision: "reject" as const,
    stage: "attest" as const,
    code: err.code,
    requestId: null,
    payload: {
      reason: err.details.reason,
      source: a.address,
      ...(a.workloadId ? { workload_id: a.workloadId } : {}),
      ...(a.context ? { security_context: a.context } : {}),
    },
  };
  if (a.tenantId) await deps.audit.record({ ...event, tenantId: a.tenantId });
  else await deps.audit.recordPreauth(a.address, { ...event, tenantId: SYSTEM_TENANT });
  throw err;
}

export async function attest(
  deps: ServiceDeps,
  input: unknown,
  request: { address: string },
): Promise<AttestAnswer> {
  const attempt: Attempt = { address: request.address, workloadId: null, context: null, tenantId: null };
  const settings = deps.attestation;
  if (!settings)
    return await refuse(
      deps,
      attestationFailed("attestation_disabled", "attestation is off: no workload verifier is configured"),
      attempt,
    );
  const parsed = AttestInput.safeParse(input);
  if (!parsed.success) {
    const problem = parsed.error.issues[0];
    const field = problem?.path.join(".") || "body";
    const err = new GatewayError("ATTESTATION_FAILED", `invalid attestation request: ${field}`, {
      reason: "invalid_request",
      field,
    });
    return await refuse(deps, err, attempt);
  }
  const body = parsed.data;
  const context = (body.security_context ?? body.requested_scope) as string;
  attempt.context = context;
  const key = decodePublicKey(body.public_key);
  if (!key.ok) return await refuse(deps, attestationFailed("bad_key", `public_key: ${key.message}`), attempt);

  let facts: Awaited<ReturnType<WorkloadVerifier["verify"]>>;
  try {
    facts = await settings.verifier.verify(body.workload_id, request);
  } catch (err) {
    const e = isGatewayError(err)
      ? err
      : attestationFailed("verifier_error", "the workload could not be verified");
    if (!isGatewayError(err)) deps.log.warn("attestation verifier failed", { err });
    return await refuse(deps, e, { ...attempt, workloadId: body.workload_id });
  }
  attempt.workloadId = facts.workloadId;
  if (!TenantId.safeParse(facts.tenantId).success)
    return await refuse(
      deps,
      workloadRefused("bad_tenant_label", "the workload's tenant label is invalid"),
      attempt,
    );
  attempt.tenantId = facts.tenantId;
  if (!facts.contexts.includes(context))
    return await refuse(
      deps,
      workloadRefused("context_not_permitted", "the workload may not request this security context"),
      attempt,
    );
  if (!(await deps.contexts.load(facts.tenantId, context))) {
    const err = new GatewayError("ATTESTATION_SCOPE_NOT_FOUND", "no such security context", {
      reason: "context_not_found",
    });
    return await refuse(deps, err, attempt);
  }

  const nowSeconds = Math.floor(deps.clock.nowMs() / 1000);
  const { token, claims } = deps.tokens.mintAgentToken({
    sub: `docker:${facts.workloadId}`,
    scp: context,
    wid: facts.workloadId,
    tenantId: facts.tenantId,
    ttlSeconds: settings.ttlSeconds,
    nowSeconds,
    cnfJwk: { kty: "OKP", crv: "Ed25519", x: key.key.base64url },
  });
  const expiresAt = new Date(claims.exp * 1000).toISOString();
  await deps.audit.record({
    eventType: "AttestationSucceeded",
    tenantId: facts.tenantId,
    executionId: claims.jti,
    callId: null,
    agentId: claims.sub,
    toolName: null,
    decision: "allow",
    stage: "attest",
    code: null,
    requestId: null,
    payload: {
      workload_id: facts.workloadId,
      security_context: context,
      token_jti: claims.jti,
      expires_at: expiresAt,
      public_key_b64: key.key.base64,
      source: request.address,
    },
  });
  return {
    status: "success",
    security_token: token,
    expires_at: expiresAt,
    workload_id: facts.workloadId,
    security_context: context,
    tenant_id: facts.tenantId,
  };
}
