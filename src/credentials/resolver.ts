import type { EventInput } from "../audit/recorder.js";
import type { IndexedSpec } from "../engines/openapi/types.js";
import { GatewayError } from "../errors.js";
import { type BuiltinSecrets, SecretUnreadableError } from "./builtin-store.js";
import { type CallInfo, currentCall } from "./call-scope.js";
import { checkedPlan, type Injectable, inject } from "./injection.js";
import { parseCredentialPath } from "./path.js";
import type { CredentialRequest, CredentialResolver, ResolvedCredential, ValueRequest } from "./types.js";

/**
 * The credential stage (DESIGN §4): turns a tool's `credential_path` into a credential for one
 * call, at the last moment. StaticRef reads the built-in encrypted store; the other variants
 * are recognised and refused (4010 `backend_not_configured`) until their backends exist.
 * Every outcome is audited — CredentialExchangeCompleted with path, key and fingerprint only,
 * CredentialExchangeFailed with the reason — and every failure stops the call before anything
 * is sent (fail closed, never an unauthenticated call).
 */

export interface ResolverDeps {
  secrets: BuiltinSecrets;
  audit: { record(input: EventInput): Promise<string> };
}

type Variant = "StaticRef" | "SystemJit" | "HumanDelegated" | "UserBound" | "Auto";

function eventBase(
  tenantId: string,
  call: CallInfo | undefined,
): Omit<EventInput, "eventType" | "decision" | "payload"> {
  return {
    tenantId,
    executionId: call?.executionId ?? null,
    callId: call?.callId ?? null,
    agentId: call?.agentId ?? null,
    toolName: call?.toolName ?? null,
    stage: "credentials",
    code: null,
    requestId: null,
  };
}

/**
 * The values to scrub for one secret: the value, and — when any operation of the spec sends
 * it as http basic — the password on its own, which an upstream may echo without the user.
 */
function scrubValues(value: string, spec: IndexedSpec): string[] {
  const out = [value];
  const colon = value.indexOf(":");
  const basic = [...spec.securitySchemes.values()].some((s) => s.injection.kind === "basic");
  if (basic && colon >= 0 && colon < value.length - 1) out.push(value.slice(colon + 1));
  return out;
}

export function createCredentialResolver(
  deps: ResolverDeps,
): CredentialResolver & { builtin: BuiltinSecrets } {
  const fail = async (
    input: CredentialRequest | ValueRequest,
    call: CallInfo | undefined,
    facts: { variant: string | null; key?: string },
    err: GatewayError,
  ): Promise<never> => {
    await deps.audit.record({
      ...eventBase(input.tenantId, call),
      eventType: "CredentialExchangeFailed",
      decision: "reject",
      code: err.code,
      payload: {
        credential_path: facts.variant,
        ...(facts.key !== undefined ? { key: facts.key } : {}),
        reason: err.details.reason,
      },
    });
    throw err;
  };
  const unavailable = (reason: string, message: string) =>
    new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

  /** Parses the path and reads a StaticRef's value: the steps `resolve` and `resolveValue` share. */
  const readStatic = async (
    input: CredentialRequest | ValueRequest,
    call: CallInfo | undefined,
    beforeRead: (facts: { variant: string; key: string }) => Promise<void>,
  ) => {
    const parsed = parseCredentialPath(input.credentialPath);
    if (!parsed.ok) {
      return await fail(
        input,
        call,
        { variant: null },
        unavailable("invalid_credential_path", "the tool's credential_path is invalid"),
      );
    }
    const variant = Object.keys(parsed.path)[0] as Variant;
    if (!("StaticRef" in parsed.path)) {
      return await fail(
        input,
        call,
        { variant },
        unavailable(
          "backend_not_configured",
          `the ${variant} credential backend is not configured on this gateway`,
        ),
      );
    }
    const key = parsed.path.StaticRef.key;
    const facts = { variant, key };
    await beforeRead(facts);
    const row = await deps.secrets.get(input.tenantId, key);
    if (!row) {
      return await fail(
        input,
        call,
        facts,
        unavailable("secret_not_found", `no secret ${JSON.stringify(key)} in the built-in store`),
      );
    }
    try {
      return { value: deps.secrets.open(row), row, facts };
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      return await fail(
        input,
        call,
        facts,
        unavailable(
          "secret_unreadable",
          `the secret ${JSON.stringify(key)} cannot be decrypted (wrong master key or altered data)`,
        ),
      );
    }
  };
  const completed = async (
    tenantId: string,
    call: CallInfo | undefined,
    facts: { variant: string; key: string },
    fingerprint: string,
  ) => {
    await deps.audit.record({
      ...eventBase(tenantId, call),
      eventType: "CredentialExchangeCompleted",
      decision: "allow",
      payload: { credential_path: facts.variant, key: facts.key, fingerprint },
    });
  };
  const callOf = (input: CredentialRequest | ValueRequest) => {
    const scoped = currentCall();
    // Explicit ids win; the scope's sink is kept so the pipeline still scrubs with the value.
    return input.call ? { ...input.call, sink: input.call.sink ?? scoped?.sink } : scoped;
  };

  return {
    builtin: deps.secrets,
    async resolve(input) {
      if (input.credentialPath === null || input.credentialPath === undefined) return null;
      const call = callOf(input);
      let targets: Injectable[] = [];
      const read = await readStatic(input, call, async (facts) => {
        try {
          // Before the secret is read: a tool whose operation cannot carry it is refused as is.
          targets = checkedPlan(input.spec, input.operation, null);
        } catch (err) {
          if (err instanceof GatewayError) await fail(input, call, facts, err);
          throw err;
        }
      });
      let value: string | null = read.value;
      const { facts } = read;
      try {
        checkedPlan(input.spec, input.operation, value);
      } catch (err) {
        if (err instanceof GatewayError) return await fail(input, call, facts, err);
        throw err;
      }
      const scrub = scrubValues(value, input.spec);
      // Registered before anything can go wrong further on, so every error text is scrubbed.
      call?.sink?.add(scrub);
      await completed(input.tenantId, call, facts, read.row.fingerprint);
      const first = input.operation;
      const credential: ResolvedCredential = {
        decorate(req) {
          if (value === null) throw unavailable("credential_released", "the credential was already released");
          const op = req.operation ?? first;
          // Another operation of the same spec may declare other schemes: planned per request.
          inject(op === first ? targets : checkedPlan(input.spec, op, value), value, req);
        },
        secrets: () => [...scrub],
        async release() {
          value = null;
        },
      };
      return credential;
    },
    async resolveValue(input) {
      const call = callOf(input);
      const read = await readStatic(input, call, async () => {});
      // Registered before anything can go wrong further on, so every error text is scrubbed.
      call?.sink?.add([read.value]);
      await completed(input.tenantId, call, read.facts, read.row.fingerprint);
      return { value: read.value, release: async () => {} };
    },
  };
}
