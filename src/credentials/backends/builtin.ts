import { GatewayError } from "../../errors.js";
import { type BuiltinSecrets, SecretUnreadableError } from "../builtin-store.js";
import type { CredentialBackend } from "./types.js";

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

/** StaticRef from the built-in encrypted store (the tenant's own keys only; no lease). */
export function builtinBackend(secrets: BuiltinSecrets): CredentialBackend {
  return {
    name: "builtin",
    variants: ["StaticRef"],
    async obtain(path, call) {
      if (!("StaticRef" in path)) throw unavailable("backend_not_configured", "not a StaticRef path");
      const key = path.StaticRef.key;
      if (path.StaticRef.field !== undefined)
        throw unavailable(
          "field_not_supported",
          "a built-in secret is one value: field applies to OpenBao entries",
        );
      const row = await secrets.get(call.tenantId, key);
      if (!row)
        throw unavailable("secret_not_found", `no secret ${JSON.stringify(key)} in the built-in store`);
      try {
        return { value: secrets.open(row), facts: { fingerprint: row.fingerprint } };
      } catch (err) {
        if (!(err instanceof SecretUnreadableError)) throw err;
        throw unavailable(
          "secret_unreadable",
          `the secret ${JSON.stringify(key)} cannot be decrypted (wrong master key or altered data)`,
        );
      }
    },
  };
}
