/**
 * The credential stage fails closed (SQLite and PostgreSQL): a missing key, a value that does
 * not open (another master key, a row moved to another key), a backend that does not exist
 * yet, a scheme that cannot carry the value — each answers 4010, records
 * CredentialExchangeFailed, and sends nothing upstream. And whatever an engine puts in an
 * error, a result or a log line after the credential resolved is scrubbed by the pipeline.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretAad } from "../../src/credentials/builtin-store.js";
import { SecretSink } from "../../src/credentials/redaction.js";
import { type CallInfo, type CredentialResolver, noCredentials } from "../../src/credentials/types.js";
import { masterKeyFromBytes, seal } from "../../src/crypto/sealed-box.js";
import { requestCredential } from "../../src/engines/openapi/credential.js";
import { loadSpec } from "../../src/engines/openapi/load-spec.js";
import { GatewayError } from "../../src/errors.js";
import { packageRoot } from "../../src/paths.js";
import { callInfo, type RegisteredTool, staticTools } from "../../src/tools/registry.js";
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
const uEscape = (s: string) =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

const loaded = loadSpec({ inline_json: securedSpec({ paths: { "/x": "x" } }) });
if (!loaded.ok) throw new Error("test spec");
const LEAK_SPEC = loaded.spec;

/**
 * Tools that obtain a credential the way an OpenAPI engine does (the call passed explicitly:
 * its sink is how the pipeline learns the value) and then leak it: into an error, a result, a
 * crash.
 */
function operatorCall(): CallInfo {
  return {
    tenantId: "default",
    executionId: null,
    callId: null,
    agentId: null,
    toolName: null,
    sink: new SecretSink(),
  };
}

function leakyTools(holder: { creds?: CredentialResolver }): RegisteredTool[] {
  const tool = (
    name: string,
    leak: (value: string) => never | { raw: string; b64: string },
  ): RegisteredTool => ({
    name,
    description: "leaks its credential",
    inputSchema: { type: "object" },
    info: { kind: "workflow" },
    definitionHash: `sha256:${name}`,
    async run(ctx) {
      const operation = LEAK_SPEC.operations[0];
      if (!holder.creds || !operation) throw new Error("test wiring");
      const credential = await requestCredential({
        credentials: holder.creds,
        credentialPath: { StaticRef: { key: "leak/token" } },
        call: callInfo(ctx, name),
        spec: LEAK_SPEC,
        operation,
        signal: ctx.signal,
      });
      const req = { url: new URL("https://secured.example.com/x"), headers: {} as Record<string, string> };
      credential?.decorate(req);
      return { result: leak((req.headers.authorization ?? "").replace("Bearer ", "")), isError: false };
    },
  });
  return [
    tool("leaky.error", (v) => {
      throw new GatewayError("UPSTREAM_ERROR", `upstream said: token ${v} is invalid`, {
        reason: "upstream_status",
        body: `{"error":"bad ${uEscape(v)}"}`,
      });
    }),
    tool("leaky.result", (v) => ({
      raw: `token=${uEscape(v)}`,
      b64: Buffer.from(`x:${v}`).toString("base64"),
    })),
    tool("leaky.crash", (v) => {
      throw new Error(`unexpected failure near ${v}`);
    }),
  ];
}

