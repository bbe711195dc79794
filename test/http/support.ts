/**
 * Helpers shared by the HTTP suites: hand-made operator tokens (to test what the gateway's
 * own minting never produces), hostile Ed25519 public keys, and error-body assertions.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { type JwtClaims, type JwtHeader, signJwt } from "../../src/seal/jwt.js";
import type { TestGateway } from "../support/gateway.js";

export const OPERATOR_AUDIENCE = "seal-gateway/operator";
export const AGENT_AUDIENCE = "seal-gateway/agent";

export function nowSeconds(t: TestGateway): number {
  return Math.floor(t.clock.nowMs() / 1000);
}

/** Signs arbitrary header and claims with the gateway's own active key. */
export function signAsGateway(t: TestGateway, claims: JwtClaims, header: Partial<JwtHeader> = {}): string {
  const { kid, privateKey } = t.gw.services.tokens.signingKey;
  return signJwt({ alg: "EdDSA", typ: "operator+jwt", kid, ...header }, claims, privateKey);
}

/** Operator claims as the gateway mints them, for hand-made variants. */
export function operatorClaims(t: TestGateway, extra: JwtClaims = {}): JwtClaims {
  const now = nowSeconds(t);
  return {
    iss: "seal-gateway",
    aud: OPERATOR_AUDIENCE,
    sub: "hand-made",
    jti: `jti-${randomBytes(6).toString("hex")}`,
    iat: now,
    exp: now + 600,
    role: "admin",
    tenant_id: "*",
    ...extra,
  };
}

/** An operator token signed by an Ed25519 key the gateway has never seen. */
export function signWithStrangerKey(t: TestGateway, kid: string): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  return signJwt({ alg: "EdDSA", typ: "operator+jwt", kid }, operatorClaims(t), privateKey);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

// Hostile public keys (32 bytes each unless named otherwise).
const P_LE = Buffer.concat([Buffer.from([0xed]), Buffer.alloc(30, 0xff), Buffer.from([0x7f])]);
export const BAD_KEYS: ReadonlyArray<{ name: string; b64: string; message: RegExp }> = [
  // y = 0: a point of order 4.
  { name: "32 zero bytes (small order)", b64: Buffer.alloc(32).toString("base64"), message: /small-order/ },
  // y = 1: the identity point, order 1.
  {
    name: "identity point",
    b64: Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]).toString("base64"),
    message: /small-order/,
  },
  // y = p: an encoding of 0 that is not reduced mod p.
  { name: "non-canonical y = p", b64: P_LE.toString("base64"), message: /canonical/ },
  { name: "31 bytes", b64: randomBytes(31).toString("base64"), message: /32 bytes/ },
  { name: "33 bytes", b64: randomBytes(33).toString("base64"), message: /32 bytes/ },
  { name: "not base64", b64: "not a key!", message: /32 bytes/ },
];

export interface ErrorBody {
  protocol: string;
  status: string;
  error: {
    code: number;
    message: string;
    timestamp: string;
    request_id: unknown;
    details: { reason: string; problems?: Array<{ path: string; message: string }>; [k: string]: unknown };
  };
}

/** Asserts the DESIGN §2 error body and returns it. */
export async function expectError(res: Response, status: number, reason?: string): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.protocol).toBe("seal/v1");
  expect(body.status).toBe("error");
  expect(typeof body.error.code).toBe("number");
  expect(typeof body.error.message).toBe("string");
  expect(Number.isNaN(Date.parse(body.error.timestamp))).toBe(false);
  expect(body.error).toHaveProperty("request_id");
  expect(typeof body.error.details.reason).toBe("string");
  if (reason !== undefined) expect(body.error.details.reason).toBe(reason);
  return body;
}

/** Reads a success body, failing with the body text when the status differs. */
export async function expectJson<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

export function decodeJwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split(".")[index] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}
