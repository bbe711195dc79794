/**
 * PUT/GET/DELETE /v1/secrets against a real gateway (SQLite and PostgreSQL): versions,
 * metadata-only answers, keyed fingerprints, roles and tenancy, refusal while a spec uses the
 * key, the audit rows — and that the value is in no answer, no event and no log line.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint as plainFingerprint } from "../../src/crypto/sealed-box.js";
import { events } from "../authorization/support.js";
import { BACKENDS } from "../support/gateway.js";
import {
  api,
  type CredGateway,
  encodedForms,
  newSecret,
  putSecret,
  registerSpec,
  securedSpec,
  startCredGateway,
} from "./support.js";

const VIEW_KEYS = [
  "created_at",
  "fingerprint",
  "key",
  "rotated_at",
  "source",
  "status",
  "tenant_id",
  "version",
];

describe.each(BACKENDS)("secrets API (%s)", (backend) => {
  let t: CredGateway;
  const written: string[] = [];
  const put = async (key: string, value: string, tenant?: string) => {
    written.push(value);
    return await putSecret(t, key, value, tenant);
  };

  beforeAll(async () => {
    t = await startCredGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("PUT creates version 1 (201) and answers metadata only", async () => {
    const value = newSecret();
    const r = await put("billing/token", value);
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(VIEW_KEYS);
    expect(r.body).toMatchObject({
      key: "billing/token",
      tenant_id: "default",
      status: "active",
      source: "builtin",
      version: 1,
      rotated_at: null,
    });
    expect(r.body.created_at).toBe(new Date(t.clock.nowMs()).toISOString());
    expect(r.body.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(r.text).not.toContain(value);
  });

  it("GET and the listing show the same metadata, never the value", async () => {
    const value = newSecret();
    const created = await put("list/me", value);
    const one = await api(t, "GET", "/v1/secrets/list/me", undefined, t.operatorToken("viewer"));
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body);
    const all = await api(t, "GET", "/v1/secrets", undefined, t.operatorToken("viewer"));
    expect(all.status).toBe(200);
    const items = all.body.secrets as Array<Record<string, unknown>>;
    expect(items.find((s) => s.key === "list/me")).toEqual(created.body);
    for (const item of items) expect(Object.keys(item).sort()).toEqual(VIEW_KEYS);
    for (const v of written) expect(one.text + all.text).not.toContain(v);
  });

  it("a second PUT rotates: version 2, rotated_at set, created_at kept, new fingerprint", async () => {
    const first = await put("rotating/key", newSecret());
    t.clock.advance(5_000);
    const second = await put("rotating/key", newSecret());
    expect(second.status).toBe(200);
    expect(second.body.version).toBe(2);
    expect(second.body.created_at).toBe(first.body.created_at);
    expect(second.body.rotated_at).toBe(new Date(t.clock.nowMs()).toISOString());
    expect(second.body.fingerprint).not.toBe(first.body.fingerprint);
  });

  it("concurrent writers each get their own version", async () => {
    await put("race/key", newSecret());
    const answers = await Promise.all(Array.from({ length: 6 }, () => put("race/key", newSecret())));
    expect(answers.map((a) => a.body.version).sort()).toEqual([2, 3, 4, 5, 6, 7]);
    const now = await api(t, "GET", "/v1/secrets/race/key");
    expect(now.body.version).toBe(7);
  });

  it("the fingerprint is keyed: stable for a value, not a plain hash of it", async () => {
    const value = newSecret();
    const a = await put("fp/a", value);
    const b = await put("fp/b", value);
    expect(a.body.fingerprint).toBe(b.body.fingerprint);
    const fp = String(a.body.fingerprint);
    expect(fp).not.toBe(createHash("sha256").update(value).digest("hex").slice(0, 16));
    expect(fp).not.toBe(plainFingerprint(value, "secret"));
    // Another gateway (another master key) fingerprints the same value differently.
    const other = await startCredGateway("sqlite");
    try {
      expect((await putSecret(other, "fp/a", value)).body.fingerprint).not.toBe(fp);
    } finally {
      await other.close();
    }
  });

  it("stores the value sealed: the row holds neither the value nor a plain encoding of it", async () => {
    const value = newSecret();
    await put("sealed/check", value);
    const row = await t.gw.store.getSecret("default", "sealed/check");
    expect(row?.valueSealed.startsWith("sb1.")).toBe(true);
    for (const form of encodedForms(value)) expect(JSON.stringify(row)).not.toContain(form);
    expect(t.gw.services.credentials.builtin?.open(row as NonNullable<typeof row>)).toBe(value);
  });

  it("audits writes and deletes with key and fingerprint only", async () => {
    const value = newSecret();
    const w = await put("audited/key", value);
    await api(t, "DELETE", "/v1/secrets/audited/key");
    const rows = (await events(t, { type: "SecretWritten" })).filter((e) => e.payload.key === "audited/key");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.payload).toEqual({
      actor: "test-admin",
      key: "audited/key",
      fingerprint: w.body.fingerprint,
    });
    expect(rows[0]).toMatchObject({ tenant_id: "default", stage: "control" });
    const del = (await events(t, { type: "SecretDeleted" })).filter((e) => e.payload.key === "audited/key");
    expect(del[0]?.payload).toEqual({
      actor: "test-admin",
      key: "audited/key",
      fingerprint: w.body.fingerprint,
      version: 1,
      forced: false,
      referenced_by: [],
    });
  });

  it("DELETE removes every version; the next PUT starts again at version 1", async () => {
    await put("gone/key", newSecret());
    await put("gone/key", newSecret());
    const d = await api(t, "DELETE", "/v1/secrets/gone/key");
    expect(d.status, d.text).toBe(200);
    expect(d.body).toEqual({ status: "success", key: "gone/key", tenant_id: "default" });
    expect((await api(t, "GET", "/v1/secrets/gone/key")).status).toBe(404);
    expect((await api(t, "DELETE", "/v1/secrets/gone/key")).body).toMatchObject({
      error: { details: { reason: "not_found" } },
    });
    expect((await put("gone/key", newSecret())).body.version).toBe(1);
  });

  it("DELETE is refused (409 in_use) while a spec references the key, unless forced", async () => {
    await put("shared/in-use", newSecret());
    const spec = await registerSpec(t, {
      name: "uses-secret",
      inline_json: securedSpec({ paths: { "/x": "x" } }),
      credential_path: { StaticRef: { key: "shared/in-use" } },
    });
    const refused = await api(t, "DELETE", "/v1/secrets/shared/in-use");
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: { code: 4009, details: { reason: "in_use", specs: [{ id: spec.id, name: "uses-secret" }] } },
    });
    expect((await api(t, "GET", "/v1/secrets/shared/in-use")).status).toBe(200);
    // Another tenant's spec naming the same key does not hold this tenant's secret.
    const forced = await api(t, "DELETE", "/v1/secrets/shared/in-use?force=true");
    expect(forced.status, forced.text).toBe(200);
    const row = (await events(t, { type: "SecretDeleted" })).find((e) => e.payload.key === "shared/in-use");
    expect(row?.payload).toMatchObject({ forced: true, referenced_by: [spec.id] });
    expect((await api(t, "DELETE", "/v1/secrets/x?force=yes")).status).toBe(400);
  });

  it("writes and deletes need admin; every role reads metadata", async () => {
    await put("roles/key", newSecret());
    for (const role of ["viewer", "operator", "approver"] as const) {
      const token = t.operatorToken(role);
      const w = await api(t, "PUT", "/v1/secrets/roles/key", { value: "x-value" }, token);
      expect(w.status, role).toBe(403);
      expect((await api(t, "DELETE", "/v1/secrets/roles/key", undefined, token)).status, role).toBe(403);
      expect((await api(t, "GET", "/v1/secrets/roles/key", undefined, token)).status, role).toBe(200);
    }
    expect((await api(t, "GET", "/v1/secrets/roles/key")).body.version).toBe(1);
  });

  it("keys are tenant-scoped: same name, separate values and versions, no cross-tenant reads", async () => {
    await put("tenant/key", newSecret(), "tenant-a");
    await put("tenant/key", newSecret(), "tenant-b");
    await put("tenant/key", newSecret(), "tenant-b");
    const adminA = t.operatorToken("admin", "tenant-a");
    const a = await api(t, "GET", "/v1/secrets/tenant/key", undefined, adminA);
    expect(a.body).toMatchObject({ tenant_id: "tenant-a", version: 1 });
    expect((await api(t, "GET", "/v1/secrets/tenant/key?tenant_id=tenant-b", undefined, adminA)).status).toBe(
      403,
    );
    expect((await api(t, "GET", "/v1/secrets?tenant_id=tenant-b", undefined, adminA)).status).toBe(403);
    const listA = (await api(t, "GET", "/v1/secrets", undefined, adminA)).body.secrets as Array<{
      tenant_id: string;
    }>;
    expect(listA.every((s) => s.tenant_id === "tenant-a")).toBe(true);
    const b = await api(t, "GET", "/v1/secrets/tenant/key?tenant_id=tenant-b");
    expect(b.body).toMatchObject({ tenant_id: "tenant-b", version: 2 });
    // A tenant-a admin writing the same key name writes tenant-a's secret, never tenant-b's.
    await api(t, "PUT", "/v1/secrets/tenant/key", { value: newSecret() }, adminA);
    expect((await api(t, "GET", "/v1/secrets/tenant/key?tenant_id=tenant-b")).body).toEqual(b.body);
    expect((await api(t, "GET", "/v1/secrets/x?tenant_id=NOT%20A%20TENANT")).status).toBe(400);
  });

  describe("bad input", () => {
    const badKeys: Array<[string, string]> = [
      ["'..' and an encoded slash", "..%2Fb"],
      ["encoded dots inside a segment", "a%2E%2Eb"],
      ["an encoded slash", "a%2Fb"],
      ["an encoded NUL", "a%00b"],
      ["an encoded newline", "a%0Ab"],
      ["a space", "a%20b"],
      ["an empty segment", "a//b"],
      ["a trailing slash", "a/b/"],
      ["a leading dot", ".hidden"],
      ["a colon", "a:b"],
      ["unicode", "caf%C3%A9"],
      ["257 characters", "k".repeat(257)],
    ];
    for (const [name, key] of badKeys) {
      it(`refuses a key with ${name} (400 invalid_key), on every method, without echoing it`, async () => {
        for (const method of ["PUT", "GET", "DELETE"]) {
          const r = await api(
            t,
            method,
            `/v1/secrets/${key}`,
            method === "PUT" ? { value: "v-value" } : undefined,
          );
          expect(r.status, `${method} ${key}: ${r.text}`).toBe(400);
          expect(r.body).toMatchObject({ error: { details: { reason: "invalid_key" } } });
          expect(r.text).not.toContain(key.slice(0, 40));
        }
      });
    }

    it("accepts a key of exactly 256 characters", async () => {
      expect((await put("k".repeat(256), newSecret())).status).toBe(201);
    });

    const badValues: Array<[string, unknown]> = [
      ["a number", 42],
      ["null", null],
      ["an object", { v: "x" }],
      ["an empty string", ""],
      ["a NUL character", "abc\u0000def"],
      ["64 KiB + 1 byte", "x".repeat(64 * 1024 + 1)],
      ["64 KiB + 1 byte of multi-byte UTF-8", `${"é".repeat(32 * 1024)}x`],
    ];
    for (const [name, value] of badValues) {
      it(`refuses a value that is ${name} (400, problem at "value")`, async () => {
        const r = await api(t, "PUT", "/v1/secrets/bad/value", { value });
        expect(r.status, r.text.slice(0, 500)).toBe(400);
        expect(r.body).toMatchObject({
          error: { details: { reason: "invalid_body", problems: [{ path: "value" }] } },
        });
        expect((await api(t, "GET", "/v1/secrets/bad/value")).status).toBe(404);
      });
    }

    it("accepts exactly 64 KiB, and multi-line text (PEM keys)", async () => {
      expect((await put("big/exact", "x".repeat(64 * 1024))).status).toBe(201);
      expect((await put("pem/key", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n")).status).toBe(201);
    });

    it("refuses a missing value, extra fields, a lone surrogate and invalid UTF-8", async () => {
      const send = (body: string | Uint8Array) =>
        t.request("/v1/secrets/bad/raw", {
          method: "PUT",
          headers: { authorization: `Bearer ${t.adminToken()}`, "content-type": "application/json" },
          body,
        });
      for (const body of [
        "{}",
        '{"value":"a","extra":1}',
        '{"value":"\\ud800"}',
        "not json",
        '{"value":"a","value":"b"}',
      ]) {
        expect((await send(body)).status, body).toBe(400);
      }
      const invalidUtf8 = new Uint8Array([...Buffer.from('{"value":"'), 0xc3, 0x28, ...Buffer.from('"}')]);
      const r = await send(invalidUtf8);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe(
        "malformed_json",
      );
      expect((await api(t, "GET", "/v1/secrets/bad/raw")).status).toBe(404);
    });

    it("refuses a body over the server's limit (413)", async () => {
      const r = await api(t, "PUT", "/v1/secrets/bad/huge", { value: "x".repeat(2 * 1024 * 1024) });
      expect(r.status).toBe(413);
    });
  });

  it("never wrote a value to an answer above, an event or a log line", async () => {
    const everything = JSON.stringify(await events(t, {})) + t.logs.join("\n");
    expect(written.length).toBeGreaterThan(20);
    for (const value of written)
      for (const form of encodedForms(value)) expect(everything).not.toContain(form);
    expect(JSON.stringify(process.env)).not.toContain(written[0]);
  });
});
