/**
 * StaticRef credentials on real calls (signed envelope → workflow or explorer → a real local
 * upstream), on SQLite and PostgreSQL: each injection kind arrives upstream as the spec's
 * securitySchemes say, and whatever the upstream reflects — the header itself, the URL, \u
 * escapes, percent-encoding, a longer base64 run, plain text — comes back as [REDACTED].
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { events, eventsOf } from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  api,
  type CallEnv,
  encodedForms,
  newSecret,
  oneStepTool,
  putSecret,
  registerSpec,
  securedSpec,
  startCallEnv,
} from "./support.js";

const REDACTED = "[REDACTED]";
const BILLING_YAML = readFileSync(join(packageRoot(), "test", "fixtures", "openapi", "billing.yaml"), "utf8");
const REFLECTOR_PATHS = {
  "/echo-headers": "echoHeaders",
  "/echo-url": "echoUrl",
  "/escaped": "escaped",
  "/encoded": "encoded",
  "/text": "text",
};

interface WorkflowOut {
  result: unknown;
  state: Record<string, unknown>;
}

describe.each(BACKENDS)("StaticRef credentials on real calls (%s)", (backend) => {
  let env: CallEnv;
  const values: string[] = [];
  /** Stores a secret and registers a reflector spec using it with the given security. */
  const securedTools = async (
    name: string,
    value: string,
    security?: { schemes: Record<string, unknown>; security: unknown[] },
  ) => {
    values.push(value);
    await putSecret(env.t, `${name}/token`, value);
    const spec = await registerSpec(env.t, {
      name,
      inline_json: securedSpec({
        paths: REFLECTOR_PATHS,
        ...(security ? { schemes: security.schemes, security: security.security } : {}),
      }),
      base_url: env.reflector.url,
      credential_path: { StaticRef: { key: `${name}/token` } },
    });
    for (const op of Object.values(REFLECTOR_PATHS))
      await oneStepTool(env.t, `${name}.${op.toLowerCase()}`, spec.id, op);
    return spec;
  };
  const success = (r: Awaited<ReturnType<CallEnv["call"]>>): WorkflowOut => {
    expect(r.status, JSON.stringify(r.body).slice(0, 1500)).toBe(200);
    expect(r.body.status).toBe("success");
    // Both shapes of the answer carry the same scrubbed result.
    expect(r.body.payload?.result.structuredContent).toEqual(r.body.result);
    expect(r.body.payload?.result.content[0]?.text).toBe(JSON.stringify(r.body.result));
    return r.body.result as WorkflowOut;
  };

  beforeAll(async () => {
    env = await startCallEnv(backend);
  });
  afterAll(async () => {
    await env?.close();
  });

  it("bearer by default: the upstream receives the token, the caller sees [REDACTED] where it was echoed", async () => {
    const token = newSecret();
    values.push(token);
    await putSecret(env.t, "billing/token", token);
    const spec = await registerSpec(env.t, {
      name: "billing",
      inline_yaml: BILLING_YAML,
      base_url: env.up.url,
      credential_path: { StaticRef: { key: "billing/token" } },
    });
    await oneStepTool(env.t, "billing.echo", spec.id, "echoHeaders");
    const from = env.up.requests.length;
    const r = await env.call("billing.echo");
    const out = success(r);
    const sent = env.up.requests.slice(from);
    expect(sent.map((q) => `${q.method} ${q.rawPath}`)).toEqual(["GET /echo-headers"]);
    expect(sent[0]?.headers.authorization).toBe(`Bearer ${token}`);
    expect((out.result as { headers: Record<string, string> }).headers.authorization).toBe(
      `Bearer ${REDACTED}`,
    );
    expect(JSON.stringify(r.body)).not.toContain(token);
  });

  it("records CredentialExchangeCompleted with path, key and fingerprint only, under the call's execution", async () => {
    const row = (await events(env.t, { type: "CredentialExchangeCompleted" })).find(
      (e) => e.payload.key === "billing/token",
    );
    const fingerprint = (await api(env.t, "GET", "/v1/secrets/billing/token")).body.fingerprint;
    expect(row?.payload).toEqual({ credential_path: "StaticRef", key: "billing/token", fingerprint });
    expect(row).toMatchObject({
      execution_id: env.agent.executionId,
      agent_id: "cred-agent",
      tool_name: "billing.echo",
      decision: "allow",
      stage: "credentials",
    });
    // Resolved after authorization and before the first request went out.
    const types = (await eventsOf(env.t, env.agent.executionId)).map((e) => e.event_type);
    const at = types.indexOf("CredentialExchangeCompleted");
    expect(types.indexOf("ToolCallAuthorized")).toBeLessThan(at);
    expect(types.indexOf("WorkflowStepExecuted")).toBeGreaterThan(at);
  });

  it("http basic: base64(user:password) upstream; neither the pair nor the password comes back", async () => {
    const password = newSecret("pw");
    await securedTools("basic", `ada:${password}`, {
      schemes: { b: { type: "http", scheme: "basic" } },
      security: [{ b: [] }],
    });
    const from = env.reflector.requests.length;
    const r = await env.call("basic.echoheaders");
    const out = success(r);
    expect(env.reflector.requests[from]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`ada:${password}`).toString("base64")}`,
    );
    expect((out.result as { headers: Record<string, string> }).headers.authorization).toBe(
      `Basic ${REDACTED}`,
    );
    for (const form of [...encodedForms(password), Buffer.from(`ada:${password}`).toString("base64")]) {
      expect(JSON.stringify(r.body)).not.toContain(form);
    }
  });

  it("apiKey in a header, under the scheme's name", async () => {
    const key = newSecret("hk");
    await securedTools("hdr", key, {
      schemes: { k: { type: "apiKey", in: "header", name: "X-Api-Key" } },
      security: [{ k: [] }],
    });
    const from = env.reflector.requests.length;
    const out = success(await env.call("hdr.echoheaders"));
    expect(env.reflector.requests[from]?.headers["x-api-key"]).toBe(key);
    expect(env.reflector.requests[from]?.headers.authorization).toBeUndefined();
    expect((out.result as { headers: Record<string, string> }).headers["x-api-key"]).toBe(REDACTED);
  });

  it("apiKey in a cookie", async () => {
    const key = newSecret("ck");
    await securedTools("cookie", key, {
      schemes: { c: { type: "apiKey", in: "cookie", name: "sid" } },
      security: [{ c: [] }],
    });
    const from = env.reflector.requests.length;
    const out = success(await env.call("cookie.echoheaders"));
    expect(env.reflector.requests[from]?.headers.cookie).toBe(`sid=${key}`);
    expect((out.result as { headers: Record<string, string> }).headers.cookie).toBe(`sid=${REDACTED}`);
  });

  it("apiKey in the query: sent in the URL, scrubbed from a URL the upstream reflects", async () => {
    const key = `q ${newSecret("qk")}/+&`;
    await securedTools("query", key, {
      schemes: { q: { type: "apiKey", in: "query", name: "api_key" } },
      security: [{ q: [] }],
    });
    const from = env.reflector.requests.length;
    const r = await env.call("query.echourl");
    const out = success(r);
    const sent = new URL(env.reflector.requests[from]?.url ?? "", "http://x");
    expect(sent.searchParams.get("api_key")).toBe(key);
    expect((out.result as { url: string }).url).toBe(`/echo-url?api_key=${REDACTED}`);
    for (const form of encodedForms(key)) expect(JSON.stringify(r.body)).not.toContain(form);
  });

  it("a value split across JSON \\u escapes, percent-encoded or inside a base64 run is still caught", async () => {
    const token = newSecret();
    await securedTools("reflect", token);
    const escaped = success(await env.call("reflect.escaped")).result as Record<string, string>;
    expect(escaped).toEqual({ all: REDACTED, split: REDACTED, note: "abc" });
    const encoded = await env.call("reflect.encoded");
    const enc = success(encoded).result as Record<string, string>;
    expect(enc.pct).toBe(REDACTED);
    expect(enc.mixed).toBe(REDACTED);
    expect(enc.b64).not.toBe(Buffer.from(`session=${token};`).toString("base64"));
    expect(enc.b64).toContain(REDACTED);
    const text = await env.call("reflect.text");
    expect(success(text).result).toBe(`not json: ${REDACTED} / ${REDACTED}`);
    for (const r of [encoded, text])
      for (const form of encodedForms(token)) expect(JSON.stringify(r.body)).not.toContain(form);
  });

  it("explorer slices are scrubbed, and a JSONPath filter cannot probe the secret", async () => {
    const token = (() => {
      const v = values[0];
      if (v === undefined) throw new Error("the bearer test runs first");
      return v;
    })();
    const specs = (await api(env.t, "GET", "/v1/specs")).body.specs as Array<{ id: string; name: string }>;
    const billing = specs.find((s) => s.name === "billing");
    const fields = [
      "$.headers.authorization",
      `$.headers[?@ == 'Bearer ${token}']`,
      `$.headers[?search(@, '${token.slice(0, 12)}')]`,
    ];
    const input = { api_spec_id: billing?.id, operation_id: "echoHeaders", parameters: {}, fields };
    const asAgent = await env.call("explorer", input);
    expect(asAgent.status, JSON.stringify(asAgent.body)).toBe(200);
    const slices = (asAgent.body.result as { sliced_data: Record<string, unknown[]> }).sliced_data;
    // The expression named the token, so its key in the answer is scrubbed too.
    expect(slices).toEqual({
      [fields[0] as string]: [`Bearer ${REDACTED}`],
      [`$.headers[?@ == 'Bearer ${REDACTED}']`]: [],
      [fields[2] as string]: [],
    });
    const asOperator = await api(env.t, "POST", "/v1/explorer", input, env.t.operatorToken("operator"));
    expect(asOperator.status, asOperator.text).toBe(200);
    expect((asOperator.body as { sliced_data: unknown }).sliced_data).toEqual(slices);
    expect(asOperator.text).not.toContain(token);
    // The fields held the token; the audit row records them scrubbed.
    const explored = await events(env.t, { type: "ExplorerRequestExecuted" });
    expect(explored).toHaveLength(2);
    for (const e of explored)
      expect(e.payload.fields).toEqual([fields[0], `$.headers[?@ == 'Bearer ${REDACTED}']`, fields[2]]);
    const completed = (await events(env.t, { type: "CredentialExchangeCompleted" })).filter(
      (e) => e.tool_name === "explorer",
    );
    // The agent's row is tied to its execution; the operator's names the explorer, no execution.
    expect(completed.map((e) => [e.execution_id, e.agent_id])).toEqual([
      [env.agent.executionId, "cred-agent"],
      [null, null],
    ]);
  });

  it("never put a value into process.env, a log line, or an audit row", async () => {
    expect(values.length).toBe(6);
    const env_ = JSON.stringify(process.env);
    const rows = await events(env.t, {});
    const logs = env.t.logs.join("\n");
    for (const value of values) {
      for (const form of encodedForms(value)) {
        expect(env_).not.toContain(form);
        expect(JSON.stringify(rows)).not.toContain(form);
        expect(logs).not.toContain(form);
      }
    }
  });
});
