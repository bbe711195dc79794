/**
 * Registering CLI tools (/v1/cli-tools) on both dialects: the definition rules (pinned images,
 * tags only in dev mode with a warning, the timeout ceiling, absolute normalized mounts), one
 * name across tool kinds, changes audited, and the listing shape manifests read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, events } from "../authorization/support.js";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

const IMAGE = `sha256:${"ab".repeat(32)}`;
const DIGEST = `registry.example/jq@sha256:${"cd".repeat(32)}`;

const MINI_SPEC = {
  openapi: "3.1.0",
  info: { title: "reg", version: "1" },
  servers: [{ url: "https://reg.example.com" }],
  paths: { "/things": { get: { operationId: "listThings", responses: { "200": { description: "ok" } } } } },
};

type View = { id: string; name: string; hash: string; warnings?: string[]; [k: string]: unknown };

function jq(over: Record<string, unknown> = {}) {
  return { name: "jq", docker_image: IMAGE, allowed_subcommands: [".", "-c"], argv_profile: "jq", ...over };
}

async function post(t: TestGateway, body: unknown, token = t.operatorToken("operator")) {
  return await t.request("/v1/cli-tools", jsonInit("POST", body, token));
}

async function problemsOf(res: Response): Promise<string[]> {
  const body = await expectError(res, 400, "invalid_body");
  const problems = (body.error.details as { problems?: { path: string }[] }).problems ?? [];
  return problems.map((p) => p.path);
}

/** Registers a spec and returns a maker of workflow bodies on it (the other tool kind). */
async function workflowFactory(t: TestGateway, specName: string) {
  const spec = await expectJson<{ id: string }>(
    await t.request(
      "/v1/specs",
      jsonInit("POST", { name: specName, inline_json: MINI_SPEC }, t.adminToken()),
    ),
    201,
  );
  return (name: string) => ({
    name,
    description: "a workflow",
    input_schema: { type: "object" },
    api_spec_id: spec.id,
    steps: [{ name: "list", operation_id: "listThings", on_error: "AbortWorkflow" }],
  });
}

