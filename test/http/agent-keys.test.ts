import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { BAD_KEYS, bearer, expectError, expectJson } from "./support.js";

interface AgentKey {
  id: string;
  sub: string;
  tenant_id: string;
  public_key_b64: string;
  label: string | null;
  status: string;
  created_at: string;
  revoked_at: string | null;
}
interface EventList {
  items: Array<{
    event_type: string;
    agent_id: string | null;
    tenant_id: string;
    stage: string | null;
    payload: Record<string, unknown>;
  }>;
}

function jwkOf(publicKeyB64: string): { kty: string; crv: string; x: string } {
  return { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKeyB64, "base64").toString("base64url") };
}

describe.each(BACKENDS)("control plane: /v1/agent-keys (%s)", (backend) => {
  let t: TestGateway;
  let admin: string;
  const register = (body: unknown, token = admin) =>
    t.request("/v1/agent-keys", jsonInit("POST", body, token));

  beforeAll(async () => {
    t = await startTestGateway(backend);
    admin = t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("registers a base64 key", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const key = await expectJson<AgentKey>(
      await register({ sub: "ci-job", public_key_b64: publicKeyB64, label: "nightly" }),
      201,
    );
    expect(key).toEqual({
      id: expect.stringMatching(/^akey_/),
      sub: "ci-job",
      tenant_id: "default",
      public_key_b64: publicKeyB64,
      label: "nightly",
      status: "active",
      created_at: new Date(t.clock.nowMs()).toISOString(),
      revoked_at: null,
    });
    const read = await expectJson<AgentKey>(
      await t.request(`/v1/agent-keys/${key.id}`, { headers: bearer(t.operatorToken("viewer")) }),
      200,
    );
    expect(read).toEqual(key);
  });

  it("registers an OKP JWK and stores it as standard base64", async () => {
    const { publicKeyB64 } = generateKeyPair();
    const key = await expectJson<AgentKey>(
      await register({
        sub: "jwk-job",
        jwk: { ...jwkOf(publicKeyB64), kid: "k1", use: "sig", alg: "EdDSA" },
      }),
      201,
    );
    expect(key.public_key_b64).toBe(publicKeyB64);
    expect(key.label).toBeNull();
  });

  for (const bad of BAD_KEYS) {
    it(`refuses a base64 key: ${bad.name}`, async () => {
      const err = await expectError(await register({ sub: "bad", public_key_b64: bad.b64 }), 400, "bad_key");
      expect(err.error.message).toMatch(bad.message);
    });
  }

  it("refuses small-order and non-canonical keys given as JWK", async () => {
    const zeros = await expectError(
      await register({
        sub: "bad",
        jwk: { kty: "OKP", crv: "Ed25519", x: Buffer.alloc(32).toString("base64url") },
      }),
      400,
      "bad_key",
    );
    expect(zeros.error.message).toMatch(/small-order/);
    const p = Buffer.concat([Buffer.from([0xed]), Buffer.alloc(30, 0xff), Buffer.from([0x7f])]);
    const nonCanonical = await expectError(
      await register({ sub: "bad", jwk: { kty: "OKP", crv: "Ed25519", x: p.toString("base64url") } }),
      400,
      "bad_key",
    );
    expect(nonCanonical.error.message).toMatch(/canonical/);
  });

  it("refuses a JWK carrying a private part without echoing it", async () => {
    const priv = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    expect(typeof priv.d).toBe("string");
    const res = await register({ sub: "leaky", jwk: priv });
    const text = await res.clone().text();
    const err = await expectError(res, 400, "invalid_body");
    expect(err.error.details.problems?.map((p) => p.path)).toEqual(["jwk.d"]);
    expect(text).not.toContain(priv.d as string);
  });

  it("refuses other JWK types and curves, and requires exactly one key form", async () => {
    const { publicKeyB64 } = generateKeyPair();
    await expectError(
      await register({ sub: "x", jwk: { ...jwkOf(publicKeyB64), kty: "EC" } }),
      400,
      "bad_key",
    );
    await expectError(
      await register({ sub: "x", jwk: { ...jwkOf(publicKeyB64), crv: "X25519" } }),
      400,
      "bad_key",
    );
    const both = await expectError(
      await register({ sub: "x", public_key_b64: publicKeyB64, jwk: jwkOf(publicKeyB64) }),
      400,
      "invalid_body",
    );
    expect(both.error.details.problems?.map((p) => p.path)).toEqual(["public_key_b64"]);
    await expectError(await register({ sub: "x" }), 400, "invalid_body");
    const missingSub = await expectError(
      await register({ public_key_b64: publicKeyB64 }),
      400,
      "invalid_body",
    );
    expect(missingSub.error.details.problems?.map((p) => p.path)).toContain("sub");
    const unknown = await expectError(
      await register({ sub: "x", public_key_b64: publicKeyB64, admin: true }),
      400,
      "invalid_body",
    );
    expect(unknown.error.details.problems?.map((p) => p.path)).toEqual(["admin"]);
  });

  it("lists keys, filtered by ?sub=", async () => {
    const a1 = await expectJson<AgentKey>(
      await register({ sub: "filter-a", public_key_b64: generateKeyPair().publicKeyB64 }),
      201,
    );
    const a2 = await expectJson<AgentKey>(
      await register({ sub: "filter-a", public_key_b64: generateKeyPair().publicKeyB64 }),
      201,
    );
    const b = await expectJson<AgentKey>(
      await register({ sub: "filter-b", public_key_b64: generateKeyPair().publicKeyB64 }),
      201,
    );
    const viewer = t.operatorToken("viewer");
    const onlyA = await expectJson<{ agent_keys: AgentKey[] }>(
      await t.request("/v1/agent-keys?sub=filter-a", { headers: bearer(viewer) }),
      200,
    );
    expect(onlyA.agent_keys.map((k) => k.id).sort()).toEqual([a1.id, a2.id].sort());
    const all = await expectJson<{ agent_keys: AgentKey[] }>(
      await t.request("/v1/agent-keys", { headers: bearer(viewer) }),
      200,
    );
    expect(all.agent_keys.map((k) => k.id)).toEqual(expect.arrayContaining([a1.id, a2.id, b.id]));
    const none = await expectJson<{ agent_keys: AgentKey[] }>(
      await t.request("/v1/agent-keys?sub=nobody", { headers: bearer(viewer) }),
      200,
    );
    expect(none.agent_keys).toEqual([]);
    await expectError(
      await t.request("/v1/agent-keys?subject=filter-a", { headers: bearer(viewer) }),
      400,
      "invalid_query",
    );
  });

  it("keeps tenants apart", async () => {
    const other = await expectJson<AgentKey>(
      await register({
        sub: "tenant-job",
        public_key_b64: generateKeyPair().publicKeyB64,
        tenant_id: "other",
      }),
      201,
    );
    expect(other.tenant_id).toBe("other");
    const mine = t.operatorToken("operator", "default");
    const listed = await expectJson<{ agent_keys: AgentKey[] }>(
      await t.request("/v1/agent-keys?sub=tenant-job", { headers: bearer(mine) }),
      200,
    );
    expect(listed.agent_keys).toEqual([]);
    await expectError(
      await t.request(`/v1/agent-keys/${other.id}`, { headers: bearer(mine) }),
      404,
      "not_found",
    );
    await expectError(
      await t.request(`/v1/agent-keys/${other.id}`, { method: "DELETE", headers: bearer(mine) }),
      404,
      "not_found",
    );
    await expectError(
      await register({ sub: "x", public_key_b64: generateKeyPair().publicKeyB64, tenant_id: "other" }, mine),
      403,
      "wrong_tenant",
    );
    const still = await expectJson<AgentKey>(
      await t.request(`/v1/agent-keys/${other.id}`, { headers: bearer(admin) }),
      200,
    );
    expect(still.status).toBe("active");
  });

  it("an admin with tenant * lists every tenant's keys, or the tenant it names", async () => {
    const mine = await expectJson<AgentKey>(
      await register({ sub: "span-job", public_key_b64: generateKeyPair().publicKeyB64 }),
      201,
    );
    const theirs = await expectJson<AgentKey>(
      await register({ sub: "span-job", public_key_b64: generateKeyPair().publicKeyB64, tenant_id: "far" }),
      201,
    );
    const ids = async (q: string) =>
      (
        await expectJson<{ agent_keys: AgentKey[] }>(
          await t.request(`/v1/agent-keys${q}`, { headers: bearer(admin) }),
          200,
        )
      ).agent_keys.map((k) => k.id);
    expect(await ids("?sub=span-job&tenant_id=far")).toEqual([theirs.id]);
    expect(await ids("?sub=span-job&tenant_id=default")).toEqual([mine.id]);
    expect((await ids("?sub=span-job")).sort()).toEqual([mine.id, theirs.id].sort());
  });

  it("revokes a key, and audits registration and revocation", async () => {
    const key = await expectJson<AgentKey>(
      await register({ sub: "revoke-me", public_key_b64: generateKeyPair().publicKeyB64 }),
      201,
    );
    t.clock.advance(5_000);
    const revoked = await expectJson<AgentKey>(
      await t.request(`/v1/agent-keys/${key.id}`, {
        method: "DELETE",
        headers: bearer(t.operatorToken("operator")),
      }),
      200,
    );
    expect(revoked).toMatchObject({
      id: key.id,
      status: "revoked",
      revoked_at: new Date(t.clock.nowMs()).toISOString(),
    });
    const read = await expectJson<AgentKey>(
      await t.request(`/v1/agent-keys/${key.id}`, { headers: bearer(admin) }),
      200,
    );
    expect(read.status).toBe("revoked");

    const events = await expectJson<EventList>(
      await t.request("/v1/events?agent=revoke-me", { headers: bearer(admin) }),
      200,
    );
    expect(events.items.map((e) => e.event_type)).toEqual(["AgentKeyRevoked", "AgentKeyRegistered"]);
    for (const e of events.items) {
      expect(e).toMatchObject({ agent_id: "revoke-me", tenant_id: "default", stage: "control" });
      expect(e.payload.key_id).toBe(key.id);
    }
    expect(events.items[0]?.payload.actor).toBe("test-operator");
  });

  it("answers 404 for unknown key ids", async () => {
    await expectError(
      await t.request("/v1/agent-keys/akey_nope", { headers: bearer(admin) }),
      404,
      "not_found",
    );
    await expectError(
      await t.request("/v1/agent-keys/akey_nope", { method: "DELETE", headers: bearer(admin) }),
      404,
      "not_found",
    );
  });
});
