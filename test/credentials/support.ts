/**
 * Helpers for the credential suites: an in-process gateway whose log lines are captured (so a
 * test can prove a value never reached the log), a second local upstream that reflects the
 * credential in the encodings redaction must undo, specs and workflows registered through the
 * API, and the secret values' encoded forms to search for.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import type { ToolSource } from "../../src/tools/registry.js";
import {
  type CallAnswer,
  call,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { type Backend, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { startUpstream, type Upstream } from "../support/upstream.js";

/** An in-process gateway with loopback egress allowed and its debug log captured. */
export type CredGateway = TestGateway;

export async function startCredGateway(
  backend: Backend,
  opts: {
    env?: Record<string, string>;
    tools?: ToolSource[];
    masterKeyB64?: string;
    config?: Record<string, unknown>;
  } = {},
): Promise<CredGateway> {
  return await startTestGateway(
    backend,
    { SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8", ...opts.env },
    {
      logLevel: "debug",
      ...(opts.tools ? { tools: opts.tools } : {}),
      ...(opts.masterKeyB64 ? { masterKeyB64: opts.masterKeyB64 } : {}),
      ...(opts.config ? { config: opts.config } : {}),
    },
  );
}

export interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

export async function api(
  t: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  token = t.adminToken(),
): Promise<Answer> {
  const init: RequestInit =
    body === undefined
      ? { method, headers: { authorization: `Bearer ${token}` } }
      : jsonInit(method, body, token);
  const res = await t.request(path, init);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

export async function putSecret(
  t: TestGateway,
  key: string,
  value: string,
  tenant?: string,
): Promise<Answer> {
  const r = await api(t, "PUT", `/v1/secrets/${key}${tenant ? `?tenant_id=${tenant}` : ""}`, { value });
  expect([200, 201], r.text).toContain(r.status);
  return r;
}

/** A random secret that cannot occur anywhere by chance. */
export function newSecret(prefix = "tok"): string {
  return `${prefix}_${randomBytes(18).toString("hex")}`;
}

/** The forms in which a value could sit in a file or a log line. */
export function encodedForms(value: string): string[] {
  const b = Buffer.from(value, "utf8");
  return [
    value,
    b.toString("base64").replace(/=+$/, ""),
    b.toString("base64url"),
    b.toString("hex"),
    encodeURIComponent(value),
  ];
}

/** An inline OpenAPI 3.1 spec with one GET operation per path, and the given security. */
export function securedSpec(opts: {
  paths: Record<string, string>;
  schemes?: Record<string, unknown>;
  security?: unknown[];
  opSecurity?: Record<string, unknown[]>;
}): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [path, operationId] of Object.entries(opts.paths)) {
    paths[path] = {
      get: {
        operationId,
        ...(opts.opSecurity?.[operationId] ? { security: opts.opSecurity[operationId] } : {}),
        responses: { "200": { description: "ok" } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "secured", version: "1" },
    servers: [{ url: "https://secured.example.com" }],
    paths,
    ...(opts.schemes ? { components: { securitySchemes: opts.schemes } } : {}),
    ...(opts.security ? { security: opts.security } : {}),
  };
}

export async function registerSpec(t: TestGateway, body: Record<string, unknown>): Promise<{ id: string }> {
  const r = await api(t, "POST", "/v1/specs", body);
  expect(r.status, r.text.slice(0, 2000)).toBe(201);
  return r.body as { id: string };
}

/** A one-step workflow tool over one operation (no input). */
export async function oneStepTool(
  t: TestGateway,
  name: string,
  specId: string,
  operationId: string,
): Promise<void> {
  const r = await api(t, "POST", "/v1/workflows", {
    name,
    description: `credential test ${name}`,
    input_schema: { type: "object" },
    api_spec_id: specId,
    steps: [{ name: "only", operation_id: operationId, on_error: "AbortWorkflow" }],
  });
  expect(r.status, r.text.slice(0, 2000)).toBe(201);
}

export interface Recorded {
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Reflector {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** The bearer token or basic credential of a request, as sent. */
function credentialOf(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization ?? "";
  return auth.replace(/^(Bearer|Basic) /, "");
}

const uEscape = (s: string) =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
const pctEscape = (s: string) =>
  [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/**
 * An upstream that hands the credential back in the ways redaction has to undo: every
 * character as a JSON \u escape, half escaped and half plain, percent-encoded, inside a longer
 * base64 run, in the URL (apiKey in query), and as plain text that is not JSON.
 */
export async function startReflector(): Promise<Reflector> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0] ?? "/";
    requests.push({ path, url, headers: req.headers });
    const token = credentialOf(req.headers);
    const half = Math.floor(token.length / 2);
    const send = (status: number, text: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(text);
    };
    if (path === "/escaped")
      return send(
        200,
        `{"all":"${uEscape(token)}","split":"${token.slice(0, half)}${uEscape(token.slice(half))}","note":"a\\u0062c"}`,
      );
    if (path === "/encoded")
      return send(
        200,
        JSON.stringify({
          pct: pctEscape(token),
          mixed: `${token.slice(0, half)}${pctEscape(token.slice(half))}`,
          b64: Buffer.from(`session=${token};`).toString("base64"),
        }),
      );
    if (path === "/text") return send(200, `not json: ${uEscape(token)} / ${token}`, "text/plain");
    if (path === "/echo-url") return send(200, JSON.stringify({ url }));
    if (path === "/echo-headers") return send(200, JSON.stringify({ headers: req.headers }));
    return send(404, JSON.stringify({ error: "no such route" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CallEnv {
  t: CredGateway;
  up: Upstream;
  reflector: Reflector;
  agent: SessionAgent;
  /** Calls a tool as the test agent. */
  call(tool: string, args?: Record<string, unknown>): Promise<CallAnswer>;
  close(): Promise<void>;
}

/** A gateway, the shared test upstream, the reflector, a context allowing every tool, an agent. */
export async function startCallEnv(
  backend: Backend,
  tools: ToolSource[] = [],
  gateway: { config?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<CallEnv> {
  const up = await startUpstream();
  const reflector = await startReflector();
  const t = await startCredGateway(backend, { tools, ...gateway });
  await putContext(t, { name: "cred-ctx", capabilities: [{ tool_pattern: "*" }] });
  const agent = await sessionAgent(t, { context: "cred-ctx", sub: "cred-agent" });
  return {
    t,
    up,
    reflector,
    agent,
    call: (tool, args = {}) => call(t, agent, tool, args),
    async close() {
      await t.close();
      await up.close();
      await reflector.close();
    },
  };
}
