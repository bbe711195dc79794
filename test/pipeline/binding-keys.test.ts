/**
 * DESIGN §2 rows 5 and 5b for registered agent keys (the `authorized_keys` of CI), and the
 * precedence of bindings: session, then cnf, then a registered key; first match wins.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { keyAgent, registerKey, sessionAgent } from "./agents.js";
import { bindingCases, jwkOf } from "./binding-cases.js";
import { expectPolicyDenied, expectRejected, uid } from "./helpers.js";

describe.each(BACKENDS)("key binding: registered keys and precedence (%s)", (backend) => {
  let t: TestGateway;
  let c: ReturnType<typeof bindingCases>;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    c = bindingCases(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("registered agent keys", () => {
    it("a registered key (raw base64 or OKP JWK) binds a token without exec_id or cnf", async () => {
      for (const jwk of [false, true]) {
        const agent = await keyAgent(t, { jwk });
        await expectPolicyDenied(t, c.body(agent), {
          tenant: "default",
          agentId: agent.sub,
          binding: "agent_key",
          executionId: agent.jti,
        });
      }
    });

    it("no registered key for the sub (or only one in another tenant) is 1005 no_key", async () => {
      const sub = uid("ci");
      const pair = generateKeyPair();
      const { token } = c.mint({ sub });
      const b1 = c.body({ token, privateKeyB64: pair.privateKeyB64 });
      await expectRejected(t, b1, c.withId(c.fails(1005, "no_key", { sub, token }), b1));
      await registerKey(t, sub, { public_key_b64: pair.publicKeyB64 }, "tenant-b");
      const b2 = c.body({ token, privateKeyB64: pair.privateKeyB64 });
      await expectRejected(t, b2, c.withId(c.fails(1005, "no_key", { sub, token }), b2));
    });

    it("a revoked key is 1006 key_revoked on the next call; a remaining active key still works", async () => {
      const agent = await keyAgent(t);
      await expectPolicyDenied(t, c.body(agent), { tenant: "default", agentId: agent.sub });
      const res = await t.request(`/v1/agent-keys/${agent.keyId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${t.adminToken()}` },
      });
      expect(res.status).toBe(200);
      const b = c.body(agent);
      await expectRejected(t, b, c.withId(c.fails(1006, "key_revoked", agent), b));
      const second = generateKeyPair();
      await registerKey(t, agent.sub, { public_key_b64: second.publicKeyB64 });
      await expectPolicyDenied(t, c.body({ token: agent.token, privateKeyB64: second.privateKeyB64 }), {
        tenant: "default",
        agentId: agent.sub,
        binding: "agent_key",
      });
      const old = c.body(agent);
      await expectRejected(t, old, c.withId(c.fails(1002, "signature_mismatch", agent), old));
    });
  });

  describe("first match wins", () => {
    it("exec_id beats cnf, and cnf beats a registered key", async () => {
      const session = await sessionAgent(t);
      const other = generateKeyPair();
      const { token } = c.mint({
        sub: session.sub,
        execId: session.executionId,
        cnfJwk: jwkOf(other.publicKeyB64),
      });
      const b1 = c.body({ token, privateKeyB64: other.privateKeyB64 });
      await expectRejected(
        t,
        b1,
        c.withId(c.fails(1002, "signature_mismatch", { sub: session.sub, token }, session.executionId), b1),
      );
      await expectPolicyDenied(t, c.body({ token, privateKeyB64: session.privateKeyB64 }), {
        tenant: "default",
        agentId: session.sub,
        binding: "session",
      });

      const ci = await keyAgent(t);
      const cnfPair = generateKeyPair();
      const both = c.mint({ sub: ci.sub, cnfJwk: jwkOf(cnfPair.publicKeyB64) }).token;
      const b2 = c.body({ token: both, privateKeyB64: ci.privateKeyB64 });
      await expectRejected(
        t,
        b2,
        c.withId(c.fails(1002, "signature_mismatch", { sub: ci.sub, token: both }), b2),
      );
      await expectPolicyDenied(t, c.body({ token: both, privateKeyB64: cnfPair.privateKeyB64 }), {
        tenant: "default",
        agentId: ci.sub,
        binding: "cnf",
      });
    });
  });
});
