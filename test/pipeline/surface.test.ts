/**
 * What a caller sees of the pipeline: the alias route, request_id echoing payload.id as sent,
 * no token in any answer, and a fully valid envelope ending in authorization (2006, never
 * 401) with its PolicyDenied row in the token's tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putSecurityContext } from "../store/test-methods.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { independentSign } from "../support/independent-signer.js";
import { sessionAgent } from "./agents.js";
import { eventsSince, expectPolicyDenied, expectRejected, maxSeq, send, uid, withField } from "./helpers.js";

describe.each(BACKENDS)("pipeline surface (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a valid envelope ends in 403 2006 with one PolicyDenied row in the token's tenant", async () => {
    for (const tenant of ["default", "acme"]) {
      const agent = await sessionAgent(t, { tenant });
      const { res, row } = await expectPolicyDenied(
        t,
        envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }),
        {
          tenant,
          agentId: agent.sub,
          binding: "session",
          executionId: agent.executionId,
          secrets: [agent.token],
        },
      );
      expect(res.json.error.details.rule).toBe("default");
      expect(row.toolName).toBe("demo.tool");
      expect(JSON.parse(row.payload)).toMatchObject({
        arguments_digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    }
  });

  it("an existing security context whose capabilities do not cover the tool denies with 2006", async () => {
    const context = `ctx-${uid("c").slice(2)}`;
    const now = t.clock.nowMs();
    await putSecurityContext(t.gw.store, {
      tenantId: "default",
      name: context,
      document: JSON.stringify({ name: context, deny_list: [], capabilities: [{ tool_pattern: "other.*" }] }),
      createdAt: now,
      updatedAt: now,
    });
    const agent = await sessionAgent(t, { context });
    await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }), {
      tenant: "default",
      agentId: agent.sub,
    });
  });

  it("a denial says nothing about which tools exist", async () => {
    const agent = await sessionAgent(t);
    const answers = [];
    for (const tool of ["explorer", "no.such.tool"]) {
      const { res } = await expectPolicyDenied(t, envelopeBody(t, agent, tool, {}, { id: "same-id" }), {
        tenant: "default",
        agentId: agent.sub,
      });
      answers.push({
        status: res.status,
        code: res.json.error.code,
        details: res.json.error.details,
        message: res.json.error.message,
      });
    }
    expect(answers[0]).toEqual(answers[1]);
  });

  it("/v1/seal/invoke is the same pipeline", async () => {
    const agent = await sessionAgent(t);
    await expectPolicyDenied(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") }),
      { tenant: "default", agentId: agent.sub },
      { path: "/v1/seal/invoke" },
    );
    await expectRejected(
      t,
      "{",
      { status: 400, code: 1000, reason: "malformed_json", stage: "parse", tenant: "system" },
      { path: "/v1/seal/invoke" },
    );
    const id = uid("req");
    await expectRejected(
      t,
      envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at: t.clock.nowMs() - 60_000 }),
      {
        status: 401,
        code: 1003,
        reason: "stale_timestamp",
        stage: "authenticate",
        tenant: "system",
        requestId: id,
      },
      { path: "/v1/seal/invoke" },
    );
  });

  it("request_id is payload.id exactly as sent, string or integer", async () => {
    for (const id of ["req-1", "", "ünï €😀", "x".repeat(256), 42, 0, -7, 999_999_999_999_999]) {
      const agent = await sessionAgent(t);
      const ok = await expectPolicyDenied(t, envelopeBody(t, agent, "demo.tool", { q: "x" }, { id }), {
        tenant: "default",
        agentId: agent.sub,
      });
      expect(ok.res.json.error.request_id).toStrictEqual(id);
      const stale = await expectRejected(
        t,
        envelopeBody(t, agent, "demo.tool", { q: "x" }, { id, at: t.clock.nowMs() - 31_000 }),
        {
          status: 401,
          code: 1003,
          reason: "stale_timestamp",
          stage: "authenticate",
          tenant: "system",
          requestId: id,
        },
      );
      expect(stale.res.json.error.request_id).toStrictEqual(id);
    }
  });

  it("an unusable payload.id is refused and never echoed (too long, fraction, huge integer, object)", async () => {
    const agent = await sessionAgent(t);
    const malformedId = {
      status: 400,
      code: 1000,
      reason: "bad_field:payload.id",
      stage: "parse" as const,
      tenant: "system",
      requestId: null,
    };
    const long = "x".repeat(257);
    const base = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: "ID" });
    for (const lit of [JSON.stringify(long), "1.5", "12345678901234567890", '{"a":1}', "null", "true"]) {
      const { res, row } = await expectRejected(t, base.replace('"id":"ID"', `"id":${lit}`), malformedId);
      expect(res.text).not.toContain(long);
      expect(row.requestId).toBeNull();
    }
    await expectRejected(t, base.replace('"id":"ID",', ""), malformedId);
  });

  it("the caller's text is echoed only in bounded form (an unknown field with a huge name)", async () => {
    const agent = await sessionAgent(t);
    const name = `f${"z".repeat(100_000)}`;
    const { res, row } = await expectRejected(
      t,
      withField(envelopeBody(t, agent, "demo.tool", {}, { id: "r" }), name, 1),
      {
        status: 400,
        code: 1000,
        reason: `bad_field:${name.slice(0, 64)}`,
        stage: "parse",
        tenant: "system",
        requestId: "r",
      },
    );
    expect(res.text.length).toBeLessThan(2000);
    expect(row.payload.length).toBeLessThan(2000);
  });

  it("no answer or audit row carries the security token", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    const [, claimsPart, sigPart] = agent.token.split(".") as [string, string, string];
    const variants = [
      withField(body, "signature", "not-a-signature"),
      withField(body, "protocol", "x"),
      withField(body, "timestamp", 1),
      body,
      body,
      withField(body, "security_token", `${agent.token}x`),
      withField(body, "security_token", agent.token.replace(".", "")),
    ];
    const before = await maxSeq(t);
    for (const v of variants) {
      const res = await send(t, v);
      expect(res.status).toBeGreaterThanOrEqual(400);
      for (const part of [agent.token, claimsPart, sigPart]) expect(res.text).not.toContain(part);
    }
    const rows = await eventsSince(t, before);
    expect(rows).toHaveLength(variants.length);
    for (const row of rows)
      for (const part of [claimsPart, sigPart]) expect(JSON.stringify(row)).not.toContain(part);
  });

  it("a body as a Python client writes it (spaced separators) verifies", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const { body } = independentSign({
      securityToken: agent.token,
      payload: {
        json: {
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "demo.tool", arguments: { q: "x" } },
        },
      },
      timestamp: new Date(t.clock.nowMs()).toISOString(),
      privateKeyB64: agent.privateKeyB64,
    });
    expect(body).toContain('"protocol": "seal/v1", ');
    await expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub });
  });
});
