import { GatewayError } from "../../errors.js";
import { OpenBaoClient, type OpenBaoSettings } from "../openbao-client.js";
import type { CredentialBackend, Obtained } from "./types.js";

/**
 * OpenBao / Vault (DESIGN §4). StaticRef reads a KV v2 entry below the tenant's own prefix
 * (`<kv_mount>/data/<kv_prefix with {tenant}>/<key>`): the key is a validated path (no `..`,
 * no empty segment), the tenant a validated name, so no StaticRef reaches another tenant's
 * entries. SystemJit reads `/v1/<engine>/creds/<role>` and hands back the lease, which the
 * resolver revokes when the call ends. No value is cached: every call reads afresh.
 *
 * Which field is the value: a StaticRef's `field`, else `value`, else `token`, else the
 * entry's only field. A dynamic secret gives `token`, else `username:password` (the form of a
 * basic scheme; the password alone is scrubbed too), else `value`, else its only field.
 */

export interface OpenBaoBackendSettings extends OpenBaoSettings {
  kv_mount: string;
  kv_prefix: string;
  revoke_attempts: number;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SEGMENTS = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const REVOKE_BACKOFF_MS = [0, 250, 1000, 2000, 4000];

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

/** A path below /v1/ from checked segments only (each already free of `..` and empty parts). */
function safePath(...parts: string[]): string {
  for (const p of parts)
    if (!SEGMENTS.test(p) || p.split("/").some((s) => s === "." || s === ".."))
      throw unavailable("invalid_credential_path", "the credential path names an invalid OpenBao path");
  return `/v1/${parts.join("/")}`;
}

function stringFields(data: unknown): Record<string, string> {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return {};
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === "string",
    ),
  );
}

function pickStatic(data: Record<string, string>, field: string | undefined): string {
  const keys = Object.keys(data);
  const chosen =
    field ?? ["value", "token"].find((k) => k in data) ?? (keys.length === 1 ? keys[0] : undefined);
  if (chosen === undefined)
    throw unavailable(
      "field_ambiguous",
      `the OpenBao entry has ${keys.length} fields and none is value or token: name one with "field"`,
    );
  const value = data[chosen];
  if (value === undefined || value.length === 0)
    throw unavailable(
      "field_missing",
      `the OpenBao entry has no field ${JSON.stringify(chosen.slice(0, 64))}`,
    );
  return value;
}

function pickDynamic(data: Record<string, string>): { value: string; scrub: string[] } {
  if (data.token) return { value: data.token, scrub: [] };
  if (data.username && data.password)
    return { value: `${data.username}:${data.password}`, scrub: [data.password] };
  if (data.value) return { value: data.value, scrub: [] };
  const keys = Object.keys(data);
  const only = keys.length === 1 ? data[keys[0] as string] : undefined;
  if (only) return { value: only, scrub: [] };
  throw unavailable("field_ambiguous", "the dynamic secret has no token, username/password or value field");
}

export function openBaoBackend(
  settings: OpenBaoBackendSettings,
  deps: { fingerprint(value: string): string; client?: OpenBaoClient; sleep?: (ms: number) => Promise<void> },
): CredentialBackend {
  const client = deps.client ?? new OpenBaoClient(settings);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    name: "openbao",
    variants: ["StaticRef", "SystemJit"],

    async obtain(path, call, signal): Promise<Obtained> {
      if ("StaticRef" in path) {
        if (!TENANT.test(call.tenantId))
          throw unavailable("invalid_tenant", "the tenant cannot name an OpenBao path");
        const prefix = settings.kv_prefix.replaceAll("{tenant}", call.tenantId);
        const body = await client.call(
          "GET",
          safePath(settings.kv_mount, "data", prefix, path.StaticRef.key),
          undefined,
          signal,
        );
        // KV v2: {data: {data: {...fields}, metadata: {...}}}; a deleted version has data null.
        const entry = (body as { data?: { data?: unknown } } | null)?.data?.data;
        if (entry === null || entry === undefined)
          throw unavailable("secret_not_found", "the OpenBao entry is deleted or empty");
        const value = pickStatic(stringFields(entry), path.StaticRef.field);
        return { value, facts: { fingerprint: deps.fingerprint(value) } };
      }
      if ("SystemJit" in path) {
        const { openbao_engine_path: engine, role } = path.SystemJit;
        const body = (await client.call("GET", safePath(engine, "creds", role), undefined, signal)) as {
          lease_id?: unknown;
          data?: unknown;
        } | null;
        const leaseId = body?.lease_id;
        const picked = pickDynamic(stringFields(body?.data));
        if (typeof leaseId !== "string" || leaseId.length === 0) {
          // A credential without a lease cannot be ended with the call: refuse rather than leak it.
          throw unavailable("no_lease", "OpenBao gave a dynamic secret without a lease");
        }
        return {
          value: picked.value,
          scrub: picked.scrub,
          facts: { fingerprint: deps.fingerprint(picked.value) },
          lease: { id: leaseId },
        };
      }
      throw unavailable("backend_not_configured", "OpenBao serves StaticRef and SystemJit only");
    },

    async release(lease) {
      let attempts = 0;
      let last: unknown;
      for (const wait of REVOKE_BACKOFF_MS.slice(0, settings.revoke_attempts)) {
        if (wait > 0) await sleep(wait);
        attempts++;
        try {
          await client.call("PUT", "/v1/sys/leases/revoke", { lease_id: lease.id });
          return { attempts };
        } catch (err) {
          last = err;
        }
      }
      const reason = last instanceof GatewayError ? last.details.reason : "backend_error";
      throw Object.assign(new Error("lease revocation failed"), { attempts, reason });
    },
  };
}
