/**
 * Helpers of the token suites: envelopes that carry a given token and are signed by a key the
 * token binds through cnf, so that nothing but the token itself can make them fail.
 */
import { generateKeyPair } from "../../src/sdk/keys.js";
import { envelopeBody, type TestGateway } from "../support/gateway.js";
import { agentClaims } from "./agents.js";
import { type ExpectedRejection, expectRejected, uid } from "./helpers.js";

export function tokenCases(t: TestGateway) {
  /** An envelope carrying `token`, signed by `pair` (a fresh key unless given). */
  function envelopeWith(token: string, pair = generateKeyPair()): { body: string; id: string } {
    const id = uid("req");
    return {
      body: envelopeBody(t, { token, privateKeyB64: pair.privateKeyB64 }, "demo.tool", { q: "x" }, { id }),
      id,
    };
  }

  /** Agent claims carrying a fresh key in cnf.jwk, with overrides. */
  function cnfClaims(over: Record<string, unknown> = {}) {
    const pair = generateKeyPair();
    const x = Buffer.from(pair.publicKeyB64, "base64").toString("base64url");
    return { pair, claims: agentClaims(t, { cnf: { jwk: { kty: "OKP", crv: "Ed25519", x } }, ...over }) };
  }

  /** A token rejection: before the token verified, so `system`, no agent, no token echoed. */
  async function rejectsToken(token: string, code: number, reason: string): Promise<void> {
    const { body, id } = envelopeWith(token);
    const exp: ExpectedRejection = {
      status: 401,
      code,
      reason,
      stage: "authenticate",
      tenant: "system",
      requestId: id,
      secrets: [token],
    };
    await expectRejected(t, body, exp);
  }
  const badToken = (token: string, reason = "bad_token") => rejectsToken(token, 1004, reason);

  return { envelopeWith, cnfClaims, rejectsToken, badToken };
}
