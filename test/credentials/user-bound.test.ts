/**
 * UserBound (DESIGN §4) on SQLite and PostgreSQL: /v1/credential-bindings maps (tenant, user,
 * provider) to a secret reference with grants; at call time the user is the verified `sub` of
 * the end user's token (signed here by a pinned-key issuer, as an identity provider would),
 * never a claim of the agent. No token, no binding, no grant, a grant for another context, a
 * token from another issuer than the binding pins — each is 4010 with its own reason and nothing
 * sent. Deleting a binding takes effect on the next call. Neither the secret nor the user token
 * reaches the answer, the trail or the logs. (The same on a real Keycloak: keycloak.test.ts.)
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { GatewayConfig } from "../../src/config/schema.js";
import { packageRoot } from "../../src/paths.js";
import {
  call,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  sessionAgent,
} from "../authorization/support.js";
import { sectionBlocks } from "../support/doc-blocks.js";
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

const ISS_A = "https://idp-a.example/realms/corp";
const ISS_B = "https://idp-b.example/realms/partner";
const AUD = "seal-gateway";
const keyA = generateKeyPairSync("ec", { namedCurve: "P-256" });
const keyB = generateKeyPairSync("ec", { namedCurve: "P-256" });
const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (k: KeyObject) => k.export({ format: "pem", type: "spki" }).toString();

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
/** An ES256 user token, valid for five minutes from now (real time: the calls are signed now). */
function userToken(
  sub: string,
  opts: { iss?: string; key?: KeyObject; claims?: Record<string, unknown> } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "ES256", typ: "JWT" });
  const body = b64({ iss: opts.iss ?? ISS_A, aud: [AUD], sub, iat: now - 5, exp: now + 300, ...opts.claims });
  const sig = sign("sha256", Buffer.from(`${head}.${body}`), {
    key: opts.key ?? keyA.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${head}.${body}.${sig.toString("base64url")}`;
}

const issuer = (iss: string, key: KeyObject) => ({ issuer: iss, audience: AUD, public_key: pem(key) });

describe.each(BACKENDS)("UserBound credentials (%s)", (backend) => {
  let env: CallEnv;
  let agent: SessionAgent;
  const aliceSecret = newSecret("alice");
  const bobSecret = newSecret("bob");

  const bind = (body: Record<string, unknown>, token = env.t.operatorToken("operator")) =>
    api(env.t, "POST", "/v1/credential-bindings", body, token);
  const boundCall = (tool: string, token?: unknown) => {
    env.t.clock.set(Date.now());
    return call(env.t, agent, tool, {}, token === undefined ? undefined : { "seal/user_token": token });
  };
  const refusedWith = async (tool: string, token: unknown, reason: string) => {
    const from = env.up.requests.length;
    const body = expectCode(await boundCall(tool, token), 502, 4010);
    expect(body.error?.details.reason, `${tool}: ${reason}`).toBe(reason);
    expect(env.up.requests.length, `${tool}: nothing sent`).toBe(from);
  };
  const sentAuthorization = async (tool: string, token: unknown) => {
    const from = env.up.requests.length;
    const r = await boundCall(tool, token);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { answer: r, header: env.up.requests[from]?.headers.authorization };
  };

  beforeAll(async () => {
    env = await startCallEnv(backend, [], {
      config: { secrets: { user_bound: { user_token_issuers: [issuer(ISS_A, keyA.publicKey)] } } },
    });
    env.t.clock.set(Date.now());
    await putContext(env.t, {
      name: "ub-ctx",
      capabilities: [
        { tool_pattern: "gh.*", delegated_credentials: true },
        { tool_pattern: "ghctx.*", delegated_credentials: true },
        { tool_pattern: "other.*", delegated_credentials: true },
        { tool_pattern: "nodeleg.*" },
      ],
    });
    agent = await sessionAgent(env.t, { context: "ub-ctx", sub: "ub-agent" });
    for (const name of ["gh", "ghctx", "other", "nodeleg"]) {
      const spec = await registerSpec(env.t, {
        name,
        inline_json: securedSpec({ paths: { "/echo-headers": "echoHeaders" } }),
        base_url: env.up.url,
        credential_path: { UserBound: { provider: name === "other" ? "gitlab" : "github" } },
      });
      await oneStepTool(env.t, `${name}.echo`, spec.id, "echoHeaders");
    }
    await putSecret(env.t, "users/alice/github", aliceSecret);
    await putSecret(env.t, "users/bob/github", bobSecret);
    const a = await bind({
      user: "alice",
      provider: "github",
      secret: { key: "users/alice/github" },
      grants: [{ tool_pattern: "gh.*" }, { tool_pattern: "ghctx.*", security_context: "ub-ctx" }],
    });
    expect(a.status, a.text).toBe(201);
    // Bob may use his GitHub credential only under a context this agent does not have.
    const b = await bind({
      user: "bob",
      provider: "github",
      secret: { key: "users/bob/github" },
      grants: [{ tool_pattern: "gh.*", security_context: "elsewhere" }, { tool_pattern: "nodeleg.*" }],
    });
    expect(b.status, b.text).toBe(201);
  });
  afterAll(async () => {
    await env?.close();
  });

  it("creates, reads and lists bindings as the API describes, and audits the change", async () => {
    const created = await bind({
      user: "carol@example.com",
      issuer: ISS_A,
      provider: "gitlab",
      secret: { key: "users/carol/gitlab", backend: "builtin" },
      grants: [{ tool_pattern: "other.*" }],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      tenant_id: "default",
      user: "carol@example.com",
      issuer: ISS_A,
      provider: "gitlab",
      secret: { key: "users/carol/gitlab", backend: "builtin" },
      grants: [{ tool_pattern: "other.*" }],
      created_by: expect.any(String),
    });
    const id = String(created.body.id);
    expect(id).toMatch(/^cbd_/);
    const viewer = env.t.operatorToken("viewer");
    expect((await api(env.t, "GET", `/v1/credential-bindings/${id}`, undefined, viewer)).body).toEqual(
      created.body,
    );
    const listed = await api(env.t, "GET", "/v1/credential-bindings?limit=500", undefined, viewer);
    expect(listed.status).toBe(200);
    expect(listed.body.credential_bindings).toContainEqual(created.body);
    const rows = await api(env.t, "GET", "/v1/events?type=CredentialBindingCreated&limit=50");
    expect(JSON.stringify(rows.body)).toContain(id);
  });

  it("refuses malformed, hostile and oversized bindings with 400 and the field, and writes nothing", async () => {
    const good = {
      user: "dave",
      provider: "github",
      secret: { key: "users/dave/gh" },
      grants: [{ tool_pattern: "gh.*" }],
    };
    const cases: Array<[string, Record<string, unknown>]> = [
      ["no grants", { ...good, grants: [] }],
      ["no user", { ...good, user: "" }],
      ["user too long", { ...good, user: "u".repeat(257) }],
      ["key with ..", { ...good, secret: { key: "users/../admin" } }],
      ["absolute key", { ...good, secret: { key: "/etc/passwd" } }],
      ["unknown backend", { ...good, secret: { key: "k", backend: "vault" } }],
      ["bad field", { ...good, secret: { key: "k", field: "a b" } }],
      ["value smuggled in", { ...good, secret: { key: "k", value: "s3cret" } }],
      ["bad provider", { ...good, provider: "../github" }],
      ["bad tool pattern", { ...good, grants: [{ tool_pattern: "gh..x" }] }],
      ["bad context", { ...good, grants: [{ tool_pattern: "gh.*", security_context: "Not A Context" }] }],
      ["too many grants", { ...good, grants: Array.from({ length: 101 }, () => ({ tool_pattern: "gh.*" })) }],
      ["unknown field", { ...good, admin: true }],
      ["not an object", ["user"] as unknown as Record<string, unknown>],
    ];
    const before = await api(env.t, "GET", "/v1/credential-bindings?limit=500");
    for (const [name, body] of cases) {
      const r = await bind(body);
      expect(r.status, `${name}: ${r.text}`).toBe(400);
      expect(r.text, name).not.toContain("s3cret");
    }
    const after = await api(env.t, "GET", "/v1/credential-bindings?limit=500");
    expect(after.body.credential_bindings).toEqual(before.body.credential_bindings);
  });

  it("lets operators write and viewers read only; a second binding of one user and provider is 409", async () => {
    const body = {
      user: "erin",
      provider: "github",
      secret: { key: "users/erin/gh" },
      grants: [{ tool_pattern: "gh.*" }],
    };
    expect((await bind(body, env.t.operatorToken("viewer"))).status).toBe(403);
    expect((await bind(body, "not-a-token")).status).toBe(401);
    expect((await bind(body)).status).toBe(201);
    const dup = await bind({ ...body, secret: { key: "users/mallory/gh" } });
    expect(dup.status, dup.text).toBe(409);
    const id = (await api(env.t, "GET", "/v1/credential-bindings?limit=500")).body.credential_bindings as {
      id: string;
      user: string;
    }[];
    const erin = id.find((b) => b.user === "erin")?.id;
    expect(
      (
        await api(
          env.t,
          "DELETE",
          `/v1/credential-bindings/${erin}`,
          undefined,
          env.t.operatorToken("viewer"),
        )
      ).status,
    ).toBe(403);
    expect((await api(env.t, "GET", "/v1/credential-bindings/cbd_missing")).status).toBe(404);
  });

  it("injects the verified user's own secret; the trail names the key and binding, never a value", async () => {
    const token = userToken("alice");
    const { answer, header } = await sentAuthorization("gh.echo", token);
    expect(header).toBe(`Bearer ${aliceSecret}`);
    const rows = await eventsOf(env.t, agent.executionId);
    const completed = rows.filter((r) => r.event_type === "CredentialExchangeCompleted").at(-1);
    expect(completed?.payload).toMatchObject({ credential_path: "UserBound", key: "users/alice/github" });
    expect(String(completed?.payload.binding_id)).toMatch(/^cbd_/);
    const everything = [JSON.stringify(answer.body), JSON.stringify(rows), env.t.logs.join("\n")].join("\n");
    for (const form of [...encodedForms(aliceSecret), token]) expect(everything).not.toContain(form);
  });

  it("uses whose token it is, not who the agent says: bob's token gets bob's grants, a forged alice gets nothing", async () => {
    // Bob's grants: gh.* only under another context, nodeleg.* whose capability passes no token.
    await refusedWith("gh.echo", userToken("bob"), "no_grant");
    await refusedWith("nodeleg.echo", userToken("bob"), "user_token_missing");
    await refusedWith("gh.echo", userToken("alice", { key: stranger.privateKey }), "user_token_signature");
    await refusedWith(
      "gh.echo",
      userToken("alice", { iss: ISS_B, key: keyB.privateKey }),
      "user_token_issuer",
    );
    await refusedWith("gh.echo", userToken("zoe"), "no_binding");
  });

  it("refuses each bad user token with its own reason, nothing sent", async () => {
    const now = Math.floor(Date.now() / 1000);
    await refusedWith("gh.echo", undefined, "user_token_missing");
    await refusedWith("gh.echo", 42, "user_token_missing");
    await refusedWith("gh.echo", "not-a-jwt", "user_token_malformed");
    await refusedWith("gh.echo", "a".repeat(20_000), "user_token_too_large");
    await refusedWith("gh.echo", userToken("alice", { claims: { exp: now - 120 } }), "user_token_expired");
    await refusedWith(
      "gh.echo",
      userToken("alice", { claims: { aud: "someone-else" } }),
      "user_token_claims",
    );
    await refusedWith("gh.echo", userToken("alice", { claims: { exp: now + 90_000 } }), "user_token_claims");
    await refusedWith("gh.echo", userToken("", {}), "user_token_claims");
  });

  it("matches grants by tool and context: a context-limited grant serves only its context", async () => {
    expect((await sentAuthorization("ghctx.echo", userToken("alice"))).header).toBe(`Bearer ${aliceSecret}`);
    // The gitlab provider: alice has no binding there.
    await refusedWith("other.echo", userToken("alice"), "no_binding");
  });

  it("reads the binding in the call's tenant only", async () => {
    const r = await api(env.t, "POST", "/v1/credential-bindings", {
      user: "frank",
      provider: "github",
      secret: { key: "users/frank/gh" },
      grants: [{ tool_pattern: "*" }],
      tenant_id: "tenant-b",
    });
    expect(r.status, r.text).toBe(201);
    await putSecret(env.t, "users/frank/gh", newSecret("frank"), "tenant-b");
    await refusedWith("gh.echo", userToken("frank"), "no_binding");
    // An operator of the default tenant can neither see nor delete it.
    const op = env.t.operatorToken("operator");
    expect((await api(env.t, "GET", `/v1/credential-bindings/${r.body.id}`, undefined, op)).status).toBe(404);
    expect((await api(env.t, "DELETE", `/v1/credential-bindings/${r.body.id}`, undefined, op)).status).toBe(
      404,
    );
    const own = (await api(env.t, "GET", "/v1/credential-bindings?limit=500", undefined, op)).body
      .credential_bindings as { tenant_id: string }[];
    expect(own.every((b) => b.tenant_id === "default")).toBe(true);
  });

  it("fails closed when the bound secret is missing or names a field the built-in store has not", async () => {
    for (const [user, secret, reason] of [
      ["gina", { key: "users/gina/none" }, "secret_not_found"],
      ["hank", { key: "users/alice/github", field: "password" }, "field_not_supported"],
      ["ivan", { key: "users/ivan/gh", backend: "openbao" }, "backend_not_configured"],
    ] as const) {
      expect(
        (await bind({ user, provider: "github", secret, grants: [{ tool_pattern: "gh.*" }] })).status,
      ).toBe(201);
      await refusedWith("gh.echo", userToken(user), reason);
    }
    const failed = (await eventsOf(env.t, agent.executionId)).filter(
      (r) => r.event_type === "CredentialExchangeFailed",
    );
    expect(failed.map((r) => r.payload.reason)).toEqual(
      expect.arrayContaining(["secret_not_found", "field_not_supported", "backend_not_configured"]),
    );
  });

  it("replacing the grants revokes the ones left out on the next call; bad grants are 400, a viewer 403", async () => {
    const made = await bind({
      user: "kate",
      provider: "github",
      secret: { key: "users/bob/github" },
      grants: [{ tool_pattern: "gh.*" }, { tool_pattern: "ghctx.*" }],
    });
    expect(made.status, made.text).toBe(201);
    const id = String(made.body.id);
    expect((await sentAuthorization("gh.echo", userToken("kate"))).header).toBe(`Bearer ${bobSecret}`);
    const put = (body: unknown, token = env.t.operatorToken("operator")) =>
      api(env.t, "PUT", `/v1/credential-bindings/${id}/grants`, body, token);
    const replaced = await put({ grants: [{ tool_pattern: "ghctx.*" }] });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body).toMatchObject({ id, grants: [{ tool_pattern: "ghctx.*" }] });
    await refusedWith("gh.echo", userToken("kate"), "no_grant");
    expect((await sentAuthorization("ghctx.echo", userToken("kate"))).header).toBe(`Bearer ${bobSecret}`);
    for (const body of [
      { grants: [] },
      { grants: [{ tool_pattern: "" }] },
      { grants: "gh.*" },
      {},
      { grants: [{ tool_pattern: "gh.*" }], user: "x" },
    ])
      expect((await put(body)).status, JSON.stringify(body)).toBe(400);
    expect((await put({ grants: [{ tool_pattern: "*" }] }, env.t.operatorToken("viewer"))).status).toBe(403);
    expect(
      (
        await api(env.t, "PUT", "/v1/credential-bindings/cbd_missing/grants", {
          grants: [{ tool_pattern: "*" }],
        })
      ).status,
    ).toBe(404);
    // The refused changes left the grants as they were.
    expect((await api(env.t, "GET", `/v1/credential-bindings/${id}`)).body.grants).toEqual([
      { tool_pattern: "ghctx.*" },
    ]);
    const rows = await api(env.t, "GET", "/v1/events?type=CredentialBindingUpdated&limit=50");
    expect(JSON.stringify(rows.body)).toContain(id);
  });

  it("deleting a binding takes effect on the next call, and is audited", async () => {
    expect(
      (
        await bind({
          user: "judy",
          provider: "github",
          secret: { key: "users/bob/github" },
          grants: [{ tool_pattern: "gh.*" }],
        })
      ).status,
    ).toBe(201);
    expect((await sentAuthorization("gh.echo", userToken("judy"))).header).toBe(`Bearer ${bobSecret}`);
    const list = (await api(env.t, "GET", "/v1/credential-bindings?limit=500")).body.credential_bindings as {
      id: string;
      user: string;
    }[];
    const id = list.find((b) => b.user === "judy")?.id;
    const del = await api(
      env.t,
      "DELETE",
      `/v1/credential-bindings/${id}`,
      undefined,
      env.t.operatorToken("operator"),
    );
    expect(del.body).toEqual({ deleted: true, id });
    await refusedWith("gh.echo", userToken("judy"), "no_binding");
    expect((await api(env.t, "DELETE", `/v1/credential-bindings/${id}`)).status).toBe(404);
    const rows = await api(env.t, "GET", "/v1/events?type=CredentialBindingDeleted&limit=50");
    expect(JSON.stringify(rows.body)).toContain(String(id));
  });
});

describe("UserBound with two trusted issuers: a binding must pin its issuer", () => {
  let env: CallEnv;
  let agent: SessionAgent;
  const secret = newSecret("pinned");

  beforeAll(async () => {
    env = await startCallEnv("sqlite", [], {
      config: {
        secrets: {
          user_bound: { user_token_issuers: [issuer(ISS_A, keyA.publicKey), issuer(ISS_B, keyB.publicKey)] },
        },
      },
    });
    env.t.clock.set(Date.now());
    await putContext(env.t, {
      name: "two-iss",
      capabilities: [{ tool_pattern: "gh.*", delegated_credentials: true }],
    });
    agent = await sessionAgent(env.t, { context: "two-iss" });
    const spec = await registerSpec(env.t, {
      name: "gh",
      inline_json: securedSpec({ paths: { "/echo-headers": "echoHeaders" } }),
      base_url: env.up.url,
      credential_path: { UserBound: { provider: "github" } },
    });
    await oneStepTool(env.t, "gh.echo", spec.id, "echoHeaders");
    await putSecret(env.t, "users/pinned", secret);
    for (const [user, pinned] of [
      ["alice", ISS_A],
      ["bob", undefined],
    ] as const) {
      const r = await api(env.t, "POST", "/v1/credential-bindings", {
        user,
        ...(pinned ? { issuer: pinned } : {}),
        provider: "github",
        secret: { key: "users/pinned" },
        grants: [{ tool_pattern: "gh.*" }],
      });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await env?.close();
  });

  const reasonOf = async (token: string) => {
    env.t.clock.set(Date.now());
    const r = await call(env.t, agent, "gh.echo", {}, { "seal/user_token": token });
    return r.status === 200 ? "ok" : r.body.error?.details.reason;
  };

  it("serves the pinned issuer's user, not the same sub from the other issuer; an unpinned binding is refused", async () => {
    const from = env.up.requests.length;
    expect(await reasonOf(userToken("alice"))).toBe("ok");
    expect(env.up.requests[from]?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(await reasonOf(userToken("alice", { iss: ISS_B, key: keyB.privateKey }))).toBe("binding_issuer");
    expect(await reasonOf(userToken("bob"))).toBe("binding_issuer");
    expect(await reasonOf(userToken("bob", { iss: ISS_B, key: keyB.privateKey }))).toBe("binding_issuer");
    expect(env.up.requests.length).toBe(from + 1);
  });
});

describe("docs/credentials.md 'User-bound credentials', as written", () => {
  const HEADING = "## User-bound credentials";
  const doc = readFileSync(join(packageRoot(), "docs", "credentials.md"), "utf8");
  const [yamlBlock] = sectionBlocks(doc, HEADING, "yaml", "docs/credentials.md");
  const [bindingBlock] = sectionBlocks(doc, HEADING, "json", "docs/credentials.md");
  let env: CallEnv;
  const secret = newSecret("gh-alice");

  /** Each of the doc's contexts, an agent under it. */
  const agents = new Map<string, SessionAgent>();
  const callAs = (context: string, tool: string) => {
    env.t.clock.set(Date.now());
    return call(
      env.t,
      agents.get(context) as SessionAgent,
      tool,
      {},
      { "seal/user_token": userToken("alice") },
    );
  };

  beforeAll(async () => {
    // The doc's config, its issuer swapped for this test's (a pinned key instead of the JWKS URL).
    const documented = parseYaml(String(yamlBlock)) as {
      secrets: { user_bound: { user_token_issuers: Record<string, unknown>[] } };
    };
    const [docIssuer] = documented.secrets.user_bound.user_token_issuers;
    expect(docIssuer).toMatchObject({ audience: AUD });
    const { jwks_url: _jwks, ...rest } = docIssuer as Record<string, unknown>;
    const config = {
      secrets: {
        user_bound: { user_token_issuers: [{ ...rest, issuer: ISS_A, public_key: pem(keyA.publicKey) }] },
      },
    };
    expect(GatewayConfig.safeParse(documented).success).toBe(true);
    env = await startCallEnv("sqlite", [], { config });
    env.t.clock.set(Date.now());
    for (const context of ["release-ops", "dev"]) {
      await putContext(env.t, {
        name: context,
        capabilities: [
          { tool_pattern: "github.*", delegated_credentials: true },
          { tool_pattern: "github-admin.*", delegated_credentials: true },
        ],
      });
      agents.set(context, await sessionAgent(env.t, { context }));
    }
    for (const name of ["github", "github-admin"]) {
      const spec = await registerSpec(env.t, {
        name,
        inline_json: securedSpec({ paths: { "/echo-headers": "echoHeaders" } }),
        base_url: env.up.url,
        credential_path: { UserBound: { provider: "github" } },
      });
      await oneStepTool(env.t, `${name}.echo`, spec.id, "echoHeaders");
    }
    await putSecret(env.t, "users/alice/github", secret);
    const bound = await api(env.t, "POST", "/v1/credential-bindings", JSON.parse(String(bindingBlock)));
    expect(bound.status, bound.text).toBe(201);
  });
  afterAll(async () => {
    await env?.close();
  });

  it("serves alice's github.* anywhere and github-admin.* only under release-ops", async () => {
    for (const context of ["dev", "release-ops"]) {
      const from = env.up.requests.length;
      expect((await callAs(context, "github.echo")).status).toBe(200);
      expect(env.up.requests[from]?.headers.authorization).toBe(`Bearer ${secret}`);
    }
    expect((await callAs("release-ops", "github-admin.echo")).status).toBe(200);
    const refused = await callAs("dev", "github-admin.echo");
    expect(refused.body.error?.details.reason).toBe("no_grant");
  });
});
