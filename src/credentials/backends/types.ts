import type { CREDENTIAL_VARIANTS, CredentialPath } from "../path.js";
import type { CallInfo } from "../types.js";

/**
 * A credential backend (DESIGN §4): serves one or more `credential_path` variants. It knows
 * where a value comes from — the built-in store, OpenBao, Keycloak — and nothing of where it
 * goes (the engine injects it) or of the audit (the resolver records every outcome).
 *
 * To add one: a file beside this one exporting a factory that returns a CredentialBackend,
 * and its settings schema in `backends/index.ts`'s table, so `secrets.backends.<name>` is
 * validated by the backend it configures.
 */

export type CredentialVariant = (typeof CREDENTIAL_VARIANTS)[number];

/** A lease on a dynamic credential: released (revoked) when the call ends. */
export interface Lease {
  id: string;
}

export interface Obtained {
  value: string;
  /**
   * Facts for the audit row: identifiers and fingerprints only, never the value. `key` names
   * the secret a variant without a key of its own resolved to (UserBound: the binding's).
   */
  facts?: { fingerprint?: string; key?: string; bindingId?: string };
  lease?: Lease;
  /** Parts of the value that are secrets on their own (a password inside `user:password`): scrubbed too. */
  scrub?: string[];
}

export interface CredentialBackend {
  readonly name: string;
  readonly variants: readonly CredentialVariant[];
  /**
   * The value for one parsed path of one of `variants`. Throws a GatewayError (4010 with a
   * `reason`) to refuse; any other error is reported as `backend_error` without its message.
   */
  obtain(path: CredentialPath, call: CallInfo, signal: AbortSignal): Promise<Obtained>;
  /**
   * Ends a lease this backend handed out (retrying as it sees fit), answering how many attempts
   * it took. Throws when it could not revoke it, with `attempts` and `reason` on the error.
   */
  release?(lease: Lease): Promise<{ attempts: number }>;
}
