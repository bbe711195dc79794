import { describe, expect, it } from "vitest";
import {
  generateKeyPair,
  SealClientError,
  signEnvelope,
  signedMessage,
  toolCallPayload,
} from "../../src/sdk/index.js";
import { canonicalBytes } from "../../src/seal/canonical.js";
import { parseStrict } from "../../src/seal/json.js";
import { independentVerify } from "../support/independent-signer.js";
import { gatewayVerify } from "./gateway-verify.js";

const keys = generateKeyPair();
const TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln";
const NOW = new Date("2026-01-01T00:00:00.999Z");

const payloads: Record<string, unknown> = {
  "a plain tool call": toolCallPayload({ name: "demo.tool", arguments: { q: "hello", n: 3 }, id: "req-1" }),
  "awkward numbers": toolCallPayload({
    name: "n",
    arguments: { a: 1.5, b: 1e21, c: -0, d: 0.1 + 0.2, e: 2 ** 53 - 1, f: 5e-324, g: -1e-7 },
  }),
  "code-point key order and escapes": toolCallPayload({
    name: "u",
    arguments: { "\uffff": 1, "😀": 2, "\ue000": 3, z: '\u0000\u001f\u007f\u2028"\\/\b\f\n\r\t', é: "é" },
  }),
  "nested arrays and objects": {
    jsonrpc: "2.0",
    id: 9,
    method: "tools/call",
    params: { name: "x", arguments: { z: [{ b: [], a: {} }, null, true] } },
  },
  "a __proto__ key": JSON.parse('{"params":{"arguments":{"__proto__":{"x":1},"constructor":2}}}'),
  "approval metadata": toolCallPayload({ name: "t", arguments: {}, meta: { approval_id: "apr_1" }, id: 4 }),
};

describe("SDK envelopes verify on the gateway and with the independent verifier", () => {
  for (const [name, payload] of Object.entries(payloads)) {
    for (const timestampFormat of ["rfc3339", "unix"] as const) {
      it(`${name} (${timestampFormat})`, () => {
        const { body, envelope } = signEnvelope({
          securityToken: TOKEN,
          payload,
          privateKeyB64: keys.privateKeyB64,
          now: NOW,
          timestampFormat,
        });
        const gateway = gatewayVerify(body, keys.publicKeyB64);
        expect(gateway.ok).toBe(true);
        const independent = independentVerify(body, keys.publicKeyB64);
        expect(independent.ok).toBe(true);
        expect(independent.signedText).toBe(gateway.canonical);
        expect(gatewayVerify(body, generateKeyPair().publicKeyB64).ok).toBe(false);
        expect(envelope).toEqual(JSON.parse(body));
      });
    }
  }

  it("signedMessage equals the gateway's canonical bytes for plain values", () => {
    const payload = payloads["awkward numbers"];
    const sdk = signedMessage(payload, TOKEN, 1767225600);
    const gateway = canonicalBytes(parseStrict(JSON.stringify(payload)), TOKEN, 1767225600);
    expect(Buffer.from(sdk).equals(Buffer.from(gateway))).toBe(true);
  });
});

