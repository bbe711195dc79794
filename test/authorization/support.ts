/**
 * Helpers for the authorization suites: contexts and sessions through the control-plane API,
 * calls signed with the SDK (optionally carrying `params._meta`), injectable test tools that
 * record every run, and audit reads per execution.
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { ToolInfo } from "../../src/policy/evaluate.js";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import type { PlainJson } from "../../src/seal/json.js";
import type { RegisteredTool, ToolRunContext, ToolSource } from "../../src/tools/registry.js";
import { jsonInit, type TestGateway } from "../support/gateway.js";

export interface TestTool extends RegisteredTool {
  /** Every run, in order: a tool that must not run asserts this stays empty. */
  runs: ToolRunContext[];
}

export function testTool(
  name: string,
  opts: { info?: ToolInfo; result?: (ctx: ToolRunContext) => PlainJson; description?: string } = {},
): TestTool {
  const runs: ToolRunContext[] = [];
  return {
    name,
    description: opts.description ?? `test tool ${name}`,
    inputSchema: { type: "object" },
    info: opts.info ?? { kind: "workflow" },
    definitionHash: `sha256:${Buffer.from(name).toString("hex")}`,
    runs,
    async run(ctx) {
      runs.push(ctx);
      return { result: opts.result ? opts.result(ctx) : { echo: ctx.arguments, tool: name }, isError: false };
    },
  };
}

/** Tools registered per tenant: a lookup in another tenant finds nothing. */
export function tenantTools(byTenant: Record<string, readonly RegisteredTool[]>): ToolSource {
  return {
    lookup: async (tenant, name) => byTenant[tenant]?.find((t) => t.name === name) ?? null,
    list: async (tenant) => [...(byTenant[tenant] ?? [])],
  };
}

export async function putContext(
  t: TestGateway,
  doc: Record<string, unknown>,
  token = t.adminToken(),
): Promise<void> {
  const res = await t.request("/v1/security-contexts", jsonInit("POST", doc, token));
  const text = await res.text();
  expect(res.status, text).toBe(201);
}

export interface SessionAgent {
  publicKeyB64: string;
  privateKeyB64: string;
  token: string;
  executionId: string;
  sub: string;
}

export async function sessionAgent(
  t: TestGateway,
  opts: { sub?: string; context: string; tenant?: string; allowed?: string[] },
): Promise<SessionAgent> {
  const pair = generateKeyPair();
  const sub = opts.sub ?? `agent-${randomBytes(3).toString("hex")}`;
  const res = await t.request(
    "/v1/seal/sessions",
    jsonInit(
      "POST",
      {
        sub,
        security_context_name: opts.context,
        public_key_b64: pair.publicKeyB64,
        ...(opts.tenant ? { tenant_id: opts.tenant } : {}),
        ...(opts.allowed ? { allowed_tool_patterns: opts.allowed } : {}),
      },
      t.adminToken(),
    ),
  );
  const text = await res.text();
  expect(res.status, text).toBe(201);
  const body = JSON.parse(text) as { security_token: string; execution_id: string };
  return { ...pair, sub, token: body.security_token, executionId: body.execution_id };
}

export function signedCall(
  t: TestGateway,
  agent: { token: string; privateKeyB64: string },
  tool: string,
  args: Record<string, unknown> = {},
  meta?: Record<string, unknown>,
): string {
  return signEnvelope({
    securityToken: agent.token,
    payload: toolCallPayload({
      name: tool,
      arguments: args,
      id: `req-${randomBytes(6).toString("hex")}`,
      ...(meta ? { meta } : {}),
    }),
    privateKeyB64: agent.privateKeyB64,
    now: new Date(t.clock.nowMs()),
  }).body;
}

export interface CallAnswer {
  status: number;
  headers: Headers;
  body: {
    protocol: string;
    status: string;
    result?: unknown;
    payload?: {
      jsonrpc: string;
      id: unknown;
      result: {
        content: Array<{ type: string; text: string }>;
        structuredContent: unknown;
        isError: boolean;
      };
    };
    request_id?: unknown;
    call_id?: string;
    event_id?: string;
    approval_id?: string;
    expires_at?: string;
    error?: {
      code: number;
      message: string;
      request_id?: string;
      details: { reason: string; [k: string]: unknown };
    };
  };
}

export async function send(t: TestGateway, body: string): Promise<CallAnswer> {
  const res = await t.request("/v1/invoke", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as CallAnswer["body"] };
}

export async function call(
  t: TestGateway,
  agent: { token: string; privateKeyB64: string },
  tool: string,
  args: Record<string, unknown> = {},
  meta?: Record<string, unknown>,
): Promise<CallAnswer> {
  return await send(t, signedCall(t, agent, tool, args, meta));
}

/** Asserts an error answer's HTTP status and SEAL code, returning the body for more checks. */
export function expectCode(r: CallAnswer, status: number, code: number): CallAnswer["body"] {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.status).toBe("error");
  expect(r.body.error?.code, JSON.stringify(r.body)).toBe(code);
  return r.body;
}

export interface EventItem {
  id: string;
  seq: number;
  event_type: string;
  tenant_id: string;
  execution_id: string | null;
  call_id: string | null;
  agent_id: string | null;
  tool_name: string | null;
  decision: string | null;
  stage: string | null;
  code: number | null;
  request_id: string | null;
  payload: Record<string, unknown>;
}

/** Audit rows, oldest first, read through the API (admin across tenants). */
export async function events(t: TestGateway, query: Record<string, string>): Promise<EventItem[]> {
  const qs = new URLSearchParams({ limit: "1000", ...query }).toString();
  const res = await t.request(`/v1/events?${qs}`, { headers: { authorization: `Bearer ${t.adminToken()}` } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const body = JSON.parse(text) as { items: EventItem[] };
  return body.items.sort((a, b) => a.seq - b.seq);
}

/** The events of an execution written after `afterSeq` (0 for all). */
export async function eventsOf(t: TestGateway, executionId: string, afterSeq = 0): Promise<EventItem[]> {
  return (await events(t, { execution_id: executionId })).filter((e) => e.seq > afterSeq);
}

export async function lastSeq(t: TestGateway): Promise<number> {
  const res = await t.request("/v1/events?limit=1", {
    headers: { authorization: `Bearer ${t.adminToken()}` },
  });
  const body = (await res.json()) as { items: EventItem[] };
  return body.items[0]?.seq ?? 0;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