for (const backend of BACKENDS) {
  describe(`CLI tool registration (${backend})`, () => {
    let t: TestGateway;
    let prod: TestGateway;
    beforeAll(async () => {
      t = await startTestGateway(backend);
      prod = await startTestGateway(backend, { SEAL_GATEWAY_DEV_MODE: "false" });
    });
    afterAll(async () => {
      await t?.close();
      await prod?.close();
    });

    it("registers, reads by id and by name, lists, updates and deletes, each change audited", async () => {
      const created = await expectJson<View>(
        await post(prod, jq({ name: "crud.jq", description: "v1" })),
        201,
      );
      expect(created.id).toMatch(/^clt_/);
      expect(created).toMatchObject({ name: "crud.jq", docker_image: IMAGE, tenant_id: "default" });
      expect(created.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(created.warnings).toBeUndefined();
      const viewer = prod.operatorToken("viewer");
      expect(
        await expectJson(await prod.request(`/v1/cli-tools/${created.id}`, { headers: bearer(viewer) }), 200),
      ).toEqual(created);
      expect(
        await expectJson(await prod.request("/v1/cli-tools/crud.jq", { headers: bearer(viewer) }), 200),
      ).toEqual(created);
      const list = await expectJson<{ cli_tools: View[] }>(
        await prod.request("/v1/cli-tools", { headers: bearer(viewer) }),
        200,
      );
      expect(list.cli_tools.map((c) => c.name)).toContain("crud.jq");

      const op = prod.operatorToken("operator");
      const updated = await expectJson<View>(
        await prod.request(
          `/v1/cli-tools/${created.id}`,
          jsonInit("PUT", jq({ name: "crud.jq", description: "v2" }), op),
        ),
        200,
      );
      expect(updated).toMatchObject({ id: created.id, description: "v2" });
      expect(updated.hash).not.toBe(created.hash);
      // By name, as `seal-gateway apply` addresses it.
      await expectJson(
        await prod.request("/v1/cli-tools/crud.jq", jsonInit("PUT", jq({ name: "crud.jq" }), op)),
        200,
      );
      // A tool cannot be renamed.
      await expectError(
        await prod.request(`/v1/cli-tools/${created.id}`, jsonInit("PUT", jq({ name: "other" }), op)),
        400,
        "invalid_body",
      );
      expect(
        await expectJson(
          await prod.request(`/v1/cli-tools/${created.id}`, { method: "DELETE", headers: bearer(op) }),
          200,
        ),
      ).toEqual({ status: "success", id: created.id });
      await expectError(
        await prod.request(`/v1/cli-tools/${created.id}`, { headers: bearer(viewer) }),
        404,
        "not_found",
      );
      await expectError(
        await prod.request(`/v1/cli-tools/${created.id}`, { method: "DELETE", headers: bearer(op) }),
        404,
        "not_found",
      );

      const rows = (await events(prod, { tool: "crud.jq" })).filter((e) =>
        e.event_type.startsWith("CliTool"),
      );
      expect(rows.map((e) => e.event_type)).toEqual([
        "CliToolRegistered",
        "CliToolUpdated",
        "CliToolUpdated",
        "CliToolDeleted",
      ]);
      expect(rows[0]?.payload).toMatchObject({
        cli_tool_id: created.id,
        hash: created.hash,
        docker_image: IMAGE,
      });
      expect(rows[0]?.stage).toBe("control");
    });

    it("accepts a registry digest and a local image id; a tag only in dev mode, with a warning", async () => {
      await expectJson(await post(prod, jq({ name: "pin.digest", docker_image: DIGEST })), 201);
      expect(
        await problemsOf(await post(prod, jq({ name: "pin.tag", docker_image: "seal-test/jq:latest" }))),
      ).toEqual(["docker_image"]);
      expect(
        await problemsOf(await post(prod, jq({ name: "pin.bare", docker_image: "seal-test/jq" }))),
      ).toEqual(["docker_image"]);
      const dev = await expectJson<View>(
        await post(t, jq({ name: "dev.tag", docker_image: "seal-test/jq:latest" })),
        201,
      );
      expect(dev.warnings).toHaveLength(1);
      expect(dev.warnings?.[0]).toContain("dev_mode");
      expect(
        t.logs.some((l) => l.includes("cli tool registered with a warning") && l.includes("dev.tag")),
      ).toBe(true);
      const [row] = (await events(t, { tool: "dev.tag" })).filter(
        (e) => e.event_type === "CliToolRegistered",
      );
      expect(row?.payload.warnings).toEqual(dev.warnings);
    });

    it("refuses a timeout over 300 s, relative or unnormalized mounts, and reserved names", async () => {
      expect(await problemsOf(await post(prod, jq({ name: "slow", default_timeout_seconds: 301 })))).toEqual([
        "default_timeout_seconds",
      ]);
      await expectJson(await post(prod, jq({ name: "slow-ok", default_timeout_seconds: 300 })), 201);
      for (const host_path of ["repo", "./repo", "/srv/../etc", "/srv//repo", "/srv/repo/"]) {
        const res = await post(
          prod,
          jq({ name: "mounted", mounts: [{ host_path, container_path: "/repo" }] }),
        );
        expect(await problemsOf(res), host_path).toEqual(["mounts.0.host_path"]);
      }
      const badSchema = await problemsOf(
        await post(prod, jq({ name: "schema", args_schema: { type: "array", wat: 1 } })),
      );
      expect(badSchema).toHaveLength(1);
      expect(badSchema[0]).toMatch(/^args_schema/);
      await expectJson(
        await post(prod, jq({ name: "schema-ok", args_schema: { type: "array", maxItems: 2 } })),
        201,
      );
      expect(await problemsOf(await post(prod, jq({ name: "explorer" })))).toEqual(["name"]);
      expect(await problemsOf(await post(prod, jq({ name: "system.jq" })))).toEqual(["name"]);
      expect(await problemsOf(await post(prod, jq({ name: "clt_lookalike" })))).toEqual(["name"]);
      expect(await problemsOf(await post(prod, jq({ name: "ok", surprise: 1 })))).toEqual(["surprise"]);
      // Viewer may not register.
      await expectError(
        await post(prod, jq({ name: "by-viewer" }), prod.operatorToken("viewer")),
        403,
        "wrong_role",
      );
    });

    it("keeps one name per tenant across tool kinds: 409 both ways, and for a second CLI tool", async () => {
      const admin = prod.adminToken();
      const workflow = await workflowFactory(prod, "kinds-spec");
      await expectJson(
        await prod.request("/v1/workflows", jsonInit("POST", workflow("shared.wf"), admin)),
        201,
      );
      await expectError(await post(prod, jq({ name: "shared.wf" })), 409, "exists");
      await expectJson(await post(prod, jq({ name: "shared.cli" })), 201);
      await expectError(
        await prod.request("/v1/workflows", jsonInit("POST", workflow("shared.cli"), admin)),
        409,
        "exists",
      );
      await expectError(await post(prod, jq({ name: "shared.cli" })), 409, "exists");
      // Another tenant has its own namespace.
      await expectJson(await post(prod, jq({ name: "shared.cli", tenant_id: "tenant-z" }), admin), 201);
      const list = await expectJson<{ cli_tools: View[] }>(
        await prod.request("/v1/cli-tools?tenant_id=tenant-z", { headers: bearer(admin) }),
        200,
      );
      expect(list.cli_tools.map((c) => `${String(c.tenant_id)}/${c.name}`)).toEqual(["tenant-z/shared.cli"]);
    });

    it("holds the name across kinds in the database: a race of two kinds for one name stores one", async () => {
      const admin = prod.adminToken();
      const workflow = await workflowFactory(prod, "race-spec");
      for (let i = 0; i < 8; i++) {
        const name = `race${"abcdefgh"[i]}.jq`;
        const answers = await Promise.all([
          prod.request("/v1/workflows", jsonInit("POST", workflow(name), admin)),
          post(prod, jq({ name })),
        ]);
        expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
        const lost = answers.find((r) => r.status === 409);
        if (!lost) throw new Error("no registration lost the race");
        const refusal = (await lost.json()) as { error: { details: { reason: string } } };
        expect(refusal.error.details.reason).toBe("exists");
        const held =
          Number((await prod.gw.store.getWorkflowByName("default", name)) !== null) +
          Number((await prod.gw.store.getCliToolByName("default", name)) !== null);
        expect(held).toBe(1);
      }
      // The store itself refuses, whatever the verbs checked before: a CLI tool row under a
      // workflow's name is not inserted.
      const now = Date.now();
      const row = { tenantId: "default", document: "{}", hash: "h", createdAt: now, updatedAt: now };
      await expectJson(
        await prod.request("/v1/workflows", jsonInit("POST", workflow("held.wf"), admin)),
        201,
      );
      expect(await prod.gw.store.insertCliTool({ ...row, id: "clt_direct", name: "held.wf" })).toBe(false);
      expect(await prod.gw.store.getCliTool("clt_direct")).toBeNull();
      // Deleting releases the name for the other kind.
      const cli = await expectJson<{ id: string }>(await post(prod, jq({ name: "released" })), 201);
      await expectError(
        await prod.request("/v1/workflows", jsonInit("POST", workflow("released"), admin)),
        409,
        "exists",
      );
      const del = await prod.request(`/v1/cli-tools/${cli.id}`, { method: "DELETE", headers: bearer(admin) });
      expect(del.status).toBeLessThan(300);
      await expectJson(
        await prod.request("/v1/workflows", jsonInit("POST", workflow("released"), admin)),
        201,
      );
    });
  });
}