describe("envelope shape", () => {
  it("sends an RFC 3339 timestamp by default and signs its floored seconds", () => {
    const { envelope } = signEnvelope({
      securityToken: TOKEN,
      payload: {},
      privateKeyB64: keys.privateKeyB64,
      now: NOW,
    });
    expect(envelope.protocol).toBe("seal/v1");
    expect(envelope.timestamp).toBe("2026-01-01T00:00:00.999Z");
    expect(envelope.security_token).toBe(TOKEN);
    expect(envelope.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const { signedText } = independentVerify(JSON.stringify(envelope), keys.publicKeyB64);
    expect(signedText.endsWith(',"timestamp":1767225600}')).toBe(true);
  });

  it("can send integer Unix seconds", () => {
    const { envelope, body } = signEnvelope({
      securityToken: TOKEN,
      payload: {},
      privateKeyB64: keys.privateKeyB64,
      now: new Date(-1500),
      timestampFormat: "unix",
    });
    expect(envelope.timestamp).toBe(-2);
    expect(body.endsWith(',"timestamp":-2}')).toBe(true);
  });

  it("defaults to the current clock", () => {
    const before = Math.floor(Date.now() / 1000);
    const { envelope } = signEnvelope({
      securityToken: TOKEN,
      payload: {},
      privateKeyB64: keys.privateKeyB64,
      timestampFormat: "unix",
    });
    expect(envelope.timestamp).toBeGreaterThanOrEqual(before);
    expect(envelope.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("leaves undefined members out of both the body and the signature, and uses toJSON", () => {
    const payload = { a: undefined, b: 1, when: new Date(0) };
    const { body } = signEnvelope({
      securityToken: TOKEN,
      payload,
      privateKeyB64: keys.privateKeyB64,
      now: NOW,
    });
    expect(body).toContain('"payload":{"b":1,"when":"1970-01-01T00:00:00.000Z"}');
    expect(gatewayVerify(body, keys.publicKeyB64).ok).toBe(true);
  });

  it("a body changed after signing no longer verifies", () => {
    const payload = toolCallPayload({ name: "t", arguments: { amount: 10 } });
    const { body } = signEnvelope({
      securityToken: TOKEN,
      payload,
      privateKeyB64: keys.privateKeyB64,
      now: NOW,
    });
    expect(gatewayVerify(body.replace('"amount":10', '"amount":10.0'), keys.publicKeyB64).ok).toBe(false);
    expect(gatewayVerify(body.replace('"amount":10', '"amount":100'), keys.publicKeyB64).ok).toBe(false);
    expect(gatewayVerify(body.replace(TOKEN, `${TOKEN}x`), keys.publicKeyB64).ok).toBe(false);
  });
});

describe("signEnvelope refuses what has no single JSON form", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: Record<string, unknown> = {
    NaN: { n: Number.NaN },
    Infinity: { n: Number.NEGATIVE_INFINITY },
    "a lone surrogate in a value": { s: "x\ud800" },
    "a lone surrogate in a key": { "\udc00": 1 },
    "undefined in an array": { a: [1, undefined] },
    "a Map": { m: new Map() },
    "a function": { f: () => 1 },
    "a bigint": { b: 1n },
    "a symbol": { s: Symbol("x") },
    "a cycle": cyclic,
  };
  for (const [name, payload] of Object.entries(bad)) {
    it(name, () => {
      expect(() =>
        signEnvelope({ securityToken: TOKEN, payload, privateKeyB64: keys.privateKeyB64, now: NOW }),
      ).toThrow(SealClientError);
    });
  }

  it("an empty or broken token, an invalid date, an unknown timestamp format", () => {
    const base = { payload: {}, privateKeyB64: keys.privateKeyB64 };
    expect(() => signEnvelope({ ...base, securityToken: "" })).toThrow(SealClientError);
    expect(() => signEnvelope({ ...base, securityToken: "a\ud800" })).toThrow(SealClientError);
    expect(() => signEnvelope({ ...base, securityToken: TOKEN, now: new Date(Number.NaN) })).toThrow(
      SealClientError,
    );
    expect(() =>
      signEnvelope({ ...base, securityToken: TOKEN, timestampFormat: "iso" as unknown as "unix" }),
    ).toThrow(SealClientError);
  });
});

describe("toolCallPayload", () => {
  it("builds an MCP tools/call with a random id unless given one", () => {
    const a = toolCallPayload({ name: "t" });
    const b = toolCallPayload({ name: "t" });
    expect(a).toMatchObject({ jsonrpc: "2.0", method: "tools/call", params: { name: "t", arguments: {} } });
    expect(String(a.id)).toMatch(/^req-/);
    expect(a.id).not.toBe(b.id);
    expect("_meta" in a.params).toBe(false);
    expect(toolCallPayload({ name: "t", id: 0, meta: { approval_id: "x" } })).toMatchObject({
      id: 0,
      params: { _meta: { approval_id: "x" } },
    });
  });

  it("refuses an empty tool name", () => {
    expect(() => toolCallPayload({ name: "" })).toThrow(SealClientError);
  });
});
