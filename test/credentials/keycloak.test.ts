/**
 * HumanDelegated and Auto on a real Keycloak (scripts/keycloak.sh; a realm per run made
 * through its admin API), on SQLite and PostgreSQL: the end user's token, signed inside the
 * envelope, is verified and exchanged (RFC 8693, standard token exchange) for a token whose
 * audience is the target service, which is what the upstream receives. Only a capability with
 * `delegated_credentials: true` passes the user token on; an expired token, one from another
 * issuer or for another audience, and an exchange Keycloak refuses are each 4010 with their
 * own reason and nothing sent. Neither token reaches the answer, the trail or the logs.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import { type TestRealm, testRealm } from "../support/keycloak.js";
import {
  api,
  type CallEnv,
  oneStepTool,
  putSecret,
  registerSpec,
  securedSpec,
  startCallEnv,
} from "./support.js";

const PATHS = { "/echo-headers": "echoHeaders" };
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));

describe.each(BACKENDS)("Keycloak delegated credentials (%s)", (backend) => {
  let realm: TestRealm;
  let env: CallEnv;
  let agent: SessionAgent;

  const tool = async (name: string, credentialPath: unknown) => {
    const spec = await registerSpec(env.t, {
      name,
      inline_json: securedSpec({ paths: PATHS }),
      base_url: env.up.url,
      credential_path: credentialPath,
    });
    await oneStepTool(env.t, `${name}.echo`, spec.id, "echoHeaders");
  };
  /** A call signed now (real time: the user tokens are real), with the user token in _meta. */
  const delegatedCall = (name: string, userToken?: unknown) => {
    env.t.clock.set(Date.now());
    return call(
      env.t,
      agent,
      name,
      {},
      userToken === undefined ? undefined : { "seal/user_token": userToken },
    );
  };

  beforeAll(async () => {
    realm = await testRealm();
    env = await startCallEnv(backend, [], {
      config: {
        secrets: {
          keycloak: {
            token_url: realm.tokenUrl,
            client_id: realm.gatewayClientId,
            client_secret: realm.gatewayClientSecret,
            user_token_issuers: [
              { issuer: realm.issuer, audience: realm.gatewayClientId, jwks_url: realm.jwksUrl },
            ],
            audience_map: { "renamed-svc": realm.targetService, "unknown-svc": "no-such-client" },
          },
        },
      },
    });
    // Real time from here on: the session, the envelopes and the user tokens agree.
    env.t.clock.set(Date.now());
    await putContext(env.t, {
      name: "deleg-ctx",
      capabilities: [
        { tool_pattern: "hd.*", delegated_credentials: true },
        { tool_pattern: "renamed.*", delegated_credentials: true },
        { tool_pattern: "unknown.*", delegated_credentials: true },
        { tool_pattern: "auto.*", delegated_credentials: true },
        { tool_pattern: "ub.*", delegated_credentials: true },
        { tool_pattern: "nodeleg.*" },
      ],
    });
    agent = await sessionAgent(env.t, { context: "deleg-ctx", sub: "deleg-agent" });
    await tool("hd", { HumanDelegated: { target_service: realm.targetService } });
    await tool("renamed", { HumanDelegated: { target_service: "renamed-svc" } });
    await tool("unknown", { HumanDelegated: { target_service: "unknown-svc" } });
    await tool("nodeleg", { HumanDelegated: { target_service: realm.targetService } });
    await tool("ub", { UserBound: { provider: "github" } });
    await tool("auto", {
      Auto: {
        system_jit_openbao_engine_path: "database",
        system_jit_role: "ro",
        target_service: realm.targetService,
      },
    });
  }, 600_000);
  afterAll(async () => {
    await env?.close();
    await realm?.deleteRealm();
  });

  it("exchanges the user's token for one whose audience is the target service; the upstream gets that one", async () => {
    const userToken = await realm.userToken();
    const from = env.up.requests.length;
    const r = await delegatedCall("hd.echo", userToken);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const sent = env.up.requests[from]?.headers.authorization ?? "";
    expect(sent.startsWith("Bearer ")).toBe(true);
    const exchanged = sent.slice("Bearer ".length);
    expect(exchanged).not.toBe(userToken);
    const claims = claimsOf(exchanged);
    expect([claims.aud].flat()).toContain(realm.targetService);
    expect(claims.iss).toBe(realm.issuer);
    expect(claims.sub).toBe(claimsOf(userToken).sub);
    // Neither token in the answer (the echo is redacted), the trail or the logs.
    const text = JSON.stringify(r.body);
    expect(text).not.toContain(exchanged);
    expect(text).not.toContain(userToken);
    const rows = JSON.stringify(await eventsOf(env.t, agent.executionId));
    expect(rows).not.toContain(exchanged);
    expect(rows).not.toContain(userToken);
    expect(rows).toContain("CredentialExchangeCompleted");
    const logs = env.t.logs.join("\n");
    expect(logs).not.toContain(exchanged);
    expect(logs).not.toContain(userToken.slice(0, 40));
    expect(logs).not.toContain(realm.gatewayClientSecret);
  });

  it("UserBound: the real user's token names them (secrets.keycloak's issuers), their bound secret is sent", async () => {
    const userToken = await realm.userToken();
    const sub = String(claimsOf(userToken).sub);
    const secret = `gh_${sub.replace(/-/g, "")}`;
    expect((await putSecret(env.t, `users/${sub}/github`, secret)).status).toBe(201);
    const bound = await api(env.t, "POST", "/v1/credential-bindings", {
      user: sub,
      provider: "github",
      secret: { key: `users/${sub}/github` },
      grants: [{ tool_pattern: "ub.*", security_context: "deleg-ctx" }],
    });
    expect(bound.status, bound.text).toBe(201);
    const from = env.up.requests.length;
    const r = await delegatedCall("ub.echo", userToken);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(env.up.requests[from]?.headers.authorization).toBe(`Bearer ${secret}`);
    // Another real user token of the same user but not for the gateway: refused before any lookup.
    const err = expectCode(await delegatedCall("ub.echo", await realm.foreignAudienceToken()), 502, 4010);
    expect(err.error?.details.reason).toBe("user_token_claims");
    await api(env.t, "DELETE", `/v1/credential-bindings/${bound.body.id}`);
    const gone = expectCode(await delegatedCall("ub.echo", userToken), 502, 4010);
    expect(gone.error?.details.reason).toBe("no_binding");
    expect(env.up.requests.length).toBe(from + 1);
  });

  it("renames the audience through audience_map", async () => {
    const from = env.up.requests.length;
    expect((await delegatedCall("renamed.echo", await realm.userToken())).status).toBe(200);
    const sent = env.up.requests[from]?.headers.authorization ?? "";
    expect([claimsOf(sent.slice(7)).aud].flat()).toContain(realm.targetService);
  });

  it("Auto with a user token delegates; without one it needs SystemJit, which is not configured here", async () => {
    const from = env.up.requests.length;
    expect((await delegatedCall("auto.echo", await realm.userToken())).status).toBe(200);
    expect(env.up.requests.length).toBe(from + 1);
    const body = expectCode(await delegatedCall("auto.echo"), 502, 4010);
    expect(body.error?.details.reason).toBe("backend_not_configured");
    expect(env.up.requests.length).toBe(from + 1);
  });

  it("refuses each bad user token with its own reason, nothing sent", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg: "ES256", typ: "JWT" });
    const body = b64({
      iss: "https://evil.example.com/realms/x",
      aud: realm.gatewayClientId,
      sub: "alice",
      exp: now + 60,
    });
    const forged = `${head}.${body}.${sign("sha256", Buffer.from(`${head}.${body}`), { key: other.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["no token", async () => undefined, "user_token_missing"],
      ["a number", async () => 42, "user_token_missing"],
      ["not a JWT", async () => "not-a-jwt", "user_token_malformed"],
      ["another issuer", async () => forged, "user_token_issuer"],
      ["another audience", () => realm.foreignAudienceToken(), "user_token_claims"],
      ["oversized", async () => "a".repeat(20_000), "user_token_too_large"],
    ];
    for (const [name, token, reason] of cases) {
      const from = env.up.requests.length;
      const r = await delegatedCall("hd.echo", await token());
      const err = expectCode(r, 502, 4010);
      expect(err.error?.details.reason, name).toBe(reason);
      expect(env.up.requests.length, name).toBe(from);
    }
  });

  it("refuses an expired user token (the gateway's clock past its exp)", async () => {
    const userToken = await realm.userToken();
    const exp = claimsOf(userToken).exp as number;
    env.t.clock.set((exp + 120) * 1000);
    const r = await call(env.t, agent, "hd.echo", {}, { "seal/user_token": userToken });
    expect(expectCode(r, 502, 4010).error?.details.reason).toBe("user_token_expired");
  });

  it("passes no token under a capability without delegated_credentials", async () => {
    const from = env.up.requests.length;
    const r = await delegatedCall("nodeleg.echo", await realm.userToken());
    expect(expectCode(r, 502, 4010).error?.details.reason).toBe("user_token_missing");
    expect(env.up.requests.length).toBe(from);
  });

  it("an exchange Keycloak refuses (an audience it does not know) is 4010 exchange_refused, nothing sent", async () => {
    const from = env.up.requests.length;
    const r = await delegatedCall("unknown.echo", await realm.userToken());
    const body = expectCode(r, 502, 4010);
    expect(body.error?.details.reason).toBe("exchange_refused");
    expect(env.up.requests.length).toBe(from);
    const failed = (await eventsOf(env.t, agent.executionId)).filter(
      (e) => e.event_type === "CredentialExchangeFailed",
    );
    expect(failed.at(-1)?.payload).toMatchObject({
      credential_path: "HumanDelegated",
      reason: "exchange_refused",
    });
  });
});
