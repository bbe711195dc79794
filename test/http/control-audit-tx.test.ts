/**
 * Control-plane changes and their audit rows commit in one transaction (DESIGN §6, STYLE
 * "audit in the same transaction"): when the row cannot be written the change is not made, and
 * a store conflict the verb did not foresee (a lost race) is 409, not 503.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { deleteSpec } from "../../src/services/specs.js";
import { openRawDb, type RawDb } from "../audit/raw-db.js";
import { apiSpec, workflow } from "../store/fixtures.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("control-plane audit in the change's transaction (%s)", (backend) => {
  let t: TestGateway;
  let raw: RawDb;
  let hidden = false;
  beforeAll(async () => {
    t = await startTestGateway(backend);
    raw = openRawDb(t.config.database.url ?? "");
  });
  afterEach(async () => {
    if (hidden) await raw.run("alter table gateway_events_hidden rename to gateway_events");
    hidden = false;
  });
  afterAll(async () => {
    await raw?.close();
    await t?.close();
  });

  /** Makes every event insert fail (the table is gone) while the rest of the store works. */
  const breakEventInserts = async () => {
    await raw.run("alter table gateway_events rename to gateway_events_hidden");
    hidden = true;
  };
  const restoreEventInserts = async () => {
    await raw.run("alter table gateway_events_hidden rename to gateway_events");
    hidden = false;
  };
  const events = async (type: string) => await t.gw.store.listEvents({ tenantId: "*", type, limit: 1000 });

  it("a context create whose event cannot be written is 503 and leaves no context", async () => {
    const admin = t.adminToken();
    await breakEventInserts();
    const res = await t.request(
      "/v1/security-contexts",
      jsonInit("POST", { name: "tx-ctx", capabilities: [] }, admin),
    );
    expect(res.status).toBe(503);
    await restoreEventInserts();
    expect((await t.request("/v1/security-contexts/tx-ctx", jsonInit("GET", undefined, admin))).status).toBe(
      404,
    );
    expect(await t.gw.store.getSecurityContext("default", "tx-ctx")).toBeNull();
    expect((await events("ConfigChanged")).filter((e) => e.payload.includes("tx-ctx"))).toEqual([]);
    // With the table back, the same request succeeds and is recorded once.
    const again = await t.request(
      "/v1/security-contexts",
      jsonInit("POST", { name: "tx-ctx", capabilities: [] }, admin),
    );
    expect(again.status).toBe(201);
    expect((await events("ConfigChanged")).filter((e) => e.payload.includes("tx-ctx"))).toHaveLength(1);
  });

  it("a session create and a revocation whose events cannot be written change nothing", async () => {
    const admin = t.adminToken();
    const body = {
      execution_id: "ses-tx-1",
      sub: "agent-tx",
      security_context_name: "tx-ctx",
      public_key_b64: generateKeyPair().publicKeyB64,
    };
    await breakEventInserts();
    expect((await t.request("/v1/seal/sessions", jsonInit("POST", body, admin))).status).toBe(503);
    await restoreEventInserts();
    expect(await t.gw.store.getSession("ses-tx-1")).toBeNull();
    expect((await events("SessionCreated")).filter((e) => e.executionId === "ses-tx-1")).toEqual([]);

    expect((await t.request("/v1/seal/sessions", jsonInit("POST", body, admin))).status).toBe(201);
    await breakEventInserts();
    const revoke = await t.request("/v1/seal/sessions/ses-tx-1", jsonInit("DELETE", undefined, admin));
    expect(revoke.status).toBe(503);
    await restoreEventInserts();
    expect((await t.gw.store.getSession("ses-tx-1"))?.status).toBe("Active");
    expect((await events("SessionRevoked")).filter((e) => e.executionId === "ses-tx-1")).toEqual([]);
  });

  it("a spec delete that loses a race to a new workflow is 409 in_use, and nothing is recorded", async () => {
    const spec = apiSpec({ tenantId: "default", name: "tx-race-spec" });
    expect(await t.gw.store.insertSpec(spec)).toBe(true);
    // The window between the verb's in-use check and its delete: the check saw no workflow,
    // one was registered right after.
    expect(await t.gw.store.insertWorkflow(workflow(spec.id, { tenantId: "default" }))).toBe(true);
    const racing = {
      ...t.gw.services,
      store: { ...t.gw.services.store, countWorkflowsForSpec: async () => 0 },
    };
    const err = await deleteSpec({
      ctx: {
        actor: { kind: "operator", sub: "op", role: "admin", tenant: "*" },
        requestId: "req_race",
        deps: racing,
      },
      input: { id: spec.id },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: "CONFLICT", httpStatus: 409, details: { reason: "in_use" } });
    expect(await t.gw.store.getSpec(spec.id)).toEqual(spec);
    expect((await events("ApiSpecDeleted")).filter((e) => e.payload.includes(spec.id))).toEqual([]);
  });

  it("a workflow naming a spec deleted meanwhile is a store conflict: 409, not 503", async () => {
    const spec = apiSpec({ tenantId: "default", name: "tx-gone-spec" });
    await t.gw.store.insertSpec(spec);
    expect(await t.gw.store.deleteSpec(spec.id)).toBe(true);
    const err = await t.gw.store.insertWorkflow(workflow(spec.id, { tenantId: "default" })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "CONFLICT", httpStatus: 409, details: { reason: "conflict" } });
  });
});
