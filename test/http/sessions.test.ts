import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import {
  BACKENDS,
  envelopeBody,
  invoke,
  jsonInit,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";
import {
  AGENT_AUDIENCE,
  BAD_KEYS,
  bearer,
  decodeJwtPart,
  expectError,
  expectJson,
  nowSeconds,
} from "./support.js";

interface Created {
  status: string;
  execution_id: string;
  sub: string;
  agent_id: string;
  security_context_name: string;
  tenant_id: string;
  public_key_b64: string;
  allowed_tool_patterns: string[];
  security_token: string;
  expires_at: string;
  session_status: string;
}
interface SessionList {
  sessions: Array<{ execution_id: string; session_status: string; tenant_id: string }>;
}
interface EventList {
  items: Array<{
    event_type: string;
    execution_id: string | null;
    agent_id: string | null;
    tenant_id: string;
    stage: string | null;
    payload: Record<string, unknown>;
  }>;
  next_cursor: string | null;
}

/** A fresh key whose standard base64 holds '+' or '/', so its base64url form really differs. */
function keyNeedingUrlAlphabet(): string {
  for (;;) {
    const { publicKeyB64 } = generateKeyPair();
    if (/[+/]/.test(publicKeyB64)) return publicKeyB64;
  }
}

describe.each(BACKENDS)("control plane: /v1/seal/sessions (%s)", (backend) => {
  let t: TestGateway;
  let admin: string;
  const post = (body: unknown, token = admin) =>
    t.request("/v1/seal/sessions", jsonInit("POST", body, token));

  beforeAll(async () => {
    t = await startTestGateway(backend);
    admin = t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("creates a session in the RFC shape and returns a token bound to it", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const res = await post({
      execution_id: "exec-rfc-1",
      sub: "agent-rfc",
      security_context_name: "research",
      public_key_b64: publicKeyB64,
      allowed_tool_patterns: ["web.*"],
      ttl_seconds: 900,
    });
    const body = await expectJson<Created>(res, 201);
    expect(body).toMatchObject({
      status: "success",
      execution_id: "exec-rfc-1",
      sub: "agent-rfc",
      security_context_name: "research",
      tenant_id: "default",
      public_key_b64: publicKeyB64,
      allowed_tool_patterns: ["web.*"],
      session_status: "Active",
      expires_at: new Date(t.clock.nowMs() + 900_000).toISOString(),
    });
    const header = decodeJwtPart(body.security_token, 0);
    const claims = decodeJwtPart(body.security_token, 1);
    expect(header.alg).toBe("EdDSA");
    expect(header.typ).not.toBe("operator+jwt");
    expect(claims).toMatchObject({
      exec_id: "exec-rfc-1",
      sub: "agent-rfc",
      scp: "research",
      aud: AGENT_AUDIENCE,
      tenant_id: "default",
      exp: nowSeconds(t) + 900,
    });
    const verified = await t.gw.services.tokens.verifyAgentToken(body.security_token, nowSeconds(t));
    expect(verified.ok).toBe(true);
  });

  it("accepts the AEGIS field names agent_id and security_context", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const body = await expectJson<Created>(
      await post({ agent_id: "aegis-agent", security_context: "ops", public_key_b64: publicKeyB64 }),
      201,
    );
    expect(body.sub).toBe("aegis-agent");
    expect(body.agent_id).toBe("aegis-agent");
    expect(body.security_context_name).toBe("ops");
    expect(body.execution_id).toMatch(/^ses_/);
    expect(decodeJwtPart(body.security_token, 1)).toMatchObject({
      sub: "aegis-agent",
      scp: "ops",
      exec_id: body.execution_id,
    });
  });

  it("refuses contradicting RFC and AEGIS names", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const err = await expectError(
      await post({
        sub: "a",
        agent_id: "b",
        security_context_name: "x",
        security_context: "y",
        public_key_b64: publicKeyB64,
      }),
      400,
      "invalid_body",
    );
    const paths = (err.error.details.problems ?? []).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["agent_id", "security_context"]));
  });

  it("accepts a 64-hex public key and stores it as standard base64", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const hex = Buffer.from(publicKeyB64, "base64").toString("hex");
    const body = await expectJson<Created>(
      await post({ sub: "hex-agent", security_context_name: "default", public_key_b64: hex }),
      201,
    );
    expect(body.public_key_b64).toBe(publicKeyB64);
    const upper = await expectJson<Created>(
      await post({ sub: "hex-agent", security_context_name: "default", public_key_b64: hex.toUpperCase() }),
      201,
    );
    expect(upper.public_key_b64).toBe(publicKeyB64);
  });

  it("accepts an unpadded base64url public key", async () => {
    const std = keyNeedingUrlAlphabet();
    const url = Buffer.from(std, "base64").toString("base64url");
    expect(url).not.toBe(std.replace(/=+$/, ""));
    const body = await expectJson<Created>(
      await post({ sub: "url-agent", security_context_name: "default", public_key_b64: url }),
      201,
    );
    expect(body.public_key_b64).toBe(std);
  });

  it("refuses a second session with the same execution_id (409) and keeps the first", async () => {
    const first = generateKeyPair().publicKeyB64;
    await expectJson<Created>(
      await post({
        execution_id: "exec-dup",
        sub: "a",
        security_context_name: "default",
        public_key_b64: first,
      }),
      201,
    );
    const again = await post({
      execution_id: "exec-dup",
      sub: "b",
      security_context_name: "default",
      public_key_b64: generateKeyPair().publicKeyB64,
    });
    await expectError(again, 409, "exists");
    const kept = await expectJson<{ sub: string; public_key_b64: string }>(
      await t.request("/v1/seal/sessions/exec-dup", { headers: bearer(admin) }),
      200,
    );
    expect(kept).toMatchObject({ sub: "a", public_key_b64: first });
  });

  it("lets exactly one of several concurrent creates with one execution_id win", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post({
          execution_id: "exec-race",
          sub: `racer-${i}`,
          security_context_name: "default",
          public_key_b64: generateKeyPair().publicKeyB64,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) await expectError(r, 409, "exists");
  });

  for (const bad of BAD_KEYS) {
    it(`refuses a public key: ${bad.name} (400, clear message)`, async () => {
      const err = await expectError(
        await post({ sub: "a", security_context_name: "default", public_key_b64: bad.b64 }),
        400,
        "bad_key",
      );
      expect(err.error.message).toMatch(bad.message);
      expect(err.error.details.field).toBe("public_key_b64");
      expect(err.error.message).not.toContain(bad.b64);
    });
  }

  it("refuses unknown fields, listing each problem with its path", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const err = await expectError(
      await post({
        sub: "a",
        security_context_name: "default",
        public_key_b64: publicKeyB64,
        shell: "rm -rf /",
        extra: 1,
      }),
      400,
      "invalid_body",
    );
    const problems = err.error.details.problems ?? [];
    expect(problems.map((p) => p.path).sort()).toEqual(["extra", "shell"]);
    for (const p of problems) expect(p.message).toMatch(/unrecognized|unknown/i);
  });

  it("reports several field problems at once, each with its path", async () => {
    const err = await expectError(
      await post({
        sub: 7,
        security_context_name: "Not Valid",
        public_key_b64: 5,
        ttl_seconds: 10,
        allowed_tool_patterns: ["ok", ""],
      }),
      400,
      "invalid_body",
    );
    const paths = (err.error.details.problems ?? []).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "sub",
        "security_context_name",
        "public_key_b64",
        "ttl_seconds",
        "allowed_tool_patterns.1",
      ]),
    );
  });

  it("refuses a missing sub and a missing security context", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const noSub = await expectError(
      await post({ security_context_name: "default", public_key_b64: publicKeyB64 }),
      400,
      "invalid_body",
    );
    expect(noSub.error.details.problems).toEqual([{ path: "sub", message: expect.stringMatching(/sub/) }]);
    const noCtx = await expectError(
      await post({ sub: "a", public_key_b64: publicKeyB64 }),
      400,
      "invalid_body",
    );
    expect(noCtx.error.details.problems?.map((p) => p.path)).toEqual(["security_context_name"]);
    await expectError(await post({ sub: "a", security_context_name: "default" }), 400, "invalid_body");
  });

  it("refuses ttl_seconds outside 60..86400 and malformed JSON bodies", async () => {
    const { publicKeyB64 } = generateKeyPair();
    for (const ttl of [59, 86_401, 1.5, "600"]) {
      await expectError(
        await post({
          sub: "a",
          security_context_name: "default",
          public_key_b64: publicKeyB64,
          ttl_seconds: ttl,
        }),
        400,
        "invalid_body",
      );
    }
    for (const raw of ["{", "[]", "null", '{"sub":"a","sub":"b"}', ""]) {
      await expectError(await post(raw), 400);
    }
  });

  it("scopes creation to the token's tenant", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const acme = t.operatorToken("operator", "acme");
    const body = await expectJson<Created>(
      await post({ sub: "t-agent", security_context_name: "default", public_key_b64: publicKeyB64 }, acme),
      201,
    );
    expect(body.tenant_id).toBe("acme");
    expect(decodeJwtPart(body.security_token, 1).tenant_id).toBe("acme");
    await expectError(
      await post(
        {
          sub: "t-agent",
          security_context_name: "default",
          public_key_b64: publicKeyB64,
          tenant_id: "other",
        },
        acme,
      ),
      403,
      "wrong_tenant",
    );
    const adminMade = await expectJson<Created>(
      await post({
        sub: "t-agent",
        security_context_name: "default",
        public_key_b64: publicKeyB64,
        tenant_id: "other",
      }),
      201,
    );
    expect(adminMade.tenant_id).toBe("other");
  });

  it("lists, reads, revokes; the revoked token no longer works", async () => {
    const pair = generateKeyPair();
    const created = await expectJson<Created>(
      await post({
        execution_id: "exec-life",
        sub: "life",
        security_context_name: "default",
        public_key_b64: pair.publicKeyB64,
      }),
      201,
    );
    const viewer = t.operatorToken("viewer", "default");

    const list = await expectJson<SessionList>(
      await t.request("/v1/seal/sessions", { headers: bearer(viewer) }),
      200,
    );
    expect(list.sessions.map((s) => s.execution_id)).toContain("exec-life");
    expect(list.sessions.every((s) => s.tenant_id === "default")).toBe(true);
    const active = await expectJson<SessionList>(
      await t.request("/v1/seal/sessions?status=Active", { headers: bearer(viewer) }),
      200,
    );
    expect(active.sessions.every((s) => s.session_status === "Active")).toBe(true);
    await expectError(
      await t.request("/v1/seal/sessions?status=bogus", { headers: bearer(viewer) }),
      400,
      "invalid_query",
    );

    const one = await expectJson<Record<string, unknown>>(
      await t.request("/v1/seal/sessions/exec-life", { headers: bearer(viewer) }),
      200,
    );
    expect(one).toMatchObject({
      execution_id: "exec-life",
      sub: "life",
      session_status: "Active",
      revoked_at: null,
    });

    const del = await expectJson<Record<string, unknown>>(
      await t.request("/v1/seal/sessions/exec-life", { method: "DELETE", headers: bearer(admin) }),
      200,
    );
    expect(del).toEqual({
      status: "success",
      execution_id: "exec-life",
      session_status: "Revoked",
      revoked_at: new Date(t.clock.nowMs()).toISOString(),
    });
    const after = await expectJson<Record<string, unknown>>(
      await t.request("/v1/seal/sessions/exec-life", { headers: bearer(viewer) }),
      200,
    );
    expect(after.session_status).toBe("Revoked");
    const revokedList = await expectJson<SessionList>(
      await t.request("/v1/seal/sessions?status=Revoked", { headers: bearer(viewer) }),
      200,
    );
    expect(revokedList.sessions.map((s) => s.execution_id)).toContain("exec-life");

    // Revoking again is idempotent: same state, same revocation time.
    const again = await expectJson<Record<string, unknown>>(
      await t.request("/v1/seal/sessions/exec-life", { method: "DELETE", headers: bearer(admin) }),
      200,
    );
    expect(again).toEqual(del);

    const r = await invoke(
      t,
      envelopeBody(t, { token: created.security_token, privateKeyB64: pair.privateKeyB64 }),
    );
    expect(r.status).toBe(401);
    expect(r.body.status).toBe("error");
  });

  it("answers 404 for an unknown session on read and delete", async () => {
    await expectError(
      await t.request("/v1/seal/sessions/no-such-exec", { headers: bearer(admin) }),
      404,
      "not_found",
    );
    await expectError(
      await t.request("/v1/seal/sessions/no-such-exec", { method: "DELETE", headers: bearer(admin) }),
      404,
      "not_found",
    );
  });

  it("lists per tenant: tenant tokens see their own, an admin with tenant * sees every tenant or the one it names", async () => {
    const key = () => generateKeyPair().publicKeyB64;
    await expectJson(
      await post({
        execution_id: "exec-ten-default",
        sub: "d",
        security_context_name: "default",
        public_key_b64: key(),
      }),
      201,
    );
    await expectJson(
      await post({
        execution_id: "exec-ten-a",
        sub: "a",
        security_context_name: "default",
        public_key_b64: key(),
        tenant_id: "ten-a",
      }),
      201,
    );
    await expectJson(
      await post({
        execution_id: "exec-ten-b",
        sub: "b",
        security_context_name: "default",
        public_key_b64: key(),
        tenant_id: "ten-b",
      }),
      201,
    );
    const ids = async (path: string, token: string) =>
      (await expectJson<SessionList>(await t.request(path, { headers: bearer(token) }), 200)).sessions.map(
        (s) => s.execution_id,
      );

    const asA = await ids("/v1/seal/sessions", t.operatorToken("viewer", "ten-a"));
    expect(asA).toEqual(["exec-ten-a"]);
    expect(await ids("/v1/seal/sessions?tenant_id=ten-a", t.operatorToken("viewer", "ten-a"))).toEqual([
      "exec-ten-a",
    ]);
    await expectError(
      await t.request("/v1/seal/sessions?tenant_id=ten-b", {
        headers: bearer(t.operatorToken("viewer", "ten-a")),
      }),
      403,
      "wrong_tenant",
    );
    expect(await ids("/v1/seal/sessions?tenant_id=ten-b", admin)).toEqual(["exec-ten-b"]);

    const all = await ids("/v1/seal/sessions", admin);
    expect(all).toEqual(expect.arrayContaining(["exec-ten-a", "exec-ten-b", "exec-ten-default"]));
  });

  it("refuses unknown or malformed list query parameters", async () => {
    const err = await expectError(
      await t.request("/v1/seal/sessions?sttus=Active", { headers: bearer(admin) }),
      400,
      "invalid_query",
    );
    expect(err.error.details.problems?.map((p) => p.path)).toEqual(["sttus"]);
    await expectError(
      await t.request("/v1/seal/sessions?status=active", { headers: bearer(admin) }),
      400,
      "invalid_query",
    );
  });

  it("audits SessionCreated and SessionRevoked, and never shows the token in events or lists", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const created = await expectJson<Created>(
      await post({
        execution_id: "exec-audit",
        sub: "audited",
        security_context_name: "default",
        public_key_b64: publicKeyB64,
      }),
      201,
    );
    await expectJson(
      await t.request("/v1/seal/sessions/exec-audit", { method: "DELETE", headers: bearer(admin) }),
      200,
    );

    const res = await t.request("/v1/events?execution_id=exec-audit&limit=1000", { headers: bearer(admin) });
    const text = await res.clone().text();
    const events = await expectJson<EventList>(res, 200);
    const types = events.items.map((e) => e.event_type);
    expect(types).toEqual(["SessionRevoked", "SessionCreated"]);
    for (const e of events.items)
      expect(e).toMatchObject({
        execution_id: "exec-audit",
        agent_id: "audited",
        tenant_id: "default",
        stage: "control",
      });
    expect(events.items[1]?.payload).toMatchObject({ actor: "test-admin", security_context: "default" });

    const [, , signature] = created.security_token.split(".");
    const everything = await t.request("/v1/events?limit=1000", { headers: bearer(admin) });
    const lists = [text, await everything.text()];
    lists.push(await (await t.request("/v1/seal/sessions", { headers: bearer(admin) })).text());
    lists.push(
      await (await t.request("/v1/seal/sessions?status=Revoked", { headers: bearer(admin) })).text(),
    );
    lists.push(await (await t.request("/v1/seal/sessions/exec-audit", { headers: bearer(admin) })).text());
    for (const body of lists) {
      expect(body).not.toContain(created.security_token);
      expect(body).not.toContain(signature);
      expect(body).not.toContain("security_token");
    }
  });

  // Last in this block: it moves the shared clock forward.
  it("reports a session past its expiry as Expired, and filters on that status", async () => {
    const { publicKeyB64 } = generateKeyPair();
    await expectJson(
      await post({
        execution_id: "exec-short",
        sub: "short",
        security_context_name: "default",
        public_key_b64: publicKeyB64,
        ttl_seconds: 60,
      }),
      201,
    );
    const statusOf = async (q: string) =>
      (
        await expectJson<SessionList>(
          await t.request(`/v1/seal/sessions${q}`, { headers: bearer(t.operatorToken("viewer")) }),
          200,
        )
      ).sessions.find((s) => s.execution_id === "exec-short");
    expect((await statusOf("?status=Active"))?.session_status).toBe("Active");
    t.clock.advance(61_000);
    expect(await statusOf("?status=Active")).toBeUndefined();
    expect((await statusOf("?status=Expired"))?.session_status).toBe("Expired");
    expect(await statusOf("?status=Revoked")).toBeUndefined();
    const one = await expectJson<{ session_status: string }>(
      await t.request("/v1/seal/sessions/exec-short", { headers: bearer(t.operatorToken("viewer")) }),
      200,
    );
    expect(one.session_status).toBe("Expired");
  });
});
