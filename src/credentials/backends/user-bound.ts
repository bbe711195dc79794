import { GatewayError } from "../../errors.js";
import { matchToolPattern } from "../../policy/tool-patterns.js";
import type { CredentialBindingRow, CredentialBindingStore } from "../../store/types.js";
import { StaticRefBody } from "../path.js";
import type { CallInfo } from "../types.js";
import type { UserTokenVerifier } from "../user-token.js";
import type { CredentialBackend, Obtained } from "./types.js";

/**
 * UserBound (DESIGN §4): the end user's own secret. The user is the verified `sub` of the
 * user token (`params._meta["seal/user_token"]`, present only when the call's capability has
 * `delegated_credentials: true`) — never a claim the agent makes. The binding of (tenant, that
 * user, the path's provider) names a secret; one of its grants must match the tool (a tool
 * pattern) and, when the grant names one, the security context the call was authorized under.
 * The secret is then read as a StaticRef from the backend the binding names (else
 * `secrets.static_backend`), inside the call's tenant. Every step is read per call, so deleting
 * a binding or grant takes effect on the next call. Each refusal is 4010 with its reason.
 */

export interface UserBoundDeps {
  verifier: UserTokenVerifier;
  /** How many issuers of user tokens are trusted: with more than one, a binding must pin its own. */
  trustedIssuers: number;
  bindings: Pick<CredentialBindingStore, "findCredentialBinding">;
  /** The StaticRef backend by name; null: the configured default (`secrets.static_backend`). */
  staticBackend(name: string | null): CredentialBackend | undefined;
  nowSeconds(): number;
}

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

/** Whether one of the binding's grants covers this call (tool pattern, and context if named). */
export function grantCovers(binding: CredentialBindingRow, call: CallInfo): boolean {
  const tool = call.toolName;
  if (tool === null) return false;
  return binding.grants.some(
    (g) =>
      matchToolPattern(g.toolPattern, tool) &&
      (g.securityContext === null || g.securityContext === call.securityContext),
  );
}

export function userBoundBackend(deps: UserBoundDeps): CredentialBackend {
  return {
    name: "user-bound",
    variants: ["UserBound"],
    async obtain(path, call, signal): Promise<Obtained> {
      if (!("UserBound" in path)) throw unavailable("backend_not_configured", "not a UserBound path");
      const { provider } = path.UserBound;
      if (call.userToken === undefined)
        throw unavailable(
          "user_token_missing",
          "the call carries no end-user token, or its capability does not allow delegated credentials",
        );
      const user = await deps.verifier.verify(call.userToken, deps.nowSeconds());
      const binding = await deps.bindings.findCredentialBinding(call.tenantId, user.subject, provider);
      if (!binding)
        throw unavailable(
          "no_binding",
          `the end user has no credential binding for provider ${JSON.stringify(provider)} in this tenant`,
        );
      if (binding.userIssuer !== null ? binding.userIssuer !== user.issuer : deps.trustedIssuers > 1)
        throw unavailable(
          "binding_issuer",
          binding.userIssuer !== null
            ? "the end user's token comes from another issuer than the binding names"
            : "several issuers of user tokens are trusted, and the binding names none of them",
        );
      if (!grantCovers(binding, call))
        throw unavailable(
          "no_grant",
          `the binding for provider ${JSON.stringify(provider)} grants no use to this tool${call.securityContext ? " under this security context" : ""}`,
        );
      const backend = deps.staticBackend(binding.secretBackend);
      if (!backend)
        throw unavailable(
          "backend_not_configured",
          `the binding's secret backend ${JSON.stringify(binding.secretBackend ?? "default")} is not configured on this gateway`,
        );
      // The row was checked when it was written; read back, it is checked again (fail closed).
      const ref = StaticRefBody.safeParse({
        key: binding.secretKey,
        ...(binding.secretBackend !== null ? { backend: binding.secretBackend } : {}),
        ...(binding.secretField !== null ? { field: binding.secretField } : {}),
      });
      if (!ref.success) throw unavailable("invalid_binding", "the binding's secret reference is invalid");
      const read = await backend.obtain({ StaticRef: ref.data }, call, signal);
      return {
        ...read,
        // The agent holds the user token already; scrubbed so no upstream echo records it.
        scrub: [...(read.scrub ?? []), call.userToken],
        facts: { ...read.facts, key: binding.secretKey, bindingId: binding.id },
      };
    },
  };
}
