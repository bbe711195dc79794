/**
 * A dynamic secret's lease ends with its call however the call ends (DESIGN §4, issue 15
 * items 2 and 7), on a real OpenBao minting PostgreSQL roles, on both stores: revoking the
 * session while the upstream still holds the request, and the HTTP client disconnecting
 * mid-call, each stop the run at once — the upstream request is cut, the lease revoked (the
 * role is gone from pg_roles), the run's end audited with its reason — instead of at the tool
 * timeout.
 */

import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventsOf,
  putContext,
  type SessionAgent,
  sessionAgent,
  signedCall,
} from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import { databaseEngine, type OpenBao, openBao } from "../support/openbao.js";
import { pgUrl } from "../support/pg.js";
import { api, type CallEnv, registerSpec, startCallEnv } from "./support.js";

/** An operation that answers after `ms` (the shared upstream's /slow). */
const SLOW_SPEC = {
  openapi: "3.1.0",
  info: { title: "slow", version: "1" },
  paths: {
    "/slow": {
      get: {
        operationId: "slow",
        parameters: [{ name: "ms", in: "query", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "ok" } },
      },
    },
  },
};

describe.each(BACKENDS)("a running call's lease ends when the call is stopped (%s)", (backend) => {
  let bao: OpenBao;
  let env: CallEnv;
  let sql: postgres.Sql;
  let server: ServerType;
  let port = 0;
  const dbMount = `database-rv-${randomBytes(4).toString("hex")}`;

  const roleExists = async (name: string) =>
    (await sql`select 1 from pg_roles where rolname = ${name}`).length > 0;
  /** Waits until the upstream holds a new request, and answers the role it was given. */
  const heldRole = async (from: number) => {
    await expect.poll(() => env.up.requests.length, { timeout: 10_000 }).toBeGreaterThan(from);
    const sent = env.up.requests[from]?.headers.authorization ?? "";
    const role = sent.slice("Bearer ".length).split(":")[0] ?? "";
    expect(role).toMatch(/^v-token-slowrole-/);
    expect(await roleExists(role)).toBe(true);
    return role;
  };
  /** The row that closed the call: the run's refusal, recorded at the execute stage with its code. */
  const failureOf = async (agent: SessionAgent) =>
    (await eventsOf(env.t, agent.executionId)).find((r) => r.stage === "execute" && r.code !== null);
  const fresh = async () => {
    env.t.clock.set(Date.now());
    return await sessionAgent(env.t, { context: "rv-ctx" });
  };

  beforeAll(async () => {
    bao = await openBao();
    sql = postgres(await pgUrl(), { max: 1, onnotice: () => undefined });
    await databaseEngine(bao, dbMount, "slowrole");
    env = await startCallEnv(backend, [], {
      config: { secrets: { openbao: { address: bao.url, token: bao.rootToken } } },
    });
    const spec = await registerSpec(env.t, {
      name: "rv",
      inline_json: SLOW_SPEC,
      base_url: env.up.url,
      credential_path: { SystemJit: { openbao_engine_path: dbMount, role: "slowrole" } },
    });
    const wf = await api(env.t, "POST", "/v1/workflows", {
      name: "rv.slow",
      description: "holds its lease for 20 s",
      input_schema: { type: "object" },
      api_spec_id: spec.id,
      steps: [
        { name: "wait", operation_id: "slow", query_params: { ms: "20000" }, on_error: "AbortWorkflow" },
      ],
    });
    expect(wf.status, wf.text).toBe(201);
    await putContext(env.t, { name: "rv-ctx", capabilities: [{ tool_pattern: "rv.*" }] });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: env.t.gw.app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  }, 120_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await env?.close();
    await bao?.api("DELETE", `/v1/sys/mounts/${dbMount}`);
    await sql?.end();
  });

  it("revoking the session mid-call stops the run, revokes the lease and answers 1006 session_revoked", async () => {
    const agent = await fresh();
    const from = env.up.requests.length;
    const started = Date.now();
    const answer = env.t.request("/v1/invoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: signedCall(env.t, agent, "rv.slow", {}),
    });
    const role = await heldRole(from);
    const revoked = await api(env.t, "DELETE", `/v1/seal/sessions/${agent.executionId}`);
    expect(revoked.status, revoked.text).toBe(200);
    const res = await answer;
    const body = (await res.json()) as { error?: { code: number; details: { reason: string } } };
    expect([res.status, body.error?.code, body.error?.details.reason]).toEqual([
      401,
      1006,
      "session_revoked",
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect.poll(() => roleExists(role), { timeout: 10_000 }).toBe(false);
    expect((await failureOf(agent))?.payload.reason).toBe("session_revoked");
    const rows = await eventsOf(env.t, agent.executionId);
    expect(rows.map((r) => r.event_type)).toContain("CredentialLeaseRevoked");
  });

  it("a client that disconnects mid-call stops the run and revokes the lease (client_disconnected)", async () => {
    const agent = await fresh();
    const from = env.up.requests.length;
    const body = signedCall(env.t, agent, "rv.slow", {});
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/v1/invoke",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("error", () => undefined);
    req.end(body);
    const role = await heldRole(from);
    req.destroy();
    await expect.poll(() => roleExists(role), { timeout: 10_000 }).toBe(false);
    await expect
      .poll(async () => (await failureOf(agent))?.payload.reason, { timeout: 10_000 })
      .toBe("client_disconnected");
    const rows = await eventsOf(env.t, agent.executionId);
    expect(rows.map((r) => r.event_type)).toContain("CredentialLeaseRevoked");
  });
});
