/**
 * Shared helpers of the envelope-verification behaviour suite: send a body from a chosen
 * source address, and assert the answer and the audit rows it produced (exactly the expected
 * row, nothing else), so a rejection that skips its audit row or runs a later stage fails.
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { EventRow } from "../../src/store/types.js";
import type { TestGateway } from "../support/gateway.js";

export const uid = (prefix: string): string => `${prefix}-${randomBytes(5).toString("hex")}`;

/** A fresh client address per request, so each test has its own pre-auth audit budget. */
export const freshSource = (): string =>
  `2001:db8::${randomBytes(2).toString("hex")}:${randomBytes(2).toString("hex")}`;

export const nowSeconds = (t: TestGateway): number => Math.floor(t.clock.nowMs() / 1000);

export interface ErrorAnswer {
  protocol: string;
  status: string;
  error: {
    code: number;
    message: string;
    timestamp: string;
    request_id: unknown;
    details: { reason: string; [k: string]: unknown };
  };
}

export interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: ErrorAnswer;
  source: string;
}

export interface SendOptions {
  path?: string;
  source?: string;
  headers?: Record<string, string>;
}

/** POSTs a body to the in-process app with the peer address the node adapter would give. */
export async function send(
  t: TestGateway,
  body: string | Uint8Array | ReadableStream<Uint8Array>,
  opts: SendOptions = {},
): Promise<Sent> {
  const source = opts.source ?? freshSource();
  const init: RequestInit & { duplex?: "half" } = {
    method: "POST",
    headers: { "content-type": "application/json", ...opts.headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" as const } : {}),
  };
  const res = await t.gw.app.request(opts.path ?? "/v1/invoke", init, {
    incoming: { socket: { remoteAddress: source } },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as ErrorAnswer, source };
}

export async function maxSeq(t: TestGateway): Promise<number> {
  const rows = await t.gw.store.listEvents({ tenantId: "*", limit: 1 });
  return rows[0]?.seq ?? 0;
}

/** Every row (all tenants, system included) written after `seq`, oldest first. */
export async function eventsSince(t: TestGateway, seq: number): Promise<EventRow[]> {
  const rows = await t.gw.store.listEvents({ tenantId: "*", limit: 500 });
  return rows.filter((r) => r.seq > seq).sort((a, b) => a.seq - b.seq);
}

export interface ExpectedRejection {
  status: number;
  code: number;
  reason: string;
  stage: "parse" | "authenticate";
  /** "system" before the token verified, the token's tenant after. */
  tenant: string;
  /** Expected error.request_id (and the row's request_id as text); default null. */
  requestId?: string | number | null;
  /** The token's sub, for rejections after the token verified; default null. */
  agentId?: string | null;
  executionId?: string | null;
  /** Values that must appear in neither the answer nor the audit row (the token). */
  secrets?: string[];
}

function assertErrorBody(
  res: Sent,
  nowMs: number,
  exp: {
    status: number;
    code: number;
    reason: string;
    requestId?: string | number | null;
    secrets?: string[];
  },
): void {
  expect({ status: res.status, code: res.json.error?.code, reason: res.json.error?.details?.reason }).toEqual(
    {
      status: exp.status,
      code: exp.code,
      reason: exp.reason,
    },
  );
  expect(res.json.protocol).toBe("seal/v1");
  expect(res.json.status).toBe("error");
  expect(res.json.error.request_id).toEqual(exp.requestId ?? null);
  // The gateway clock, not the host's: answers and audit rows must tell the same time.
  expect(res.json.error.timestamp).toBe(new Date(nowMs).toISOString());
  expect(res.headers.get("content-type")).toContain("application/json");
  for (const s of exp.secrets ?? []) expect(res.text).not.toContain(s);
}

/** Sends `body` and asserts the error answer and exactly one EnvelopeRejected row. */
export async function expectRejected(
  t: TestGateway,
  body: string | Uint8Array | ReadableStream<Uint8Array>,
  exp: ExpectedRejection,
  opts: SendOptions = {},
): Promise<{ res: Sent; row: EventRow }> {
  const before = await maxSeq(t);
  const res = await send(t, body, opts);
  assertErrorBody(res, t.clock.nowMs(), exp);
  const rows = await eventsSince(t, before);
  expect(rows.map((r) => r.eventType)).toEqual(["EnvelopeRejected"]);
  const row = rows[0] as EventRow;
  expect(row).toMatchObject({
    tenantId: exp.tenant,
    stage: exp.stage,
    code: exp.code,
    decision: "reject",
    requestId: exp.requestId === undefined || exp.requestId === null ? null : String(exp.requestId),
    agentId: exp.agentId ?? null,
  });
  if (exp.executionId !== undefined) expect(row.executionId).toBe(exp.executionId);
  const payload = JSON.parse(row.payload) as { reason?: string; source?: string };
  expect(payload.reason).toBe(exp.reason);
  expect(payload.source).toBe(res.source);
  for (const s of exp.secrets ?? []) expect(row.payload).not.toContain(s);
  return { res, row };
}

/** Sends a fully valid envelope: it must end in 403 2006 with one PolicyDenied row. */
export async function expectPolicyDenied(
  t: TestGateway,
  body: string | Uint8Array,
  exp: {
    tenant: string;
    agentId: string;
    binding?: "session" | "cnf" | "agent_key";
    executionId?: string;
    secrets?: string[];
  },
  opts: SendOptions = {},
): Promise<{ res: Sent; row: EventRow }> {
  const before = await maxSeq(t);
  const res = await send(t, body, opts);
  const requestId = payloadIdOf(body);
  expect({ status: res.status, code: res.json.error?.code }).toEqual({ status: 403, code: 2006 });
  assertErrorBody(res, t.clock.nowMs(), {
    status: 403,
    code: 2006,
    reason: res.json.error.details.reason,
    requestId,
    secrets: exp.secrets,
  });
  const rows = await eventsSince(t, before);
  expect(rows.map((r) => [r.eventType, r.tenantId])).toEqual([["PolicyDenied", exp.tenant]]);
  const row = rows[0] as EventRow;
  expect(row).toMatchObject({
    stage: "authorize",
    code: 2006,
    decision: "reject",
    agentId: exp.agentId,
    requestId: String(requestId),
  });
  if (exp.executionId !== undefined) expect(row.executionId).toBe(exp.executionId);
  const payload = JSON.parse(row.payload) as { binding?: string };
  if (exp.binding) expect(payload.binding).toBe(exp.binding);
  for (const s of exp.secrets ?? []) expect(row.payload).not.toContain(s);
  return { res, row };
}

/** Rewrites one top-level field of an SDK-made body (plain JSON, so JSON.parse is exact). */
export function withField(body: string, field: string, value: unknown): string {
  const doc = JSON.parse(body) as Record<string, unknown>;
  if (value === undefined) delete doc[field];
  else doc[field] = value;
  return JSON.stringify(doc);
}

export function fieldOf(body: string, field: string): unknown {
  return (JSON.parse(body) as Record<string, unknown>)[field];
}

/** payload.id of a body whose id is a string or a small integer (what these tests send). */
export function payloadIdOf(body: string | Uint8Array): string | number {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const m = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/.exec(text);
  if (!m?.[1]) throw new Error("test body has no payload id");
  return JSON.parse(m[1]) as string | number;
}
