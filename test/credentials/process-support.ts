/**
 * Driving a REAL gateway process (dist/src/main.js) for the credential suites: operator tokens
 * from the CLI, the control-plane API over HTTP, and a signed call with the SDK — the same
 * paths an operator and an agent use.
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { callTool } from "../../src/sdk/client.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { lastLine, runCli } from "../cli/process.js";
import { securedSpec } from "./support.js";

export interface ProcessApi {
  url: string;
  admin: string;
}

/** An operator token minted by the CLI; an admin across all tenants unless told otherwise. */
export async function cliToken(
  env: Record<string, string>,
  cwd: string,
  role = "admin",
  tenant = role === "admin" ? "*" : "default",
): Promise<string> {
  const args = ["token", "--role", role, "--tenant", tenant];
  const r = await runCli(args, { env, cwd });
  expect(r.code, r.stderr).toBe(0);
  return lastLine(r.stdout);
}

export async function http(
  p: ProcessApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const res = await fetch(`${p.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${p.admin}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

export async function ok(
  p: ProcessApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const r = await http(p, method, path, body);
  expect([200, 201], `${method} ${path}: ${r.text.slice(0, 1000)}`).toContain(r.status);
  return r.json;
}

export interface ProcessAgent {
  token: string;
  privateKeyB64: string;
}

/** A context allowing every tool and a session under it. */
export async function processAgent(p: ProcessApi): Promise<ProcessAgent> {
  const context = `ctx-${randomBytes(3).toString("hex")}`;
  await ok(p, "POST", "/v1/security-contexts", { name: context, capabilities: [{ tool_pattern: "*" }] });
  const pair = generateKeyPair();
  const s = await ok(p, "POST", "/v1/seal/sessions", {
    sub: "proc-agent",
    security_context_name: context,
    public_key_b64: pair.publicKeyB64,
  });
  return { token: String(s.security_token), privateKeyB64: pair.privateKeyB64 };
}

export async function signedCall(
  p: ProcessApi,
  agent: ProcessAgent,
  tool: string,
  args: Record<string, unknown> = {},
) {
  const r = await callTool({
    url: p.url,
    securityToken: agent.token,
    privateKeyB64: agent.privateKeyB64,
    name: tool,
    arguments: args,
  });
  return r.response as unknown as {
    status: string;
    result?: unknown;
    error?: { code: number; details: { reason: string } };
  };
}

/**
 * The `echo.headers` tool: a spec named `echo` over the local upstream's /echo-headers (which
 * reflects the request's headers) with `credentialPath`, and a one-step workflow over it.
 * `source` is the spec document (securedSpec's by default).
 */
export async function echoHeadersTool(
  p: ProcessApi,
  upstreamUrl: string,
  credentialPath: unknown,
  source: Record<string, unknown> = {
    inline_json: securedSpec({ paths: { "/echo-headers": "echoHeaders" } }),
  },
): Promise<void> {
  const spec = await ok(p, "POST", "/v1/specs", {
    name: "echo",
    ...source,
    base_url: upstreamUrl,
    credential_path: credentialPath,
  });
  await ok(p, "POST", "/v1/workflows", {
    name: "echo.headers",
    description: "echo",
    input_schema: { type: "object" },
    api_spec_id: spec.id,
    steps: [{ name: "only", operation_id: "echoHeaders", on_error: "AbortWorkflow" }],
  });
}
