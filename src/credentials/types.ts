/**
 * The credential port (DESIGN §4): what an engine asks for before it calls an upstream. The
 * resolver turns a tool's `credential_path` into a short-lived credential that decorates each
 * outgoing request; the backends (built-in store, OpenBao, Keycloak…) implement it.
 *
 * Contract for callers: resolve once per tool call, before the first request; decorate every
 * request at the moment it is sent (retries included); scrub `secrets()` from everything
 * that comes back; always `release()` (in a finally), which revokes leases. A resolver that
 * cannot produce a credential for a non-null path throws CREDENTIAL_UNAVAILABLE — it never
 * returns null for a path that is set, so no call goes out unauthenticated.
 */

import type { IndexedSpec, SpecOperation } from "../engines/openapi/types.js";
import { GatewayError } from "../errors.js";
import type { BuiltinSecrets } from "./builtin-store.js";
import type { CallInfo } from "./call-scope.js";

export interface CredentialRequest {
  tenantId: string;
  /** The tool's `credential_path` as registered (externally tagged), or null for none. */
  credentialPath: unknown | null;
  spec: IndexedSpec;
  /** The operation of the first request (its security requirements pick the injection). */
  operation: SpecOperation;
  signal: AbortSignal;
  /**
   * The call this credential is for (audit ids, the per-call secret sink). Optional: when
   * absent the resolver uses the pipeline's call scope (src/credentials/call-scope.ts).
   */
  call?: CallInfo;
}

export interface OutgoingRequest {
  /** Mutable: an apiKey-in-query scheme adds its parameter here. */
  url: URL;
  /** Mutable, lowercase names. */
  headers: Record<string, string>;
  /** The operation this request calls, when the caller knows it (per-operation schemes). */
  operation?: SpecOperation;
}

export interface ResolvedCredential {
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

/** A credential wanted as a bare value (a CLI tool's container environment variable). */
export interface ValueRequest {
  tenantId: string;
  /** One `env_credentials` entry as registered (externally tagged). */
  credentialPath: unknown;
  signal: AbortSignal;
  call?: CallInfo;
}

export interface ResolvedValue {
  value: string;
  /** Ends the credential's life (lease revocation); idempotent. */
  release(): Promise<void>;
}

export interface CredentialResolver {
  /** Null only when `credentialPath` is null; otherwise a credential or a thrown GatewayError. */
  resolve(input: CredentialRequest): Promise<ResolvedCredential | null>;
  /**
   * The credential's value itself, audited like `resolve` and added to the call's sink before
   * it is returned. Absent on a resolver that cannot hand out values: callers fail closed.
   */
  resolveValue?(input: ValueRequest): Promise<ResolvedValue>;
  /** The built-in encrypted store behind this resolver, when it has one (the secrets API). */
  readonly builtin?: BuiltinSecrets;
}

/** The resolver when no credential backend is configured: fails closed on any path. */
export const noCredentials: CredentialResolver = {
  async resolve(input) {
    if (input.credentialPath === null || input.credentialPath === undefined) return null;
    throw new GatewayError("CREDENTIAL_UNAVAILABLE", "no credential backend is configured for this tool", {
      reason: "backend_not_configured",
    });
  },
};
