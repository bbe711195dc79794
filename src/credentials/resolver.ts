import type { EventInput } from "../audit/recorder.js";
import { GatewayError, isGatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { CredentialBackend, CredentialVariant, Lease } from "./backends/types.js";
import type { BuiltinSecrets } from "./builtin-store.js";
import { type CredentialPath, parseCredentialPath } from "./path.js";
import type { CallInfo, Credential, CredentialRequest, CredentialResolver } from "./types.js";

/**
 * The credential stage (DESIGN §4): one `credential_path` to one value, at the last moment,
 * through the backend that serves the path's variant. Every outcome is audited —
 * CredentialExchangeCompleted with the variant, key and fingerprint only,
 * CredentialExchangeFailed with the reason — and every failure stops the call before anything
 * is sent (fail closed, never an unauthenticated call). A variant no backend serves is refused
 * as 4010 `backend_not_configured`.
 */

export interface ResolverDeps {
  /** The backends, first match per variant wins (src/credentials/backends/index.ts builds them). */
  backends: readonly CredentialBackend[];
  audit: { record(input: EventInput): Promise<string> };
  /** The built-in store, exposed for the secrets API. */
  builtin?: BuiltinSecrets;
  /** The backend (by name) a StaticRef without its own `backend` reads from: `secrets.static_backend`. */
  staticBackend?: string;
  log?: Pick<Logger, "warn">;
}

/** The key (StaticRef) named in audit rows; other variants name no secret of their own. */
function auditKey(path: CredentialPath): { key?: string } {
  return "StaticRef" in path ? { key: path.StaticRef.key } : {};
}

function eventBase(call: CallInfo): Omit<EventInput, "eventType" | "decision" | "payload"> {
  return {
    tenantId: call.tenantId,
    executionId: call.executionId,
    callId: call.callId,
    agentId: call.agentId,
    toolName: call.toolName,
    stage: "credentials",
    code: null,
    requestId: null,
  };
}

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

export function createCredentialResolver(deps: ResolverDeps): CredentialResolver {
  const byVariant = new Map<CredentialVariant, CredentialBackend>();
  const byName = new Map<string, CredentialBackend>();
  for (const backend of deps.backends) {
    byName.set(backend.name, backend);
    for (const variant of backend.variants) if (!byVariant.has(variant)) byVariant.set(variant, backend);
  }
  /** StaticRef goes to the backend it names (else the configured default); others by variant. */
  const backendFor = (path: CredentialPath, variant: CredentialVariant) => {
    if (!("StaticRef" in path)) return byVariant.get(variant);
    const backend = byName.get(path.StaticRef.backend ?? deps.staticBackend ?? "builtin");
    return backend?.variants.includes("StaticRef") ? backend : undefined;
  };

  const refuse = async (
    call: CallInfo,
    facts: { variant: string | null; key?: string },
    err: GatewayError,
  ): Promise<never> => {
    await deps.audit.record({
      ...eventBase(call),
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

  /** Runs the engine's placement rule; its refusal is audited like the backend's. */
  const checked = async (
    input: CredentialRequest,
    facts: { variant: string; key?: string },
    value: string | null,
  ) => {
    try {
      input.check?.(value);
    } catch (err) {
      if (isGatewayError(err)) await refuse(input.call, facts, err);
      throw err;
    }
  };

  /**
   * A release that revokes the lease once and never throws. Both outcomes are audited
   * (CredentialLeaseRevoked, CredentialLeaseRevokeFailed after the backend's retries) and a
   * failure is logged; the lease id is not a secret, the backend's message may be: neither
   * reaches the caller.
   */
  const releaser = (
    backend: CredentialBackend,
    lease: Lease | undefined,
    call: CallInfo,
    variant: string,
  ) => {
    let done: Promise<void> | null = null;
    const record = async (input: Omit<EventInput, keyof ReturnType<typeof eventBase>>) => {
      try {
        await deps.audit.record({ ...eventBase(call), ...input });
      } catch {
        deps.log?.warn("credential lease outcome not recorded", {
          backend: backend.name,
          lease_id: lease?.id,
        });
      }
    };
    return () => {
      done ??= (async () => {
        if (!lease || !backend.release) return;
        try {
          const { attempts } = await backend.release(lease);
          await record({
            eventType: "CredentialLeaseRevoked",
            decision: null,
            payload: { credential_path: variant, lease_id: lease.id, attempts },
          });
        } catch (err) {
          const facts = err as { attempts?: unknown; reason?: unknown };
          deps.log?.warn("credential lease release failed", {
            backend: backend.name,
            lease_id: lease.id,
            execution_id: call.executionId,
          });
          await record({
            eventType: "CredentialLeaseRevokeFailed",
            decision: null,
            payload: {
              credential_path: variant,
              lease_id: lease.id,
              attempts: typeof facts.attempts === "number" ? facts.attempts : null,
              reason: typeof facts.reason === "string" ? facts.reason : "backend_error",
            },
          });
        }
      })();
      return done;
    };
  };

  return {
    ...(deps.builtin ? { builtin: deps.builtin } : {}),
    async obtain(input): Promise<Credential> {
      const { call } = input;
      const parsed = parseCredentialPath(input.credentialPath);
      if (!parsed.ok)
        return await refuse(
          call,
          { variant: null },
          unavailable("invalid_credential_path", "the tool's credential_path is invalid"),
        );
      const variant = Object.keys(parsed.path)[0] as CredentialVariant;
      const facts = { variant, ...auditKey(parsed.path) };
      const backend = backendFor(parsed.path, variant);
      if (!backend)
        return await refuse(
          call,
          facts,
          unavailable(
            "backend_not_configured",
            `the ${variant} credential backend is not configured on this gateway`,
          ),
        );
      // Before any backend is asked: a call that cannot carry a credential is refused as is.
      await checked(input, facts, null);
      let answer: Awaited<ReturnType<CredentialBackend["obtain"]>>;
      try {
        answer = await backend.obtain(parsed.path, call, input.signal);
      } catch (err) {
        // Fail closed, and never pass a backend's own message on (it may hold secret material).
        return await refuse(
          call,
          facts,
          isGatewayError(err) ? err : unavailable("backend_error", "the credential could not be obtained"),
        );
      }
      const release = releaser(backend, answer.lease, call, variant);
      const { value } = answer;
      // Registered before anything can go wrong further on, so every error text is scrubbed.
      call.sink.add([value, ...(answer.scrub ?? []), ...(input.scrubForms?.(value) ?? [])]);
      try {
        await checked(input, facts, value);
      } catch (err) {
        await release();
        throw err;
      }
      try {
        await deps.audit.record({
          ...eventBase(call),
          eventType: "CredentialExchangeCompleted",
          decision: "allow",
          payload: {
            credential_path: variant,
            ...auditKey(parsed.path),
            ...(answer.facts?.key !== undefined ? { key: answer.facts.key } : {}),
            ...(answer.facts?.bindingId !== undefined ? { binding_id: answer.facts.bindingId } : {}),
            ...(answer.facts?.fingerprint !== undefined ? { fingerprint: answer.facts.fingerprint } : {}),
          },
        });
      } catch (err) {
        // Not recorded, not used: the lease ends now rather than with a call that never runs.
        await release();
        throw err;
      }
      return { value, release };
    },
  };
}
