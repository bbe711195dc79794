/**
 * OpenBao authentication and refusals on the real dev server: AppRole login with a
 * least-privilege policy, `secrets.static_backend: openbao` for StaticRefs that name no
 * backend, a path the policy does not grant (403 → 4010 permission_denied), a server that
 * is down, and credential paths refused at registration. Nothing is sent upstream on any
 * refusal, and neither the gateway's credentials nor the values reach the logs.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode } from "../authorization/support.js";
import { type OpenBao, openBao } from "../support/openbao.js";
import {
  api,
  type CallEnv,
  newSecret,
  oneStepTool,
  registerSpec,
  securedSpec,
  startCallEnv,
} from "./support.js";

const PATHS = { "/echo-headers": "echoHeaders" };

describe("OpenBao AppRole, policy and refusals (sqlite)", () => {
  let bao: OpenBao;
  let env: CallEnv;
  let down: CallEnv;
  let secretId = "";
  const run = randomBytes(4).toString("hex");
  const prefix = `seal-auth-${run}`;
  const mount = `approle-${run}`;
  const value = newSecret("kvapp");

  const tool = async (e: CallEnv, name: string, credentialPath: unknown) => {
    const spec = await registerSpec(e.t, {
      name,
      inline_json: securedSpec({ paths: PATHS }),
      base_url: e.up.url,
      credential_path: credentialPath,
    });
    await oneStepTool(e.t, `${name}.echo`, spec.id, "echoHeaders");
  };

  beforeAll(async () => {
    bao = await openBao();
    const ok = (r: { status: number; body: unknown }) =>
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    ok(await bao.api("POST", `/v1/secret/data/${prefix}/default/billing/api`, { data: { value } }));
    ok(
      await bao.api("POST", `/v1/secret/data/${prefix}/default/other/api`, { data: { value: newSecret() } }),
    );
    ok(
      await bao.api("PUT", `/v1/sys/policies/acl/${mount}`, {
        policy: `path "secret/data/${prefix}/default/billing/*" { capabilities = ["read"] }`,
      }),
    );
    ok(await bao.api("POST", `/v1/sys/auth/${mount}`, { type: "approle" }));
    ok(await bao.api("POST", `/v1/auth/${mount}/role/gateway`, { token_policies: [mount], token_ttl: "1h" }));
    const roleId = (await bao.api("GET", `/v1/auth/${mount}/role/gateway/role-id`)).body as {
      data: { role_id: string };
    };
    const secret = (await bao.api("POST", `/v1/auth/${mount}/role/gateway/secret-id`, {})).body as {
      data: { secret_id: string };
    };
    secretId = secret.data.secret_id;
    env = await startCallEnv("sqlite", [], {
      config: {
        secrets: {
          static_backend: "openbao",
          openbao: {
            address: bao.url,
            approle: { role_id: roleId.data.role_id, secret_id: secretId, mount },
            kv_prefix: `${prefix}/{tenant}`,
          },
        },
      },
    });
    down = await startCallEnv("sqlite", [], {
      config: {
        secrets: { openbao: { address: "http://127.0.0.1:9", token: "down-token-SECRET", timeout_ms: 500 } },
      },
    });
    await tool(env, "kvdefault", { StaticRef: { key: "billing/api" } });
    await tool(env, "kvdenied", { StaticRef: { key: "other/api" } });
    await tool(env, "builtin", { StaticRef: { key: "billing/api", backend: "builtin" } });
    await tool(down, "kvdown", { StaticRef: { key: "billing/api", backend: "openbao" } });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    await down?.close();
    await bao?.api("DELETE", `/v1/sys/auth/${mount}`);
  });

  it("logs in with AppRole; a StaticRef naming no backend reads OpenBao (static_backend)", async () => {
    const from = env.up.requests.length;
    const r = await env.call("kvdefault.echo");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(env.up.requests[from]?.headers.authorization).toBe(`Bearer ${value}`);
    const logs = env.t.logs.join("\n");
    expect(logs).not.toContain(value);
    expect(logs).not.toContain(secretId);
  });

  it("a path the policy does not grant is 4010 permission_denied, nothing sent", async () => {
    const from = env.up.requests.length;
    const body = expectCode(await env.call("kvdenied.echo"), 502, 4010);
    expect(body.error?.details.reason).toBe("permission_denied");
    expect(env.up.requests.length).toBe(from);
  });

  it("a StaticRef that names builtin still reads the built-in store, not OpenBao", async () => {
    const body = expectCode(await env.call("builtin.echo"), 502, 4010);
    expect(body.error?.details.reason).toBe("secret_not_found");
    expect(body.error?.message).toContain("built-in store");
  });

  it("a server that is down fails closed: 4010 backend_unreachable, no token in the answer or the logs", async () => {
    const from = down.up.requests.length;
    const r = await down.call("kvdown.echo");
    const body = expectCode(r, 502, 4010);
    expect(body.error?.details.reason).toBe("backend_unreachable");
    expect(down.up.requests.length).toBe(from);
    expect(JSON.stringify(r.body)).not.toContain("down-token");
    expect(down.t.logs.join("\n")).not.toContain("down-token-SECRET");
  });

  it.each([
    ["a key with ..", { StaticRef: { key: "../tenant-b/billing", backend: "openbao" } }],
    ["an unknown backend", { StaticRef: { key: "billing/api", backend: "vault" } }],
    ["a malformed field", { StaticRef: { key: "billing/api", backend: "openbao", field: "a b" } }],
    ["an engine path with ..", { SystemJit: { openbao_engine_path: "../sys", role: "x" } }],
    ["an unknown member", { StaticRef: { key: "billing/api", path: "x" } }],
  ])("refuses %s at registration (400), before any call", async (_name, credentialPath) => {
    const r = await api(env.t, "POST", "/v1/specs", {
      name: `bad-${randomBytes(3).toString("hex")}`,
      inline_json: securedSpec({ paths: PATHS }),
      base_url: env.up.url,
      credential_path: credentialPath,
    });
    expect(r.status, r.text).toBe(400);
  });

  describe("TLS", () => {
    let tls: OpenBao;
    let trusted: CallEnv;
    let untrusted: CallEnv;
    const tlsValue = newSecret("kvtls");

    beforeAll(async () => {
      tls = await openBao("tls");
      const r = await tls.api("POST", `/v1/secret/data/${prefix}/default/billing/api`, {
        data: { value: tlsValue },
      });
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
      const settings = { address: tls.url, token: tls.rootToken, kv_prefix: `${prefix}/{tenant}` };
      trusted = await startCallEnv("sqlite", [], {
        config: { secrets: { openbao: { ...settings, ca_file: tls.caFile } } },
      });
      untrusted = await startCallEnv("sqlite", [], { config: { secrets: { openbao: settings } } });
      for (const e of [trusted, untrusted])
        await tool(e, "kvtls", { StaticRef: { key: "billing/api", backend: "openbao" } });
    }, 120_000);
    afterAll(async () => {
      await trusted?.close();
      await untrusted?.close();
    });

    it("reads over TLS with the CA of ca_file", async () => {
      const from = trusted.up.requests.length;
      expect((await trusted.call("kvtls.echo")).status).toBe(200);
      expect(trusted.up.requests[from]?.headers.authorization).toBe(`Bearer ${tlsValue}`);
    });

    it("refuses a server whose certificate it cannot verify: 4010, nothing sent", async () => {
      const from = untrusted.up.requests.length;
      const body = expectCode(await untrusted.call("kvtls.echo"), 502, 4010);
      expect(body.error?.details.reason).toBe("backend_tls");
      expect(untrusted.up.requests.length).toBe(from);
    });
  });
});
