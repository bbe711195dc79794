/**
 * The OpenBao client and backend against a scripted server: every way an answer can be wrong
 * (not JSON, too large, too slow, refused, unavailable) is a 4010 with its own reason and no
 * server text; AppRole logs in, renews before expiry and logs in again when renewal fails; a
 * lease that cannot be revoked is retried, then audited as CredentialLeaseRevokeFailed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventInput } from "../../src/audit/recorder.js";
import { openBaoBackend } from "../../src/credentials/backends/openbao.js";
import { OpenBaoClient } from "../../src/credentials/openbao-client.js";
import { SecretSink } from "../../src/credentials/redaction.js";
import { createCredentialResolver } from "../../src/credentials/resolver.js";
import { GatewayError } from "../../src/errors.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe("OpenBao client and backend (scripted server)", () => {
  let server: Server;
  let address = "";
  let handler: Handler = (_q, _b, res) => res.end("{}");
  const seen: Array<{ method: string; url: string; token: string | undefined; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          token: req.headers["x-vault-token"] as string,
          body,
        });
        handler(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const reasonOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      if (err instanceof GatewayError) {
        expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
        return { reason: err.details.reason, message: err.message };
      }
      throw err;
    }
    throw new Error("expected a refusal");
  };
  const client = (extra: Partial<ConstructorParameters<typeof OpenBaoClient>[0]> = {}, now?: () => number) =>
    new OpenBaoClient({ address, token: "gw-token-SECRET", timeout_ms: 300, ...extra }, now);

  it.each([
    ["not JSON", (res: ServerResponse) => res.end("<html>oops SECRET-IN-PAGE</html>"), "backend_not_json"],
    ["too large", (res: ServerResponse) => res.end(`{"x":"${"a".repeat(1_100_000)}"}`), "backend_error"],
    [
      "403",
      (res: ServerResponse) => json(res, 403, { errors: ["permission denied SECRET-IN-ERR"] }),
      "permission_denied",
    ],
    ["404", (res: ServerResponse) => json(res, 404, { errors: [] }), "secret_not_found"],
    [
      "503 (sealed)",
      (res: ServerResponse) => json(res, 503, { errors: ["Vault is sealed"] }),
      "backend_unavailable",
    ],
    ["500", (res: ServerResponse) => json(res, 500, { errors: ["boom"] }), "backend_error"],
    ["too slow", () => undefined, "backend_timeout"],
  ])(
    "an answer that is %s is refused with its own reason and none of the server's text",
    async (_n, reply, reason) => {
      handler = (_q, _b, res) => reply(res);
      const r = await reasonOf(client().call("GET", "/v1/secret/data/x"));
      expect(r.reason).toBe(reason);
      expect(r.message).not.toMatch(/SECRET|gw-token/);
    },
  );

  it("an unreachable server is backend_unreachable", async () => {
    const r = await reasonOf(
      new OpenBaoClient({ address: "http://127.0.0.1:9", token: "t", timeout_ms: 500 }).call("GET", "/v1/x"),
    );
    expect(r.reason).toBe("backend_unreachable");
  });

  it("sends the token and namespace as headers, never in the URL", async () => {
    handler = (_q, _b, res) => json(res, 200, { data: { data: { value: "v" } } });
    seen.length = 0;
    await client({ namespace: "team-a" }).call("GET", "/v1/secret/data/x");
    expect(seen[0]?.token).toBe("gw-token-SECRET");
    expect(seen[0]?.url).not.toContain("gw-token");
  });

  it("AppRole: logs in, renews at two thirds of the TTL, and logs in again when renewal is refused", async () => {
    let clock = 1_000_000;
    let logins = 0;
    let renewals = 0;
    let refuseRenewal = false;
    handler = (req, body, res) => {
      if (req.url === "/v1/auth/approle/login") {
        logins++;
        const creds = JSON.parse(body) as { role_id: string; secret_id: string };
        if (creds.secret_id !== "right") return json(res, 400, { errors: ["invalid secret id"] });
        return json(res, 200, {
          auth: { client_token: `login-${logins}`, lease_duration: 30, renewable: true },
        });
      }
      if (req.url === "/v1/auth/token/renew-self") {
        renewals++;
        if (refuseRenewal) return json(res, 403, { errors: ["denied"] });
        return json(res, 200, { auth: { client_token: req.headers["x-vault-token"], lease_duration: 30 } });
      }
      return json(res, 200, { seen_token: req.headers["x-vault-token"] });
    };
    const c = new OpenBaoClient(
      { address, approle: { role_id: "r", secret_id: "right", mount: "approle" }, timeout_ms: 500 },
      () => clock,
    );
    expect(await c.call("GET", "/v1/x")).toEqual({ seen_token: "login-1" });
    clock += 10_000; // before 2/3 of 30 s: the same token, no renewal
    expect(await c.call("GET", "/v1/x")).toEqual({ seen_token: "login-1" });
    expect(renewals).toBe(0);
    clock += 11_000; // past 20 s: renewed first
    expect(await c.call("GET", "/v1/x")).toEqual({ seen_token: "login-1" });
    expect(renewals).toBe(1);
    clock += 21_000;
    refuseRenewal = true; // renewal refused: a fresh login
    expect(await c.call("GET", "/v1/x")).toEqual({ seen_token: "login-2" });
    expect(logins).toBe(2);

    const wrong = new OpenBaoClient(
      { address, approle: { role_id: "r", secret_id: "wrong", mount: "approle" }, timeout_ms: 500 },
      () => clock,
    );
    const r = await reasonOf(wrong.call("GET", "/v1/x"));
    expect(r.reason).toBe("auth_failed");
    expect(r.message).not.toContain("wrong");
  });

  it("a dynamic secret without a lease is refused rather than handed out unrevocable", async () => {
    handler = (_q, _b, res) => json(res, 200, { lease_id: "", data: { username: "u", password: "p-123" } });
    const backend = openBaoBackend(
      {
        address,
        token: "t",
        timeout_ms: 500,
        kv_mount: "secret",
        kv_prefix: "p/{tenant}",
        revoke_attempts: 3,
      },
      { fingerprint: () => "fp" },
    );
    const call = {
      tenantId: "default",
      executionId: null,
      callId: null,
      agentId: null,
      toolName: null,
      sink: new SecretSink(),
    };
    const r = await reasonOf(
      backend.obtain(
        { SystemJit: { openbao_engine_path: "database", role: "ro" } },
        call,
        new AbortController().signal,
      ),
    );
    expect(r.reason).toBe("no_lease");
  });

  it("a lease whose revocation keeps failing is retried, logged and audited as CredentialLeaseRevokeFailed", async () => {
    let revokes = 0;
    handler = (req, _b, res) => {
      if (req.url === "/v1/sys/leases/revoke") {
        revokes++;
        return json(res, 500, { errors: ["storage down"] });
      }
      return json(res, 200, {
        lease_id: "database/creds/ro/abc",
        data: { username: "u", password: "p-secret-1" },
      });
    };
    const waits: number[] = [];
    const backend = openBaoBackend(
      {
        address,
        token: "t",
        timeout_ms: 500,
        kv_mount: "secret",
        kv_prefix: "p/{tenant}",
        revoke_attempts: 3,
      },
      { fingerprint: () => "fp", sleep: async (ms) => void waits.push(ms) },
    );
    const rows: EventInput[] = [];
    const warnings: unknown[] = [];
    const resolver = createCredentialResolver({
      backends: [backend],
      audit: {
        record: async (row) => {
          rows.push(row);
          return "evt";
        },
      },
      log: { warn: (_m: string, f?: unknown) => void warnings.push(f) },
    });
    const sink = new SecretSink();
    const credential = await resolver.obtain({
      credentialPath: { SystemJit: { openbao_engine_path: "database", role: "ro" } },
      call: { tenantId: "default", executionId: "exe_1", callId: "c1", agentId: "a", toolName: "t", sink },
      signal: new AbortController().signal,
    });
    expect(credential.value).toBe("u:p-secret-1");
    // The password alone is scrubbed as well as the pair.
    expect(sink.scrub("x p-secret-1 y")).not.toContain("p-secret-1");
    await credential.release();
    expect(revokes).toBe(3);
    expect(waits).toEqual([250, 1000]);
    const failed = rows.find((r) => r.eventType === "CredentialLeaseRevokeFailed");
    expect(failed?.payload).toEqual({
      credential_path: "SystemJit",
      lease_id: "database/creds/ro/abc",
      attempts: 3,
      reason: "backend_error",
    });
    expect(JSON.stringify(rows)).not.toContain("p-secret-1");
    expect(warnings).toHaveLength(1);
  });

  it("refuses a tenant name or an engine path that could leave the tenant's prefix", async () => {
    handler = (_q, _b, res) => json(res, 200, { data: { data: { value: "v" } } });
    const backend = openBaoBackend(
      {
        address,
        token: "t",
        timeout_ms: 500,
        kv_mount: "secret",
        kv_prefix: "p/{tenant}",
        revoke_attempts: 1,
      },
      { fingerprint: () => "fp" },
    );
    const base = { executionId: null, callId: null, agentId: null, toolName: null, sink: new SecretSink() };
    const signal = new AbortController().signal;
    for (const tenantId of ["../x", "a/b", "", "A"]) {
      const r = await reasonOf(backend.obtain({ StaticRef: { key: "k" } }, { ...base, tenantId }, signal));
      expect(r.reason).toBe("invalid_tenant");
    }
    const r = await reasonOf(
      backend.obtain(
        { SystemJit: { openbao_engine_path: "../sys", role: "x" } },
        { ...base, tenantId: "default" },
        signal,
      ),
    );
    expect(r.reason).toBe("invalid_credential_path");
  });
});
