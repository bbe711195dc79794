import type { CallInfo, CredentialResolver } from "../../credentials/types.js";
import { GatewayError } from "../../errors.js";
import { checkedPlan, type Injectable, inject } from "./credential-injection.js";
import type { IndexedSpec, SpecOperation } from "./types.js";

/**
 * A credential on OpenAPI requests (DESIGN §4): obtained once per call through the resolver,
 * placed on each request as the operation's `securitySchemes` say (bearer, basic, apiKey in
 * header, query or cookie; by default `Authorization: Bearer`). The placement is checked before
 * the backend is asked and again on the value, so a tool whose operation cannot carry the
 * credential is refused with nothing sent.
 */

export interface OutgoingRequest {
  /** Mutable: an apiKey-in-query scheme adds its parameter here. */
  url: URL;
  /** Mutable, lowercase names. */
  headers: Record<string, string>;
  /** The operation this request calls, when the caller knows it (per-operation schemes). */
  operation?: SpecOperation;
}

export interface RequestCredential {
  /**
   * Puts the credential on one request; called for every request, at send time. Throws
   * CREDENTIAL_UNAVAILABLE when the request's operation cannot carry it (nothing is sent).
   */
  decorate(req: OutgoingRequest): void;
  /** Every value to scrub from responses and errors (the caller adds encoded forms). */
  secrets(): string[];
  /** Ends the credential's life (lease revocation); idempotent. */
  release(): Promise<void>;
}

/**
 * The values to scrub for one secret: the value, and — when any operation of the spec sends
 * it as http basic — the password on its own, which an upstream may echo without the user.
 */
function basicPassword(value: string, spec: IndexedSpec): string[] {
  const colon = value.indexOf(":");
  const basic = [...spec.securitySchemes.values()].some((s) => s.injection.kind === "basic");
  return basic && colon >= 0 && colon < value.length - 1 ? [value.slice(colon + 1)] : [];
}

export interface RequestCredentialInput {
  credentials: CredentialResolver;
  /** The tool's `credential_path`, or null for a tool without one (then no credential). */
  credentialPath: unknown | null;
  call: CallInfo;
  spec: IndexedSpec;
  /** The operation of the first request (its security requirements pick the injection). */
  operation: SpecOperation;
  signal: AbortSignal;
}

export async function requestCredential(input: RequestCredentialInput): Promise<RequestCredential | null> {
  if (input.credentialPath === null || input.credentialPath === undefined) return null;
  const { spec, operation: first } = input;
  let targets: Injectable[] = [];
  const obtained = await input.credentials.obtain({
    credentialPath: input.credentialPath,
    call: input.call,
    signal: input.signal,
    check(value) {
      targets = checkedPlan(spec, first, value);
    },
    scrubForms: (value) => basicPassword(value, spec),
  });
  let value: string | null = obtained.value;
  const scrub = [obtained.value, ...basicPassword(obtained.value, spec)];
  return {
    decorate(req) {
      if (value === null)
        throw new GatewayError("CREDENTIAL_UNAVAILABLE", "the credential was already released", {
          reason: "credential_released",
        });
      const op = req.operation ?? first;
      // Another operation of the same spec may declare other schemes: planned per request.
      inject(op === first ? targets : checkedPlan(spec, op, value), value, req);
    },
    secrets: () => [...scrub],
    async release() {
      value = null;
      await obtained.release();
    },
  };
}
