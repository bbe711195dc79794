/**
 * The credential port (DESIGN §4): what an engine asks for before it reaches an upstream. The
 * resolver (src/credentials/resolver.ts) turns one `credential_path` into a value for one call,
 * through the backend that serves the path's variant (src/credentials/backends/), audits the
 * outcome, registers the value in the call's sink for scrubbing, and hands back a release that
 * ends the credential's life (a lease revoked). Where the value goes — HTTP headers for an
 * OpenAPI operation, container environment for a CLI tool — is the engine's business
 * (src/engines/openapi/credential.ts, src/services/cli-tool-source.ts), never the backend's.
 *
 * Contract for engines: obtain before the first request or the container start; always
 * release (in a finally); a failure is a thrown CREDENTIAL_UNAVAILABLE and nothing is sent.
 */

import { GatewayError } from "../errors.js";
import type { BuiltinSecrets } from "./builtin-store.js";
import type { SecretSink } from "./redaction.js";

/**
 * Who a credential is for — the audit ids — and where its values go to be scrubbed. Passed
 * explicitly by every engine (the one channel): the pipeline builds it from the call's facts.
 */
export interface CallInfo {
  tenantId: string;
  executionId: string | null;
  callId: string | null;
  agentId: string | null;
  toolName: string | null;
  /** The security context the call was authorized under (absent for an operator's own call). */
  securityContext?: string;
  /** Receives every value obtained for the call (the answer, errors and audit are scrubbed with it). */
  sink: SecretSink;
  /**
   * The end user's token from `params._meta["seal/user_token"]` (signed with the envelope),
   * for delegated variants. Never stored, logged or echoed; a backend verifies it itself.
   */
  userToken?: string;
}

export interface CredentialRequest {
  /** The tool's `credential_path` as registered (externally tagged). */
  credentialPath: unknown;
  call: CallInfo;
  signal: AbortSignal;
  /**
   * The engine's rule for where the value goes: called with null before any backend is asked
   * (can this call carry a credential at all?) and with the value once it is known. Throws a
   * GatewayError (4010) to refuse; its message must never hold the value.
   */
  check?(value: string | null): void;
  /** Forms of the value to scrub besides the value itself (e.g. a basic secret's password). */
  scrubForms?(value: string): string[];
}

export interface Credential {
  readonly value: string;
  /** Ends the credential's life (a lease revoked); idempotent, never throws. */
  release(): Promise<void>;
}

export interface CredentialResolver {
  /** A credential for the path, or a thrown GatewayError (4010): never a call without one. */
  obtain(input: CredentialRequest): Promise<Credential>;
  /** The built-in encrypted store behind this resolver, when it has one (the secrets API). */
  readonly builtin?: BuiltinSecrets;
}

/** The resolver when no credential backend is configured: fails closed on any path. */
export const noCredentials: CredentialResolver = {
  async obtain() {
    throw new GatewayError("CREDENTIAL_UNAVAILABLE", "no credential backend is configured for this tool", {
      reason: "backend_not_configured",
    });
  },
};
