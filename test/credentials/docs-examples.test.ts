/**
 * docs/credentials.md's OpenBao and Keycloak sections, run as written against the real servers
 * (scripts/openbao.sh, scripts/keycloak.sh): each section's YAML block is the gateway's
 * `secrets` config — only what names this machine (addresses, tokens, the CA, the realm's
 * issuer and client secret) is swapped for the test servers' — and the paths and capabilities
 * the section shows inline are registered exactly as shown. The StaticRef, SystemJit and
 * HumanDelegated examples each make one call whose upstream receives the credential.
 * (User-bound: user-bound.test.ts runs that section's blocks.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { packageRoot } from "../../src/paths.js";
import { call, putContext, sessionAgent } from "../authorization/support.js";
import { sectionBlocks } from "../support/doc-blocks.js";
import { type TestRealm, testRealm } from "../support/keycloak.js";
import { databaseEngine, type OpenBao, openBao } from "../support/openbao.js";
import { type CallEnv, newSecret, oneStepTool, registerSpec, securedSpec, startCallEnv } from "./support.js";

const DOC = readFileSync(join(packageRoot(), "docs", "credentials.md"), "utf8");
const WHAT = "docs/credentials.md";

/** The section's text (to its next `## `). */
function section(heading: string): string {
  const start = DOC.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const rest = DOC.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}
/** The one inline `{"<Variant>":…}` example of a section. */
function inlineJson(text: string, first: string): Record<string, unknown> {
  const found = [...text.matchAll(/`(\{"[A-Za-z_]+":[^`]*\})`/g)]
    .map((m) => m[1] ?? "")
    .filter((j) => j.startsWith(`{"${first}"`));
  expect(found.length, `${first} examples`).toBeGreaterThan(0);
  return JSON.parse(found[0] as string) as Record<string, unknown>;
}
const yamlOf = (heading: string) =>
  parseYaml(sectionBlocks(DOC, heading, "yaml", WHAT)[0] as string) as {
    secrets: Record<string, Record<string, unknown>>;
  };

describe("docs/credentials.md OpenBao and Keycloak examples, on the real servers", () => {
  let bao: OpenBao;
  let realm: TestRealm;
  let env: CallEnv;
  const kvValue = newSecret("doc-kv");
  const openbaoText = section("## OpenBao");
  const keycloakText = section("## Keycloak token exchange");
  const staticRef = inlineJson(openbaoText, "StaticRef") as { StaticRef: { key: string } };
  const systemJit = inlineJson(openbaoText, "SystemJit") as {
    SystemJit: { openbao_engine_path: string; role: string };
  };
  const capability = inlineJson(keycloakText, "tool_pattern") as { tool_pattern: string };
  const delegated = inlineJson(section("## credential_path"), "HumanDelegated") as {
    HumanDelegated: { target_service: string };
  };

  beforeAll(async () => {
    [bao, realm] = await Promise.all([openBao(), testRealm()]);
    const ok = (r: { status: number; body: unknown }) =>
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const documented = {
      openbao: yamlOf("## OpenBao").secrets,
      keycloak: yamlOf("## Keycloak token exchange").secrets,
    };
    const o = documented.openbao.openbao as Record<string, unknown>;
    const kvPrefix = String(o.kv_prefix).replace("{tenant}", "default");
    ok(
      await bao.api("POST", `/v1/secret/data/${kvPrefix}/${staticRef.StaticRef.key}`, {
        data: { value: kvValue },
      }),
    );
    // The documented engine path and role, made idempotently on the shared dev server.
    const mount = systemJit.SystemJit.openbao_engine_path;
    await databaseEngine(bao, mount, systemJit.SystemJit.role, { default_ttl: "5m" });
    const k = documented.keycloak.keycloak as Record<string, unknown> & {
      user_token_issuers: Record<string, unknown>[];
      audience_map: Record<string, string>;
    };
    const [docIssuer] = k.user_token_issuers;
    const secrets = {
      ...documented.openbao,
      openbao: { ...o, address: bao.url, token: bao.rootToken, ca_file: undefined },
      keycloak: {
        ...k,
        token_url: realm.tokenUrl,
        client_id: realm.gatewayClientId,
        client_secret: realm.gatewayClientSecret,
        user_token_issuers: [
          { ...docIssuer, issuer: realm.issuer, audience: realm.gatewayClientId, jwks_url: realm.jwksUrl },
        ],
        // The documented target service, renamed to this realm's client as audience_map shows.
        audience_map: Object.fromEntries(
          Object.keys(k.audience_map).map((name) => [name, realm.targetService]),
        ),
      },
    };
    expect(Object.keys(k.audience_map)).toContain(delegated.HumanDelegated.target_service);
    env = await startCallEnv("sqlite", [], { config: { secrets: JSON.parse(JSON.stringify(secrets)) } });
    env.t.clock.set(Date.now());
    for (const [name, path] of [
      ["docstatic", staticRef],
      ["docjit", systemJit],
      [capability.tool_pattern.replace(".*", ""), delegated],
    ] as const) {
      const spec = await registerSpec(env.t, {
        name,
        inline_json: securedSpec({ paths: { "/echo-headers": "echoHeaders" } }),
        base_url: env.up.url,
        credential_path: path,
      });
      await oneStepTool(env.t, `${name}.echo`, spec.id, "echoHeaders");
    }
    await putContext(env.t, {
      name: "doc-ctx",
      capabilities: [capability, { tool_pattern: "docstatic.*" }, { tool_pattern: "docjit.*" }],
    });
  }, 600_000);
  afterAll(async () => {
    await env?.close();
    await realm?.deleteRealm();
  });

  const sent = async (tool: string, meta?: Record<string, unknown>) => {
    env.t.clock.set(Date.now());
    const agent = await sessionAgent(env.t, { context: "doc-ctx" });
    const from = env.up.requests.length;
    const r = await call(env.t, agent, tool, {}, meta);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return env.up.requests[from]?.headers.authorization ?? "";
  };

  it("the StaticRef example reads the KV entry under the documented kv_prefix", async () => {
    expect(await sent("docstatic.echo")).toBe(`Bearer ${kvValue}`);
  });

  it("the SystemJit example mints a database role for the call", async () => {
    expect(await sent("docjit.echo")).toMatch(new RegExp(`^Bearer v-token-${systemJit.SystemJit.role}-`));
  });

  it("the HumanDelegated example, under the documented capability, sends the exchanged token", async () => {
    const tool = `${capability.tool_pattern.replace(".*", "")}.echo`;
    const header = await sent(tool, { "seal/user_token": await realm.userToken() });
    const claims = JSON.parse(Buffer.from(header.slice(7).split(".")[1] ?? "", "base64url").toString("utf8"));
    expect([claims.aud].flat()).toContain(realm.targetService);
  });
});
