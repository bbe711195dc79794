/**
 * OpenBao on a real server (scripts/openbao.sh: `bao server -dev`), on SQLite and PostgreSQL:
 * StaticRef from KV v2 under the tenant's own prefix, SystemJit from the database secrets
 * engine against the test PostgreSQL with the lease revoked when the call ends — checked by
 * asking PostgreSQL whether the role still exists —, token and AppRole auth, and every
 * failure closed (4010, CredentialExchangeFailed, nothing sent upstream).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, eventsOf, expectCode } from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import { databaseEngine, type OpenBao, openBao } from "../support/openbao.js";
import { pgUrl } from "../support/pg.js";
import { type CallEnv, newSecret, oneStepTool, registerSpec, securedSpec, startCallEnv } from "./support.js";

const PATHS = { "/echo-headers": "echoHeaders", "/slow": "slow", "/fail": "fail" };

interface Echo {
  result: { headers: Record<string, string> };
}

describe.each(BACKENDS)("OpenBao credentials (%s)", (backend) => {
  let bao: OpenBao;
  let env: CallEnv;
  let sql: postgres.Sql;
  const run = randomBytes(4).toString("hex");
  const dbMount = `database-${run}`;
  const prefix = `seal-test-${run}`;
  const kvValue = newSecret("kv");
  const otherTenantValue = newSecret("kvb");

  /** A spec over the upstream with `credential_path`, and one-step tools `<name>.<op>` on it. */
  const tools = async (name: string, credentialPath: unknown) => {
    const spec = await registerSpec(env.t, {
      name,
      inline_json: securedSpec({ paths: PATHS }),
      base_url: env.up.url,
      credential_path: credentialPath,
    });
    for (const op of Object.values(PATHS))
      await oneStepTool(env.t, `${name}.${op.toLowerCase()}`, spec.id, op);
  };
  const sentSince = (from: number) => env.up.requests.slice(from);
  const roleExists = async (name: string) =>
    (await sql`select 1 from pg_roles where rolname = ${name}`).length > 0;

  beforeAll(async () => {
    bao = await openBao();
    sql = postgres(await pgUrl(), { max: 1, onnotice: () => undefined });
    const ok = (r: { status: number; body: unknown }) =>
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    ok(await bao.api("POST", `/v1/secret/data/${prefix}/default/billing/api`, { data: { value: kvValue } }));
    ok(
      await bao.api("POST", `/v1/secret/data/${prefix}/tenant-b/billing/api`, {
        data: { value: otherTenantValue },
      }),
    );
    ok(
      await bao.api("POST", `/v1/secret/data/${prefix}/default/multi`, {
        data: { user: "u1", api_key: "k-multi-1" },
      }),
    );
    await databaseEngine(bao, dbMount, "readonly", { default_ttl: "10m", max_ttl: "1h" });
    env = await startCallEnv(backend, [], {
      env: { SEAL_GATEWAY_EGRESS_REQUEST_TIMEOUT_MS: "700" },
      config: {
        secrets: { openbao: { address: bao.url, token: bao.rootToken, kv_prefix: `${prefix}/{tenant}` } },
      },
    });
    await tools("kv", { StaticRef: { key: "billing/api", backend: "openbao" } });
    await tools("kvmulti", { StaticRef: { key: "multi", backend: "openbao", field: "api_key" } });
    await tools("kvnone", { StaticRef: { key: "missing/entry", backend: "openbao" } });
    await tools("kvambiguous", { StaticRef: { key: "multi", backend: "openbao" } });
    await tools("jit", { SystemJit: { openbao_engine_path: dbMount, role: "readonly" } });
    await tools("jitnorole", { SystemJit: { openbao_engine_path: dbMount, role: "no-such-role" } });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    await bao?.api("DELETE", `/v1/sys/mounts/${dbMount}`);
    await sql?.end();
  });

  it("StaticRef reads the tenant's KV v2 entry and injects it; the answer and the trail never hold it", async () => {
    const from = env.up.requests.length;
    const r = await env.call("kv.echoheaders");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(sentSince(from)[0]?.headers.authorization).toBe(`Bearer ${kvValue}`);
    expect((r.body.result as Echo).result.headers.authorization).toBe("Bearer [REDACTED]");
    expect(JSON.stringify(r.body)).not.toContain(kvValue);
    const rows = await eventsOf(env.t, env.agent.executionId);
    expect(JSON.stringify(rows)).not.toContain(kvValue);
    const done = rows.filter((e) => e.event_type === "CredentialExchangeCompleted").at(-1);
    expect(done?.payload).toMatchObject({ credential_path: "StaticRef", key: "billing/api" });
    expect(String(done?.payload.fingerprint)).toMatch(/^[0-9a-f]{16}$/);
    expect(env.t.logs.join("\n")).not.toContain(kvValue);
    expect(env.t.logs.join("\n")).not.toContain(bao.rootToken);
  });

  it("a new version written in OpenBao is what the next call sends (nothing cached)", async () => {
    const rotated = newSecret("kvrot");
    const put = await bao.api("POST", `/v1/secret/data/${prefix}/default/rotating`, {
      data: { value: kvValue },
    });
    expect(put.status).toBeLessThan(300);
    await tools("kvrot", { StaticRef: { key: "rotating", backend: "openbao" } });
    const first = env.up.requests.length;
    expect((await env.call("kvrot.echoheaders")).status).toBe(200);
    expect(env.up.requests[first]?.headers.authorization).toBe(`Bearer ${kvValue}`);
    await bao.api("POST", `/v1/secret/data/${prefix}/default/rotating`, { data: { value: rotated } });
    const second = env.up.requests.length;
    expect((await env.call("kvrot.echoheaders")).status).toBe(200);
    expect(env.up.requests[second]?.headers.authorization).toBe(`Bearer ${rotated}`);
    // A deleted latest version is refused, not answered with an older one.
    await bao.api("DELETE", `/v1/secret/data/${prefix}/default/rotating`);
    const body = expectCode(await env.call("kvrot.echoheaders"), 502, 4010);
    expect(body.error?.details.reason).toBe("secret_not_found");
  });

  it("a field names one of several; none named among several is refused, as is a missing entry", async () => {
    const from = env.up.requests.length;
    expect((await env.call("kvmulti.echoheaders")).status).toBe(200);
    expect(sentSince(from)[0]?.headers.authorization).toBe("Bearer k-multi-1");
    for (const [tool, reason] of [
      ["kvambiguous.echoheaders", "field_ambiguous"],
      ["kvnone.echoheaders", "secret_not_found"],
    ] as const) {
      const before = env.up.requests.length;
      const body = expectCode(await env.call(tool), 502, 4010);
      expect(body.error?.details.reason).toBe(reason);
      expect(env.up.requests.length).toBe(before);
    }
  });

  it("a tenant reads only below its own prefix: tenant-b's entry of the same key is never read", async () => {
    // The default tenant's call got the default tenant's value (above); tenant-b's value
    // exists at the same key under tenant-b, and no default-tenant call ever carries it.
    const all = env.up.requests.map((q) => q.headers.authorization ?? "").join("\n");
    expect(all).not.toContain(otherTenantValue);
  });

  it("SystemJit mints a database role per call and revokes its lease when the call ends: PostgreSQL has no such role afterwards", async () => {
    const from = env.up.requests.length;
    const r = await env.call("jit.echoheaders");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const sent = sentSince(from)[0]?.headers.authorization ?? "";
    expect(sent).toMatch(/^Bearer v-token-readonly-/);
    const [username, password] = sent.slice("Bearer ".length).split(":");
    expect(password?.length).toBeGreaterThan(10);
    // The password is scrubbed on its own too, not only as user:password.
    expect(JSON.stringify(r.body)).not.toContain(password);
    expect(await roleExists(String(username))).toBe(false);
    const revoked = (await events(env.t, { type: "CredentialLeaseRevoked" })).at(-1);
    expect(revoked?.payload).toMatchObject({ credential_path: "SystemJit", attempts: 1 });
    expect(String(revoked?.payload.lease_id)).toContain(`${dbMount}/creds/readonly/`);
  });

  it("revokes the lease when the upstream fails and when it times out", async () => {
    for (const [tool, code] of [
      ["jit.fail", 4020],
      ["jit.slow", 4024],
    ] as const) {
      const from = env.up.requests.length;
      const r = await env.call(tool);
      expect(r.body.error?.code, JSON.stringify(r.body)).toBe(code);
      const sent = sentSince(from)[0]?.headers.authorization ?? "";
      const username = sent.slice("Bearer ".length).split(":")[0] ?? "";
      expect(username).toMatch(/^v-token-readonly-/);
      await expect.poll(() => roleExists(username), { timeout: 10_000 }).toBe(false);
    }
  });

  it("a role the engine does not have fails closed: 4010, audited, nothing sent", async () => {
    const before = env.up.requests.length;
    const body = expectCode(await env.call("jitnorole.echoheaders"), 502, 4010);
    expect(["secret_not_found", "backend_error"]).toContain(body.error?.details.reason);
    expect(env.up.requests.length).toBe(before);
    const failed = (await events(env.t, { type: "CredentialExchangeFailed" })).at(-1);
    expect(failed?.payload).toMatchObject({ credential_path: "SystemJit" });
  });
});
