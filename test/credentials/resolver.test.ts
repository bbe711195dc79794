/**
 * The credential port (src/credentials/): the resolver dispatches a path to the backend that
 * serves its variant, runs the engine's placement check before and on the value, audits every
 * outcome without the value, registers the value for scrubbing, and releases leases once —
 * whatever fails. `secrets.backends` is validated by the backend it configures.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { EventInput } from "../../src/audit/recorder.js";
import {
  type BackendTable,
  backendSettingsProblems,
  credentialBackends,
} from "../../src/credentials/backends/index.js";
import type { CredentialBackend, Lease } from "../../src/credentials/backends/types.js";
import type { BuiltinSecrets } from "../../src/credentials/builtin-store.js";
import { SecretSink } from "../../src/credentials/redaction.js";
import { createCredentialResolver } from "../../src/credentials/resolver.js";
import type { CallInfo, CredentialRequest } from "../../src/credentials/types.js";
import { GatewayError } from "../../src/errors.js";

const SECRET = "dyn-password-7c1f0e9a";
const JIT = { SystemJit: { openbao_engine_path: "database", role: "readonly" } };

function call(): CallInfo {
  return {
    tenantId: "t1",
    executionId: "exe_1",
    callId: "call_1",
    agentId: "agent-1",
    toolName: "db.query",
    sink: new SecretSink(),
  };
}

function harness(opts: { backend?: Partial<CredentialBackend>; auditFails?: boolean } = {}) {
  const rows: EventInput[] = [];
  const seen = { obtain: 0, release: [] as string[], warnings: [] as unknown[] };
  const backend: CredentialBackend = {
    name: "fake-jit",
    variants: ["SystemJit"],
    async obtain() {
      seen.obtain++;
      return { value: SECRET, facts: { fingerprint: "sha256:abc" }, lease: { id: "lease-1" } };
    },
    async release(lease: Lease) {
      seen.release.push(lease.id);
      return { attempts: 1 };
    },
    ...opts.backend,
  };
  const resolver = createCredentialResolver({
    backends: [backend],
    audit: {
      async record(row) {
        if (opts.auditFails && row.eventType === "CredentialExchangeCompleted") throw new Error("disk full");
        rows.push(row);
        return "evt";
      },
    },
    log: { warn: (_msg: string, fields?: unknown) => void seen.warnings.push(fields) },
  });
  const request = (extra: Partial<CredentialRequest> = {}): CredentialRequest => ({
    credentialPath: JIT,
    call: call(),
    signal: new AbortController().signal,
    ...extra,
  });
  return { resolver, rows, seen, request };
}

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe("credential resolver", () => {
  it("dispatches by variant, audits the outcome without the value and registers it for scrubbing", async () => {
    const h = harness();
    const req = h.request();
    const credential = await h.resolver.obtain(req);
    expect(credential.value).toBe(SECRET);
    expect(req.call.sink.scrub(`x ${SECRET} y`)).toBe("x [REDACTED] y");
    expect(h.rows.map((r) => [r.eventType, r.decision, r.stage, r.executionId, r.callId])).toEqual([
      ["CredentialExchangeCompleted", "allow", "credentials", "exe_1", "call_1"],
    ]);
    expect(h.rows[0]?.payload).toEqual({ credential_path: "SystemJit", fingerprint: "sha256:abc" });
    expect(JSON.stringify(h.rows)).not.toContain(SECRET);
  });

  it("releases the lease once, however often release is called", async () => {
    const h = harness();
    const credential = await h.resolver.obtain(h.request());
    await Promise.all([credential.release(), credential.release()]);
    await credential.release();
    expect(h.seen.release).toEqual(["lease-1"]);
  });

  it("a release the backend fails is logged with the lease id, never thrown, never with the value", async () => {
    const h = harness({
      backend: {
        release: async () => {
          throw new Error(`revoke failed for ${SECRET}`);
        },
      },
    });
    const credential = await h.resolver.obtain(h.request());
    await expect(credential.release()).resolves.toBeUndefined();
    expect(h.seen.warnings).toEqual([{ backend: "fake-jit", lease_id: "lease-1", execution_id: "exe_1" }]);
  });

  it("refuses a variant no backend serves (backend_not_configured), audited, nothing asked", async () => {
    const h = harness();
    for (const credentialPath of [
      { StaticRef: { key: "k" } },
      { HumanDelegated: { target_service: "billing" } },
      { UserBound: { provider: "github" } },
    ]) {
      const err = await refusal(h.resolver.obtain(h.request({ credentialPath })));
      expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
      expect(err.details.reason).toBe("backend_not_configured");
    }
    expect(h.seen.obtain).toBe(0);
    expect(h.rows.map((r) => [r.eventType, r.payload?.credential_path, r.payload?.reason])).toEqual([
      ["CredentialExchangeFailed", "StaticRef", "backend_not_configured"],
      ["CredentialExchangeFailed", "HumanDelegated", "backend_not_configured"],
      ["CredentialExchangeFailed", "UserBound", "backend_not_configured"],
    ]);
    expect(h.rows[0]?.payload?.key).toBe("k");
  });

  it("refuses malformed paths (invalid_credential_path) before any backend", async () => {
    const h = harness();
    for (const credentialPath of [null, "SystemJit", [], { SystemJit: { role: "r" } }, { Nope: {} }]) {
      const err = await refusal(h.resolver.obtain(h.request({ credentialPath })));
      expect(err.details.reason, JSON.stringify(credentialPath)).toBe("invalid_credential_path");
    }
    expect(h.seen.obtain).toBe(0);
  });

  it("the engine's check on null refuses before the backend is asked", async () => {
    const h = harness();
    const check = (value: string | null) => {
      if (value === null)
        throw new GatewayError("CREDENTIAL_UNAVAILABLE", "cannot carry", { reason: "unsupported_scheme" });
    };
    const err = await refusal(h.resolver.obtain(h.request({ check })));
    expect(err.details.reason).toBe("unsupported_scheme");
    expect(h.seen.obtain).toBe(0);
    expect(h.rows[0]?.payload).toEqual({ credential_path: "SystemJit", reason: "unsupported_scheme" });
  });

  it("the engine's check on the value refuses after it: the lease is released, the value still scrubbed", async () => {
    const h = harness();
    const req = h.request({
      check: (value) => {
        if (value !== null)
          throw new GatewayError("CREDENTIAL_UNAVAILABLE", "cannot be placed", { reason: "unusable_value" });
      },
      scrubForms: (value) => [value.slice(4)],
    });
    const err = await refusal(h.resolver.obtain(req));
    expect(err.details.reason).toBe("unusable_value");
    expect(h.seen.release).toEqual(["lease-1"]);
    expect(req.call.sink.scrub(SECRET.slice(4))).toBe("[REDACTED]");
    // The refusal, then the lease's end: a dynamic secret obtained is always seen ended.
    expect(h.rows.map((r) => r.eventType)).toEqual(["CredentialExchangeFailed", "CredentialLeaseRevoked"]);
  });

  it("a backend's own refusal is passed on and audited with its reason", async () => {
    const h = harness({
      backend: {
        obtain: async () => {
          throw new GatewayError("CREDENTIAL_UNAVAILABLE", "role not found", { reason: "role_not_found" });
        },
      },
    });
    const err = await refusal(h.resolver.obtain(h.request()));
    expect(err.message).toBe("role not found");
    expect(h.rows[0]?.payload?.reason).toBe("role_not_found");
  });

  it("any other backend error is backend_error, without the backend's message", async () => {
    const h = harness({
      backend: {
        obtain: async () => {
          throw new Error(`permission denied for token hvs.${SECRET}`);
        },
      },
    });
    const err = await refusal(h.resolver.obtain(h.request()));
    expect(err.details.reason).toBe("backend_error");
    expect(JSON.stringify(err) + err.message + JSON.stringify(h.rows)).not.toContain(SECRET);
  });

  it("a completion that cannot be audited releases the lease and fails the call", async () => {
    const h = harness({ auditFails: true });
    await expect(h.resolver.obtain(h.request())).rejects.toThrow("disk full");
    expect(h.seen.release).toEqual(["lease-1"]);
  });

  it("the first backend serving a variant wins", async () => {
    const make = (name: string): CredentialBackend => ({
      name,
      variants: ["SystemJit"],
      obtain: async () => ({ value: name }),
    });
    const resolver = createCredentialResolver({
      backends: [make("first"), make("second")],
      audit: { record: async () => "evt" },
    });
    const got = await resolver.obtain({
      credentialPath: JIT,
      call: call(),
      signal: AbortSignal.timeout(1000),
    });
    expect(got.value).toBe("first");
  });
});

describe("secrets.backends", () => {
  const table: BackendTable = {
    fakebao: {
      settings: z.strictObject({ address: z.url(), kv_mount: z.string().default("secret") }),
      build: () => ({ name: "fakebao", variants: ["SystemJit"], obtain: async () => ({ value: "v" }) }),
    },
  };
  const builtin = {} as BuiltinSecrets;

  it("refuses an entry no backend is built for, naming it and what exists", () => {
    expect(backendSettingsProblems({ openbao: { address: "http://127.0.0.1:8200" } })).toEqual([
      {
        path: "secrets.backends.openbao",
        message:
          'no credential backend named "openbao" is built into this gateway (available: none yet; the built-in store needs no entry)',
      },
    ]);
    expect(backendSettingsProblems({}, table)).toEqual([]);
    expect(backendSettingsProblems({ vault: {} }, table)[0]?.message).toContain("(available: fakebao)");
  });

  it("has each entry validated by its own backend's schema, problems at their paths", () => {
    const problems = backendSettingsProblems({ fakebao: { address: "not a url", extra: 1 } }, table);
    expect(problems.map((p) => p.path).sort()).toEqual([
      "secrets.backends.fakebao",
      "secrets.backends.fakebao.address",
    ]);
  });

  it("builds the built-in store first, then each configured backend; refuses to build with problems", () => {
    const backends = credentialBackends(builtin, { fakebao: { address: "http://127.0.0.1:8200" } }, table);
    expect(backends.map((b) => [b.name, b.variants])).toEqual([
      ["builtin", ["StaticRef"]],
      ["fakebao", ["SystemJit"]],
    ]);
    expect(() => credentialBackends(builtin, { openbao: {} })).toThrow(/secrets\.backends\.openbao/);
  });
});
