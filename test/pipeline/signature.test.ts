/**
 * DESIGN §2 rows 6 and 6b: the envelope signature, checked over the canonical bytes built from
 * the one strict parse. Bodies signed by the independent signer (test/support) prove that key
 * order, whitespace and number literals are verified as the client wrote them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { independentSign } from "../support/independent-signer.js";
import { type Caller, sessionAgent } from "./agents.js";
import {
  type ExpectedRejection,
  expectPolicyDenied,
  expectRejected,
  fieldOf,
  nowSeconds,
  uid,
  withField,
} from "./helpers.js";

// Little-endian group order L, to build the malleable twin S + L of a valid signature.
const L = Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex");

function addL(sig: Buffer): Buffer {
  const out = Buffer.from(sig);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = (out[32 + i] as number) + (L[i] as number) + carry;
    out[32 + i] = v & 0xff;
    carry = v >> 8;
  }
  return out;
}

describe.each(BACKENDS)("envelope signature (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const sigFail = (agent: Caller, code: number, reason: string, requestId: string): ExpectedRejection => ({
    status: 401,
    code,
    reason,
    stage: "authenticate",
    tenant: "default",
    agentId: agent.sub,
    requestId,
    secrets: [agent.token],
  });
  const passes = (agent: Caller, body: string) =>
    expectPolicyDenied(t, body, { tenant: "default", agentId: agent.sub, binding: "session" });

  /** Signs `payloadText` verbatim (its order, spacing and literals) with the independent signer. */
  function literal(
    agent: Caller,
    payloadText: string,
    timestamp: string | number = new Date(t.clock.nowMs()).toISOString(),
  ) {
    return independentSign({
      securityToken: agent.token,
      payload: payloadText,
      timestamp,
      privateKeyB64: agent.privateKeyB64,
    });
  }

  it("signature encodings that are not 64 bytes of canonical base64 are 1001 bad_signature_encoding", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    const sig = Buffer.from(String(fieldOf(body, "signature")), "base64");
    const bad = [
      "!!!not base64!!!",
      sig.subarray(0, 63).toString("base64"),
      Buffer.concat([sig, Buffer.from([0])]).toString("base64"),
      ` ${sig.toString("base64")}`,
      sig.toString("base64").replace("==", "="),
      `-+${sig.toString("base64").slice(2)}`,
      "A".repeat(85),
    ];
    for (const s of bad)
      await expectRejected(
        t,
        withField(body, "signature", s),
        sigFail(agent, 1001, "bad_signature_encoding", id),
      );
  });

  it("base64url (padded or not) is accepted", async () => {
    for (const unpadded of [true, false]) {
      const agent = await sessionAgent(t);
      let body = "";
      let sig = "";
      // Retry until the signature uses a character that differs between the two alphabets.
      for (let i = 0; i < 50 && !/[+/]/.test(sig); i++) {
        body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") });
        sig = String(fieldOf(body, "signature"));
      }
      expect(sig).toMatch(/[+/]/);
      const url = Buffer.from(sig, "base64").toString("base64url");
      await passes(agent, withField(body, "signature", unpadded ? url : `${url}==`));
    }
  });

  it("a valid signature by another key, the malleable S + L twin, and a zero signature are 1002", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    const other = envelopeBody(
      t,
      { token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 },
      "demo.tool",
      { q: "x" },
      { id },
    );
    const sig = Buffer.from(String(fieldOf(body, "signature")), "base64");
    for (const s of [
      String(fieldOf(other, "signature")),
      addL(sig).toString("base64"),
      Buffer.alloc(64).toString("base64"),
    ]) {
      await expectRejected(
        t,
        withField(body, "signature", s),
        sigFail(agent, 1002, "signature_mismatch", id),
      );
    }
    await passes(agent, body);
  });

  it("changing one byte of the payload, the timestamp's second or the token breaks the signature", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id });
    await expectRejected(
      t,
      body.replace('"q":"x"', '"q":"y"'),
      sigFail(agent, 1002, "signature_mismatch", id),
    );
    await expectRejected(
      t,
      body.replace('"name":"demo.tool"', '"name":"demo.tooL"'),
      sigFail(agent, 1002, "signature_mismatch", id),
    );
    await expectRejected(
      t,
      withField(body, "timestamp", nowSeconds(t) - 1),
      sigFail(agent, 1002, "signature_mismatch", id),
    );
    const sibling = t.gw.services.tokens.mintAgentToken({
      sub: agent.sub,
      scp: "default",
      wid: uid("wid"),
      tenantId: "default",
      ttlSeconds: 600,
      nowSeconds: nowSeconds(t),
      execId: agent.executionId,
    }).token;
    await expectRejected(t, withField(body, "security_token", sibling), {
      ...sigFail(agent, 1002, "signature_mismatch", id),
      secrets: [sibling],
    });
    await passes(agent, body);
  });

  it("the same instant spelled as integer seconds still verifies (the signed form is Unix seconds)", async () => {
    const agent = await sessionAgent(t);
    const body = envelopeBody(t, agent, "demo.tool", { q: "x" }, { id: uid("req") });
    await passes(agent, withField(body, "timestamp", nowSeconds(t)));
  });

  it("reordered keys and whitespace in the body verify (the signature covers the canonical form)", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const payload = `{ "id" : "${id}", "params": {"arguments": {"zeta": [3, {"b": true, "a": null}], "alpha": "A"}, "name": "demo.tool"},\n "method": "tools/call", "jsonrpc": "2.0" }`;
    const signed = literal(agent, payload);
    expect(signed.signedText).toContain('"arguments":{"alpha":"A","zeta":[3,{"a":null,"b":true}]}');
    const body = `{\r\n\t"timestamp": ${JSON.stringify(new Date(t.clock.nowMs()).toISOString())},  "payload": ${payload}, "signature": "${signed.signatureB64}", "security_token": "${agent.token}", "protocol": "seal/v1"\n}\n`;
    await passes(agent, body);
  });

  it("number literals verify exactly as written: 1.0, 1e+16, -0, 18446744073709551616", async () => {
    for (const lit of ["1.0", "1e+16", "-0", "0.10", "18446744073709551616", "-1.5E-7"]) {
      const agent = await sessionAgent(t);
      const signed = literal(
        agent,
        `{"id": "${uid("req")}", "jsonrpc": "2.0", "method": "tools/call", "params": {"name": "demo.tool", "arguments": {"n": ${lit}}}}`,
      );
      expect(signed.signedText).toContain(`"n":${lit}`);
      await passes(agent, signed.body);
    }
  });

  it("a literal beyond double range is refused by the parser, not verified one way and acted on another", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const signed = literal(
      agent,
      `{"id": "${id}", "jsonrpc": "2.0", "method": "tools/call", "params": {"name": "demo.tool", "arguments": {"n": 1E400}}}`,
    );
    await expectRejected(t, signed.body, {
      status: 400,
      code: 1000,
      reason: "malformed_json",
      stage: "parse",
      tenant: "system",
    });
  });

  it("a literal re-spelled after signing (signed 1, sent 1.0) does not verify", async () => {
    const agent = await sessionAgent(t);
    const id = uid("req");
    const signed = literal(
      agent,
      `{"id": "${id}", "jsonrpc": "2.0", "method": "tools/call", "params": {"name": "demo.tool", "arguments": {"n": 1}}}`,
    );
    await expectRejected(
      t,
      signed.body.replace('"n": 1}', '"n": 1.0}'),
      sigFail(agent, 1002, "signature_mismatch", id),
    );
    await expectRejected(
      t,
      signed.body.replace('"n": 1}', '"n": 1e0}'),
      sigFail(agent, 1002, "signature_mismatch", id),
    );
  });

  it("escaped strings verify by the characters they denote", async () => {
    const agent = await sessionAgent(t);
    const signed = literal(
      agent,
      `{"id": "${uid("req")}", "jsonrpc": "2.0", "method": "tools/call", "params": {"name": "demo.tool", "arguments": {"s": "caf\\u00e9 \\u2028 \\ud83d\\ude00 \\u001f \\/ \\" \\u007f"}}}`,
    );
    expect(signed.signedText).toContain('"s":"café \u2028 😀 \\u001f / \\" \u007f"');
    await passes(agent, signed.body);
  });
});
