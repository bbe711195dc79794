/**
 * `seal-gateway apply` (the real built CLI) against a real gateway process on SQLite:
 * create, idempotence, dry-run diffs that write nothing, updates, prune and its refusals,
 * every example file, and manifests with a bad document that must change nothing.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { packageRoot } from "../../src/paths.js";
import { type GatewayProcess, lastLine, runCli, startGateway, tempDir } from "./process.js";

const EXAMPLES = join(packageRoot(), "examples");

const SPEC = `openapi: 3.0.4
info: {title: Billing, version: "1"}
servers: [{url: "http://127.0.0.1:9/v1"}]
paths:
  /customers:
    get:
      operationId: listCustomers
      parameters: [{name: q, in: query, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /customers/{id}:
    get:
      operationId: getCustomer
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
`;

function billingManifest(opts: { description?: string; query?: string; spec?: string } = {}) {
  return [
    {
      kind: "ApiSpec",
      name: opts.spec ?? "billing",
      spec: { inline_yaml: SPEC, base_url: "http://127.0.0.1:9/v1" },
    },
    {
      kind: "Workflow",
      name: "billing.customers",
      spec: {
        description: opts.description ?? "All customers",
        api_spec: opts.spec ?? "billing",
        input_schema: { type: "object", properties: {}, additionalProperties: false },
        steps: [
          {
            name: "list",
            operation_id: "listCustomers",
            query_params: { q: opts.query ?? "all" },
            on_error: "fail",
          },
        ],
      },
    },
    {
      kind: "SecurityContext",
      name: "billing-readers",
      spec: { capabilities: [{ tool_pattern: "billing.*", rate_limit: { calls: 5, per_seconds: 60 } }] },
    },
  ];
}

describe("seal-gateway apply against a running gateway", () => {
  const dir = tempDir("seal-apply-");
  const env = { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8" };
  let gw: GatewayProcess;
  let admin = "";
  let cliEnv: Record<string, string> = {};

  const write = (name: string, docs: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(docs));
    return path;
  };
  const apply = async (args: string[], extraEnv: Record<string, string> = {}) =>
    await runCli(["apply", ...args], { env: { ...cliEnv, ...extraEnv }, cwd: dir });
  const get = async (path: string) => {
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${admin}` } });
    return (await res.json()) as Record<string, unknown>;
  };
  const names = async (path: string, key: string) =>
    ((await get(path))[key] as { name: string }[]).map((o) => o.name).sort();

  beforeAll(async () => {
    gw = await startGateway({ env, cwd: dir });
    const r = await runCli(["token", "--role", "admin"], { env, cwd: dir });
    admin = lastLine(r.stdout);
    // The CLI mints its own operator token from the same data dir (as `token` does).
    cliEnv = { ...env, SEAL_GATEWAY_URL: gw.url };
  });
  afterAll(async () => {
    await gw.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates every object, in dependency order, with one line each", async () => {
    const file = write("billing.json", billingManifest());
    const r = await apply(["-f", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "created ApiSpec billing",
      "created Workflow billing.customers",
      "created SecurityContext billing-readers",
    ]);
    expect(await names("/v1/workflows", "workflows")).toEqual(["billing.customers"]);
  });

  it("a second apply reports every object unchanged (also as JSON)", async () => {
    const file = write("billing.json", billingManifest());
    const r = await apply(["-f", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "unchanged ApiSpec billing",
      "unchanged Workflow billing.customers",
      "unchanged SecurityContext billing-readers",
    ]);
    const j = await apply(["-f", file, "--output", "json"]);
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout) as { ok: boolean; results: { outcome: string }[] };
    expect(report.ok).toBe(true);
    expect(report.results.map((x) => x.outcome)).toEqual(["unchanged", "unchanged", "unchanged"]);
  });

  it("--dry-run shows the changed field paths and writes nothing; apply then updates", async () => {
    const file = write("billing.json", billingManifest({ description: "Every customer", query: "every" }));
    const before = await get("/v1/workflows");
    const dry = await apply(["-f", file, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      "would update Workflow billing.customers (fields: description, steps[0].query_params.q)",
    );
    expect(dry.stdout).toContain("unchanged ApiSpec billing");
    expect(dry.stdout).toContain("nothing was changed");
    expect(await get("/v1/workflows")).toEqual(before);

    const r = await apply(["-f", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "updated Workflow billing.customers (fields: description, steps[0].query_params.q)",
    );
    const wf = ((await get("/v1/workflows")).workflows as { description: string }[])[0];
    expect(wf?.description).toBe("Every customer");
    expect((await apply(["-f", file])).stdout).toContain("unchanged Workflow billing.customers");
  });

  it("--prune refuses to delete a spec a live workflow still uses, naming the workflow", async () => {
    // Only specs are managed by this manifest: the live workflow stays and keeps `billing` in use.
    const file = write("other-spec.json", [billingManifest({ spec: "billing-v2" })[0]]);
    const r = await apply(["-f", file, "--prune"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '(ApiSpec billing): cannot prune: still used by workflow(s) "billing.customers"',
    );
    expect(await names("/v1/specs", "specs")).toEqual(["billing"]);
  });

  it("--prune deletes what the manifest no longer names, in reverse dependency order", async () => {
    const file = write("pruned.json", [
      billingManifest({ spec: "billing-v2" })[0],
      { ...billingManifest({ spec: "billing-v2" })[1], name: "billing.customers-v2" },
      {
        kind: "SecurityContext",
        name: "billing-v2",
        spec: { capabilities: [{ tool_pattern: "billing.*" }] },
      },
    ]);
    const dry = await apply(["-f", file, "--prune", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("would prune SecurityContext billing-readers");
    expect(await names("/v1/specs", "specs")).toEqual(["billing"]);
    const r = await apply(["-f", file, "--prune"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(-3)).toEqual([
      "pruned SecurityContext billing-readers",
      "pruned Workflow billing.customers",
      "pruned ApiSpec billing",
    ]);
    expect(await names("/v1/specs", "specs")).toEqual(["billing-v2"]);
    expect(await names("/v1/workflows", "workflows")).toEqual(["billing.customers-v2"]);
    expect(await names("/v1/security-contexts", "security_contexts")).toEqual(["billing-v2"]);
  });

  it("a manifest with one bad document among good ones changes nothing (exit 2, every problem located)", async () => {
    const before = [await get("/v1/specs"), await get("/v1/workflows"), await get("/v1/security-contexts")];
    const docs = billingManifest({ spec: "fresh" });
    const wf = docs[1] as { spec: { steps: { on_error: string }[] } };
    wf.spec.steps[0] = { ...(wf.spec.steps[0] as object), on_error: "explode" } as { on_error: string };
    const file = write("bad.json", [
      ...docs,
      { kind: "Secret", name: "x/token", spec: { value: "hunter2" } },
    ]);
    const r = await apply(["-f", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad.json#2 (Workflow billing.customers) spec.steps[0].on_error:");
    expect(r.stderr).toContain("bad.json#4 (Secret x/token) spec.value: inline secret values are refused");
    expect(r.stderr + r.stdout).not.toContain("hunter2");
    expect(r.stdout).toBe("");
    expect([await get("/v1/specs"), await get("/v1/workflows"), await get("/v1/security-contexts")]).toEqual(
      before,
    );
  });

  it("a missing Secret and a workflow naming an unknown spec are refused before anything is written", async () => {
    const file = write("refs.json", [
      { kind: "Secret", name: "nowhere/token" },
      { kind: "SecurityContext", name: "never-written", spec: { capabilities: [{ tool_pattern: "x.*" }] } },
      {
        ...billingManifest()[1],
        name: "orphan.tool",
        spec: { ...billingManifest()[1]?.spec, api_spec: "ghost" },
      },
    ]);
    const r = await apply(["-f", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refs.json#1 (Secret nowhere/token): secret "nowhere/token" does not exist');
    expect(r.stderr).toContain('refs.json#3 (Workflow orphan.tool) spec.api_spec: no ApiSpec "ghost"');
    expect(await names("/v1/security-contexts", "security_contexts")).not.toContain("never-written");
  });

  it("CliTool documents are created, then unchanged, then updated by name through /v1/cli-tools", async () => {
    const tool = (description: string) => ({
      kind: "CliTool",
      name: "git.status",
      spec: {
        description,
        docker_image: `sha256:${"ab".repeat(32)}`,
        allowed_subcommands: ["status"],
        argv_profile: "git",
        // read_only is left to its default: the re-apply must still be "unchanged".
        mounts: [{ host_path: "/srv/repos/app", container_path: "/repo" }],
      },
    });
    const file = write("cli.json", [tool("git status")]);
    const first = await apply(["-f", file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("created CliTool git.status");
    expect(await names("/v1/cli-tools", "cli_tools")).toContain("git.status");
    expect((await apply(["-f", file])).stdout).toContain("unchanged CliTool git.status");
    write("cli.json", [tool("git status, read-only")]);
    const third = await apply(["-f", file]);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain("updated CliTool git.status (fields: description)");
    expect((await apply(["-f", file])).stdout).toContain("unchanged CliTool git.status");
  });

  it("an explicit --token is used (a viewer token cannot write: exit 1 with the gateway's message)", async () => {
    const viewer = lastLine((await runCli(["token", "--role", "viewer"], { env, cwd: dir })).stdout);
    const file = write("viewer.json", [
      { kind: "SecurityContext", name: "by-viewer", spec: { capabilities: [{ tool_pattern: "x.*" }] } },
    ]);
    const r = await apply(["-f", file, "--token", viewer]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/POST SecurityContext by-viewer: HTTP 403/);
  });

  it("usage errors exit 2", async () => {
    expect((await apply([])).code).toBe(2);
    expect((await apply(["-f", dir, "--output", "yaml"])).code).toBe(2);
    expect((await apply(["-f", join(dir, "missing.yaml")])).code).toBe(2);
  });
});

describe("every file in examples/ applies to a running gateway", () => {
  const dir = tempDir("seal-apply-examples-");
  const env = { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8" };
  let gw: GatewayProcess;
  let admin = "";
  const files = readdirSync(EXAMPLES)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();

  beforeAll(async () => {
    gw = await startGateway({ env, cwd: dir });
    admin = lastLine((await runCli(["token", "--role", "admin"], { env, cwd: dir })).stdout);
    // The secrets the examples declare are written first, as an admin would (values never in manifests).
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(join(EXAMPLES, file), "utf8"))) {
        const d = doc.toJS() as { kind?: string; name?: string } | null;
        if (d?.kind !== "Secret") continue;
        const res = await fetch(`${gw.url}/v1/secrets/${d.name}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          body: JSON.stringify({ value: "example-value" }),
        });
        expect(res.status).toBe(201);
      }
    }
  });
  afterAll(async () => {
    await gw.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the examples", () => {
    expect(files).toEqual(expect.arrayContaining(["petstore.yaml", "quickstart.yaml"]));
  });

  it.each(files)("%s applies, then reports everything unchanged", async (file) => {
    const copy = join(dir, "examples");
    mkdirSync(copy, { recursive: true });
    copyFileSync(join(EXAMPLES, file), join(copy, file));
    const opts = { env: { ...env, SEAL_GATEWAY_URL: gw.url }, cwd: dir };
    const first = await runCli(["apply", "-f", join(copy, file)], opts);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^(created|exists) /m);
    const second = await runCli(["apply", "-f", join(copy, file)], opts);
    expect(second.code, second.stderr).toBe(0);
    for (const l of second.stdout.trim().split("\n")) expect(l).toMatch(/^(unchanged|exists) /);
  });

  it("quickstart allows exactly system.whoami and system.echo", async () => {
    const res = await fetch(`${gw.url}/v1/security-contexts/quickstart`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const ctx = (await res.json()) as { capabilities: { tool_pattern: string }[] };
    expect(ctx.capabilities.map((c) => c.tool_pattern)).toEqual(["system.whoami", "system.echo"]);
  });
});
