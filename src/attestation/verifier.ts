/**
 * The workload verifier port of `POST /v1/seal/attest` (DESIGN §7, RFC §6.2.2): it proves that
 * `workload_id` names a live workload and says which security contexts that workload may
 * request, in which tenant. Refusals are GatewayErrors (3000 the workload, 3002 the verifier);
 * the attestation verb decides the rest (context exists → else 3001, token, audit).
 */
import { GatewayError } from "../errors.js";

export interface WorkloadFacts {
  /** The verified workload id, as the token's `wid`. */
  workloadId: string;
  tenantId: string;
  /** Context names the workload may request (from its label). */
  contexts: readonly string[];
}

export interface WorkloadVerifier {
  /** `address` is the requester's network address (the verifier may require it to be the workload's). */
  verify(workloadId: string, request: { address: string }): Promise<WorkloadFacts>;
}

export function workloadRefused(reason: string, message: string): GatewayError {
  return new GatewayError("ATTESTATION_WORKLOAD_FAILED", message, { reason });
}

export function attestationFailed(reason: string, message: string): GatewayError {
  return new GatewayError("ATTESTATION_FAILED", message, { reason });
}
