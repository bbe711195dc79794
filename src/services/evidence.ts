import { z } from "zod";
import { buildEvidence, EvidenceTooLarge, MAX_EVIDENCE_EVENTS } from "../audit/evidence.js";
import { GatewayError } from "../errors.js";
import { parseInput, requireRole, type VerbCall } from "./context.js";

/**
 * GET /v1/executions/{execution_id}/evidence and GET /v1/audit/keys (DESIGN §6): one
 * execution's evidence pack, and the public keys an auditor checks it with offline
 * (`seal-gateway audit verify --evidence FILE --keys FILE`).
 */

export const EvidenceInput = z.strictObject({ execution_id: z.string().min(1).max(200) });

export async function exportEvidence({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const { execution_id } = parseInput(EvidenceInput, input);
  const { deps } = ctx;
  try {
    // Scoped like /v1/events: another tenant's execution is one this token cannot see (404).
    const pack = await buildEvidence(
      deps.store,
      { tenantId: actor.tenant, executionId: execution_id },
      deps.keyring.active,
      deps.clock.nowMs(),
    );
    if (!pack) throw new GatewayError("NOT_FOUND", "no events of this execution", { reason: "not_found" });
    return pack;
  } catch (err) {
    if (!(err instanceof EvidenceTooLarge)) throw err;
    throw new GatewayError(
      "BAD_REQUEST",
      `the execution has more than ${MAX_EVIDENCE_EVENTS} events; page through GET /v1/events?execution_id=… instead`,
      { reason: "too_many_events", max_events: MAX_EVIDENCE_EVENTS },
    );
  }
}

export const AuditKeysQuery = z.strictObject({});

/** The gateway's signing keys (active and retired) as a JWKS: what checkpoints and packs verify with. */
export async function listAuditKeys({ ctx, input }: VerbCall) {
  requireRole(ctx, "viewer");
  parseInput(AuditKeysQuery, input ?? {}, "invalid_query");
  const keys = [...ctx.deps.keyring.publicKeys()].map(([kid, key]) => {
    const jwk = key.export({ format: "jwk" });
    return { kty: "OKP", crv: "Ed25519", x: String(jwk.x), kid, alg: "EdDSA", use: "sig" };
  });
  return { keys };
}
