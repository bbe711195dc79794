/**
 * DESIGN §2 rows 5 and 5b for session and cnf bindings (registered keys and precedence are in
 * binding-keys.test.ts): which key checks the signature and the liveness of that binding.
 * These run after the token verified, so every row lands in the token's tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { agentClaims, cnfAgent, gatewayToken, sessionAgent } from "./agents.js";
import { bindingCases, jwkOf } from "./binding-cases.js";
import { expectPolicyDenied, expectRejected, uid } from "./helpers.js";

describe.each(BACKENDS)("key binding (%s)", (backend) => {
  let t: TestGateway;
  let c: ReturnType<typeof bindingCases>;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    c = bindingCases(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("sessions", () => {
    it("a session token with its session key passes, bound to the session", async () => {
      const agent = await sessionAgent(t);
      await expectPolicyDenied(t, c.body(agent), {
        tenant: "default",
        agentId: agent.sub,
        binding: "session",
        executionId: agent.executionId,
      });
    });

    it("exec_id naming no session is 1005 no_session", async () => {
      const pair = generateKeyPair();
      const execId = uid("ses");
      const claims = agentClaims(t, { exec_id: execId });
      const token = gatewayToken(t, claims);
      const b = c.body({ token, privateKeyB64: pair.privateKeyB64 });
      await expectRejected(
        t,
        b,
        c.withId(c.fails(1005, "no_session", { sub: String(claims.sub), token }, execId), b),
      );
    });

    it("a session of another sub, context or tenant is 1005 binding_mismatch", async () => {
      const agent = await sessionAgent(t);
      const mismatches = [
        { sub: uid("agent") },
        { sub: agent.sub, scp: "other-context" },
        { sub: agent.sub, tenantId: "tenant-b" },
      ];
      for (const m of mismatches) {
        const { token } = c.mint({ ...m, execId: agent.executionId });
        const b = c.body({ token, privateKeyB64: agent.privateKeyB64 });
        await expectRejected(
          t,
          b,
          c.withId(
            c.fails(
              1005,
              "binding_mismatch",
              { sub: m.sub, tenant: m.tenantId ?? "default", token },
              agent.executionId,
            ),
            b,
          ),
        );
      }
    });

    it("revocation takes effect on the very next call (1006 session_revoked)", async () => {
      const agent = await sessionAgent(t);
      await expectPolicyDenied(t, c.body(agent), { tenant: "default", agentId: agent.sub });
      const res = await t.request(`/v1/seal/sessions/${agent.executionId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${t.adminToken()}` },
      });
      expect(res.status).toBe(200);
      const b = c.body(agent);
      await expectRejected(t, b, c.withId(c.fails(1006, "session_revoked", agent, agent.executionId), b));
    });

    it("an expired session is 1006 session_expired even while a token for it is still valid", async () => {
      const pair = generateKeyPair();
      const sub = uid("agent");
      const res = await t.request(
        "/v1/seal/sessions",
        jsonInit(
          "POST",
          { sub, security_context_name: "default", public_key_b64: pair.publicKeyB64, ttl_seconds: 60 },
          t.adminToken(),
        ),
      );
      expect(res.status).toBe(201);
      const created = (await res.json()) as { execution_id: string; security_token: string };
      const longer = c.mint({ sub, execId: created.execution_id, ttlSeconds: 3600 }).token;
      t.clock.advance(61_000);
      for (const token of [longer, created.security_token]) {
        // The session's own token is still inside the clock tolerance here; the session is not.
        const b = c.body({ token, privateKeyB64: pair.privateKeyB64 });
        await expectRejected(
          t,
          b,
          c.withId(c.fails(1006, "session_expired", { sub, token }, created.execution_id), b),
        );
      }
    });
  });

  describe("cnf.jwk", () => {
    it("a token carrying the caller's key in cnf.jwk passes; another key's signature is 1002", async () => {
      const agent = cnfAgent(t);
      await expectPolicyDenied(t, c.body(agent), {
        tenant: "default",
        agentId: agent.sub,
        binding: "cnf",
        executionId: agent.jti,
      });
      const b = c.body({ token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 });
      await expectRejected(t, b, c.withId(c.fails(1002, "signature_mismatch", agent, agent.jti), b));
    });

    it("an unusable cnf key (small order, non-canonical, private part, other curve) is 1001 bad_key", async () => {
      const identity = Buffer.alloc(32);
      identity[0] = 1;
      const nonCanonical = Buffer.alloc(32, 0xff);
      nonCanonical[31] = 0x7f;
      const xs = [
        identity.toString("base64url"),
        Buffer.alloc(32).toString("base64url"),
        nonCanonical.toString("base64url"),
        "AAAA",
      ];
      for (const x of xs) {
        const agent = cnfAgent(t, x);
        const b = c.body(agent);
        await expectRejected(t, b, c.withId(c.fails(1001, "bad_key", agent), b));
      }
      const pair = generateKeyPair();
      for (const jwk of [
        { ...jwkOf(pair.publicKeyB64), d: pair.privateKeyB64 },
        { ...jwkOf(pair.publicKeyB64), crv: "X25519" },
        { ...jwkOf(pair.publicKeyB64), kty: "EC" },
      ]) {
        const sub = uid("att");
        const { token } = c.mint({ sub, cnfJwk: jwk });
        const b = c.body({ token, privateKeyB64: pair.privateKeyB64 });
        const { res } = await expectRejected(t, b, c.withId(c.fails(1001, "bad_key", { sub, token }), b));
        expect(res.text).not.toContain(pair.privateKeyB64);
      }
    });
  });
});