describe.each(BACKENDS)("the credential stage fails closed (%s)", (backend) => {
  let env: CallEnv;
  const holder: { creds?: CredentialResolver } = {};
  const leak = newSecret("leak");

  /** A billing spec with this credential_path and a one-step echo tool over it. */
  const billingTool = async (name: string, credentialPath: unknown) => {
    const spec = await registerSpec(env.t, {
      name,
      inline_yaml: BILLING_YAML,
      base_url: env.up.url,
      credential_path: credentialPath,
    });
    await oneStepTool(env.t, `${name}.echo`, spec.id, "echoHeaders");
    return spec;
  };
  /** Calls the tool; asserts 4010 with the reason, nothing sent upstream, and the audit row. */
  const refused = async (tool: string, reason: string, expectedPayload: Record<string, unknown>) => {
    const before = env.up.requests.length + env.reflector.requests.length;
    const r = await env.call(tool);
    expect(r.status, JSON.stringify(r.body)).toBe(502);
    expect(r.body.error?.code).toBe(4010);
    expect(r.body.error?.details.reason).toBe(reason);
    expect(env.up.requests.length + env.reflector.requests.length, "nothing may be sent upstream").toBe(
      before,
    );
    const failed = (await eventsOf(env.t, env.agent.executionId)).filter(
      (e) => e.event_type === "CredentialExchangeFailed" && e.tool_name === tool,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]?.payload).toEqual({ ...expectedPayload, reason });
    expect(failed[0]).toMatchObject({
      decision: "reject",
      code: 4010,
      stage: "credentials",
      agent_id: "cred-agent",
    });
    return r;
  };

  beforeAll(async () => {
    env = await startCallEnv(backend, [staticTools(leakyTools(holder))]);
    holder.creds = env.t.gw.services.credentials;
    await putSecret(env.t, "leak/token", leak);
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a missing key: 4010 secret_not_found", async () => {
    await billingTool("missing", { StaticRef: { key: "no/such/key" } });
    const r = await refused("missing.echo", "secret_not_found", {
      credential_path: "StaticRef",
      key: "no/such/key",
    });
    expect(r.body.error?.message).toContain("no/such/key");
  });

  it("a key of another tenant is a missing key", async () => {
    await putSecret(env.t, "other/tenant-key", newSecret(), "tenant-b");
    await billingTool("cross-tenant", { StaticRef: { key: "other/tenant-key" } });
    await refused("cross-tenant.echo", "secret_not_found", {
      credential_path: "StaticRef",
      key: "other/tenant-key",
    });
  });

  it("a value sealed under another master key: 4010 secret_unreadable", async () => {
    const other = masterKeyFromBytes(randomBytes(32));
    const valueSealed = seal(other, Buffer.from(newSecret()), secretAad("default", "foreign/token"));
    await env.t.gw.store.putSecret(
      { tenantId: "default", key: "foreign/token", valueSealed, fingerprint: "0123456789abcdef" },
      env.t.clock.nowMs(),
    );
    await billingTool("foreign", { StaticRef: { key: "foreign/token" } });
    await refused("foreign.echo", "secret_unreadable", {
      credential_path: "StaticRef",
      key: "foreign/token",
    });
  });

  it("a sealed value copied to another key does not open there (AAD binding): 4010 secret_unreadable", async () => {
    await putSecret(env.t, "real/token", newSecret());
    const real = await env.t.gw.store.getSecret("default", "real/token");
    if (!real) throw new Error("stored");
    await env.t.gw.store.putSecret(
      {
        tenantId: "default",
        key: "moved/token",
        valueSealed: real.valueSealed,
        fingerprint: real.fingerprint,
      },
      env.t.clock.nowMs(),
    );
    await env.t.gw.store.putSecret(
      {
        tenantId: "tenant-c",
        key: "real/token",
        valueSealed: real.valueSealed,
        fingerprint: real.fingerprint,
      },
      env.t.clock.nowMs(),
    );
    await billingTool("moved", { StaticRef: { key: "moved/token" } });
    await refused("moved.echo", "secret_unreadable", { credential_path: "StaticRef", key: "moved/token" });
    const altered = `${real.valueSealed.slice(0, -4)}AAAA`;
    await env.t.gw.store.putSecret(
      { tenantId: "default", key: "altered/token", valueSealed: altered, fingerprint: real.fingerprint },
      env.t.clock.nowMs(),
    );
    await billingTool("altered", { StaticRef: { key: "altered/token" } });
    await refused("altered.echo", "secret_unreadable", {
      credential_path: "StaticRef",
      key: "altered/token",
    });
  });

  const VARIANTS: Array<[string, Record<string, unknown>]> = [
    ["SystemJit", { openbao_engine_path: "database", role: "readonly" }],
    ["HumanDelegated", { target_service: "github" }],
    ["UserBound", { provider: "github" }],
    ["Auto", { system_jit_openbao_engine_path: "aws", system_jit_role: "reader", target_service: "github" }],
  ];
  for (const [variant, fields] of VARIANTS) {
    it(`${variant} is recognised and refused: 4010 backend_not_configured, naming the variant`, async () => {
      const name = variant.toLowerCase();
      await billingTool(name, { [variant]: fields });
      const r = await refused(`${name}.echo`, "backend_not_configured", { credential_path: variant });
      expect(r.body.error?.message).toBe(
        `the ${variant} credential backend is not configured on this gateway`,
      );
    });
  }

  it("an operation whose only scheme cannot carry a credential: 4010 unsupported_scheme, before the secret is read", async () => {
    await putSecret(env.t, "digest/token", newSecret());
    const spec = await registerSpec(env.t, {
      name: "digest",
      inline_json: securedSpec({
        paths: { "/echo-headers": "echoHeaders" },
        schemes: { d: { type: "http", scheme: "digest" } },
        security: [{ d: [] }],
      }),
      base_url: env.reflector.url,
      credential_path: { StaticRef: { key: "digest/token" } },
    });
    await oneStepTool(env.t, "digest.echo", spec.id, "echoHeaders");
    await refused("digest.echo", "unsupported_scheme", { credential_path: "StaticRef", key: "digest/token" });
  });

  it("a value a header would alter: 4010 unusable_value", async () => {
    await putSecret(env.t, "multiline/token", "line-one\nline-two");
    await billingTool("multiline", { StaticRef: { key: "multiline/token" } });
    const r = await refused("multiline.echo", "unusable_value", {
      credential_path: "StaticRef",
      key: "multiline/token",
    });
    expect(JSON.stringify(r.body)).not.toContain("line-one");
  });

  it("a later step whose operation cannot carry the credential stops the run before its request", async () => {
    await putSecret(env.t, "two-step/token", newSecret());
    const spec = await registerSpec(env.t, {
      name: "two-step",
      inline_json: securedSpec({
        paths: { "/echo-headers": "echoHeaders", "/echo-url": "echoUrl" },
        schemes: { d: { type: "http", scheme: "digest" } },
        opSecurity: { echoUrl: [{ d: [] }] },
      }),
      base_url: env.reflector.url,
      credential_path: { StaticRef: { key: "two-step/token" } },
    });
    const wf = await api(env.t, "POST", "/v1/workflows", {
      name: "two-step.run",
      description: "two steps",
      input_schema: { type: "object" },
      api_spec_id: spec.id,
      steps: [
        { name: "first", operation_id: "echoHeaders", on_error: "AbortWorkflow" },
        { name: "second", operation_id: "echoUrl", on_error: "Continue" },
      ],
    });
    expect(wf.status, wf.text).toBe(201);
    const before = env.reflector.requests.length;
    const r = await env.call("two-step.run");
    expect(r.body.error?.code, JSON.stringify(r.body)).toBe(4010);
    expect(r.body.error?.details.reason).toBe("unsupported_scheme");
    expect(env.reflector.requests.slice(before).map((q) => q.path)).toEqual(["/echo-headers"]);
  });

  it("a malformed credential_path reaching the resolver is refused (4010 invalid_credential_path)", async () => {
    const operation = LEAK_SPEC.operations[0];
    if (!operation) throw new Error("spec");
    for (const credentialPath of [
      { Nope: {} },
      { StaticRef: { key: "../x" } },
      "StaticRef",
      [],
      { StaticRef: { key: "k" }, Auto: {} },
    ]) {
      const err = await env.t.gw.services.credentials
        .obtain({ credentialPath, call: operatorCall(), signal: new AbortController().signal })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err, JSON.stringify(credentialPath)).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).details.reason).toBe("invalid_credential_path");
    }
    // A tool without a credential_path never reaches the resolver: the OpenAPI engine answers null.
    expect(
      await requestCredential({
        credentials: noCredentials,
        credentialPath: null,
        call: operatorCall(),
        spec: LEAK_SPEC,
        operation,
        signal: new AbortController().signal,
      }),
    ).toBeNull();
  });

  it("refuses malformed credential paths at registration, every problem named", async () => {
    const bad: unknown[] = [
      { StaticRef: { key: "a/../b" } },
      { StaticRef: { key: "a\nb" } },
      { StaticRef: { key: "a\u0000b" } },
      { StaticRef: {} },
      { StaticRef: { key: "k", extra: 1 } },
      { StaticRef: "k" },
      { Nope: {} },
      { staticref: { key: "k" } },
      { StaticRef: { key: "k" }, SystemJit: { openbao_engine_path: "a", role: "b" } },
      { SystemJit: { openbao_engine_path: "../etc", role: "r" } },
      [],
      "StaticRef",
      42,
    ];
    for (const credentialPath of bad) {
      const r = await api(env.t, "POST", "/v1/specs", {
        name: "refused",
        inline_yaml: BILLING_YAML,
        base_url: env.up.url,
        credential_path: credentialPath,
      });
      expect(r.status, JSON.stringify(credentialPath)).toBe(400);
      const problems = (r.body as { error: { details: { problems: Array<{ path: string }> } } }).error.details
        .problems;
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems) expect(p.path).toMatch(/^credential_path/);
    }
  });

  it("an engine's error text echoing the credential is scrubbed from the answer and the audit row", async () => {
    const r = await env.call("leaky.error");
    expect(r.status).toBe(502);
    expect(r.body.error?.code).toBe(4020);
    expect(r.body.error?.message).toBe(`upstream said: token ${REDACTED} is invalid`);
    expect(r.body.error?.details).toEqual({ reason: "upstream_status", body: `{"error":"bad ${REDACTED}"}` });
    const rows = await eventsOf(env.t, env.agent.executionId);
    const rejected = rows.filter((e) => e.event_type === "EnvelopeRejected" && e.tool_name === "leaky.error");
    expect(rejected[0]?.payload.message).toBe(`upstream said: token ${REDACTED} is invalid`);
    // The credential resolved inside the pipeline's scope: audited under this execution.
    const done = rows.filter(
      (e) => e.event_type === "CredentialExchangeCompleted" && e.tool_name === "leaky.error",
    );
    expect(done[0]?.payload).toMatchObject({ credential_path: "StaticRef", key: "leak/token" });
  });

  it("a result carrying the credential in escapes or base64 is scrubbed before it leaves", async () => {
    const r = await env.call("leaky.result");
    expect(r.status).toBe(200);
    const result = r.body.result as { raw: string; b64: string };
    expect(result.raw).toBe(`token=${REDACTED}`);
    expect(result.b64).toContain(REDACTED);
    for (const form of encodedForms(leak)) expect(JSON.stringify(r.body)).not.toContain(form);
  });

  it("an unclassified crash is logged scrubbed and answered as internal", async () => {
    const r = await env.call("leaky.crash");
    expect(r.status).toBe(500);
    expect(r.body.error?.details.reason).toBe("internal");
    const line = env.t.logs.find((l) => l.includes("unexpected failure near"));
    expect(line).toContain(REDACTED);
  });

  it("no value in any answer, event or log line of this suite", async () => {
    const all = JSON.stringify(await events(env.t, {})) + env.t.logs.join("\n");
    for (const form of encodedForms(leak)) expect(all).not.toContain(form);
    expect(all).not.toContain("line-two");
  });
});
