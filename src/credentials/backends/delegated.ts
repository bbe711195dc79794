import { GatewayError } from "../../errors.js";
import { type ExchangeClientConfig, exchangeToken } from "../token-exchange.js";
import type { UserTokenVerifier } from "../user-token.js";
import type { CredentialBackend, Obtained } from "./types.js";

/**
 * HumanDelegated and Auto (DESIGN §4). HumanDelegated: the end user's token — present only
 * when the call's capability has `delegated_credentials: true` — is verified (trusted issuer,
 * signature, audience = the exchanging client, expiry), then exchanged (RFC 8693) for a token
 * whose audience is the target service. Auto: with a user token, the same; without one,
 * SystemJit through the dynamic-secrets backend, whose lease this backend releases in turn.
 * Neither token is kept: the exchanged one lives for its call, and both are scrubbed from
 * everything the call answers or records.
 */

export interface DelegatedSettings extends ExchangeClientConfig {
  audienceMap: Readonly<Record<string, string>>;
}

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

export function delegatedBackend(
  settings: DelegatedSettings,
  deps: {
    verifier: UserTokenVerifier;
    fingerprint(value: string): string;
    nowSeconds(): number;
    /** The backend of SystemJit, for Auto without a user token. */
    systemJit?: CredentialBackend | undefined;
    exchange?: typeof exchangeToken;
  },
): CredentialBackend {
  const exchange = deps.exchange ?? exchangeToken;

  const delegate = async (target: string, token: string | undefined): Promise<Obtained> => {
    if (token === undefined)
      throw unavailable(
        "user_token_missing",
        "the call carries no end-user token, or its capability does not allow delegated credentials",
      );
    // Verified here, not trusted because it rode in a signed envelope: the agent signs any string.
    await deps.verifier.verify(token, deps.nowSeconds());
    const audience = settings.audienceMap[target] ?? target;
    const exchanged = await exchange(settings, token, audience);
    return {
      value: exchanged.accessToken,
      // The agent holds the user token already; it is scrubbed so no upstream echo records it.
      scrub: [token],
      facts: { fingerprint: deps.fingerprint(exchanged.accessToken) },
    };
  };

  return {
    name: "keycloak",
    variants: ["HumanDelegated", "Auto"],
    async obtain(path, call, signal) {
      if ("HumanDelegated" in path) return await delegate(path.HumanDelegated.target_service, call.userToken);
      if ("Auto" in path) {
        const auto = path.Auto;
        if (call.userToken !== undefined) return await delegate(auto.target_service, call.userToken);
        if (!deps.systemJit)
          throw unavailable(
            "backend_not_configured",
            "Auto without an end-user token needs SystemJit, and secrets.openbao is not configured",
          );
        return await deps.systemJit.obtain(
          {
            SystemJit: {
              openbao_engine_path: auto.system_jit_openbao_engine_path,
              role: auto.system_jit_role,
            },
          },
          call,
          signal,
        );
      }
      throw unavailable("backend_not_configured", "Keycloak serves HumanDelegated and Auto only");
    },
    async release(lease) {
      // Only Auto's SystemJit leg hands out leases; an exchanged token has none to end.
      if (!deps.systemJit?.release) return { attempts: 0 };
      return await deps.systemJit.release(lease);
    },
  };
}
