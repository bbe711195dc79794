/** Manifest parsing, validation (with the server's schemas) and planning, without a gateway. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffPaths } from "../../src/manifest/diff.js";
import type { LiveObject, LiveState } from "../../src/manifest/live.js";
import { MAX_DOCUMENTS, MAX_FILE_BYTES, parseManifestText, readManifests } from "../../src/manifest/parse.js";
import { planApply } from "../../src/manifest/plan.js";
import { formatProblem } from "../../src/manifest/types.js";
import { validateDocuments } from "../../src/manifest/validate.js";
import { tempDir } from "../cli/process.js";

/** A CliTool `spec` the server's definition schema accepts. */
const CLI_SPEC = `spec: {docker_image: "sha256:${"ab".repeat(32)}", allowed_subcommands: [status]}`;

const SPEC = `openapi: 3.0.4
info: {title: T, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /items:
    get:
      operationId: listItems
      responses: {"200": {description: ok}}
`;

function problemsOf(text: string, file = "m.yaml"): string[] {
  const parsed = parseManifestText(file, text);
  const checked = validateDocuments(parsed.docs);
  return [...parsed.problems, ...checked.problems].map(formatProblem);
}

const specDoc = `kind: ApiSpec
name: items
spec:
  inline_yaml: |
${SPEC.split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
`;

const workflowDoc = (extra = "") => `kind: Workflow
name: items.list
spec:
  description: list
  api_spec: items
  input_schema: {type: object}
  steps:
    - {name: list, operation_id: listItems, on_error: AbortWorkflow${extra}}
`;

describe("parsing", () => {
  it("reads a stream of documents and a list, numbering objects per file", () => {
    const stream = parseManifestText("a.yaml", "kind: Secret\nname: a\n---\nkind: Secret\nname: b\n");
    expect(stream.problems).toEqual([]);
    expect(stream.docs.map((d) => d.origin.index)).toEqual([1, 2]);
    const list = parseManifestText("b.json", '[{"kind":"Secret","name":"a"},{"kind":"Secret","name":"b"}]');
    expect(list.docs).toHaveLength(2);
  });

  it("malformed YAML is a problem with its line", () => {
    const p = problemsOf("kind: Secret\nname: [unclosed\n");
    expect(p[0]).toMatch(/^m\.yaml:\d+:\d+: /);
  });

  it("duplicate keys, merge keys and alias bombs are refused", () => {
    expect(problemsOf("kind: Secret\nname: a\nname: b\n")[0]).toMatch(/unique|duplicate/i);
    expect(problemsOf("base: &b {x: 1}\nkind: Secret\nname: a\nspec:\n  <<: *b\n").join("\n")).toContain(
      "merge keys",
    );
    const bomb = [
      "a: &a [x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c]",
    ];
    expect(problemsOf(`${bomb.join("\n")}\n`).join("\n")).toMatch(/alias/i);
  });

  it("an empty file holds no documents", () => {
    expect(problemsOf("# only a comment\n")).toEqual(["m.yaml: the file holds no documents"]);
  });

  describe("files", () => {
    const dir = tempDir("seal-manifest-");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("a directory means its *.yaml, *.yml and *.json files, sorted", () => {
      const d = join(dir, "many");
      mkdirSync(d);
      writeFileSync(join(d, "b.yml"), "kind: Secret\nname: b\n");
      writeFileSync(join(d, "a.json"), '{"kind":"Secret","name":"a"}');
      writeFileSync(join(d, "c.yaml"), "kind: Secret\nname: c\n");
      writeFileSync(join(d, "notes.txt"), "not a manifest");
      const r = readManifests([d]);
      expect(r.problems).toEqual([]);
      expect(r.docs.map((x) => x.origin.file.slice(d.length + 1))).toEqual(["a.json", "b.yml", "c.yaml"]);
    });

    it("an oversized file is refused unread", () => {
      const f = join(dir, "big.yaml");
      writeFileSync(f, `kind: Secret\nname: a\n#${"x".repeat(MAX_FILE_BYTES)}\n`);
      expect(readManifests([f]).problems[0]?.message).toMatch(/at most 4194304/);
    });

    it("too many documents are refused", () => {
      const f = join(dir, "many.yaml");
      writeFileSync(
        f,
        Array.from({ length: MAX_DOCUMENTS + 1 }, (_, i) => `kind: Secret\nname: k${i}\n`).join("---\n"),
      );
      expect(readManifests([f]).problems.map((p) => p.message)).toContain(
        `${MAX_DOCUMENTS + 1} documents; a manifest holds at most ${MAX_DOCUMENTS}`,
      );
    });

    it("invalid UTF-8 and missing paths are problems", () => {
      const f = join(dir, "latin1.yaml");
      writeFileSync(f, Buffer.from([0x6b, 0x3a, 0x20, 0xe9, 0x0a]));
      expect(readManifests([f]).problems[0]?.message).toContain("not valid UTF-8");
      expect(readManifests([join(dir, "nope")]).problems[0]?.message).toContain("no such file");
    });
  });
});

describe("validation", () => {
  it("a valid spec and workflow pass", () => {
    expect(problemsOf(`${specDoc}---\n${workflowDoc()}`)).toEqual([]);
  });

  it("unknown kind, missing name, missing spec and unknown document fields", () => {
    const p = problemsOf(
      "kind: Thing\nname: x\nspec: {}\n---\nkind: ApiSpec\n---\nkind: SecurityContext\nname: c\nlabels: {}\n",
    );
    expect(p).toContain(
      "m.yaml#1 (Thing x) kind: unknown kind: expected one of Secret, ApiSpec, Workflow, SecurityContext, CliTool",
    );
    expect(p).toContain("m.yaml#2 (ApiSpec) name: required: a non-empty string");
    expect(p).toContain(
      "m.yaml#3 (SecurityContext c) labels: unknown field (a document has kind, name and spec)",
    );
    expect(p).toContain("m.yaml#3 (SecurityContext c) spec: required: an object with the REST body's fields");
  });

  it("duplicate (kind, name) documents are refused, naming the first", () => {
    const p = problemsOf("kind: Secret\nname: a\n---\nkind: Secret\nname: a\n");
    expect(p).toEqual(['m.yaml#2 (Secret a): duplicate Secret "a" (first at m.yaml#1)']);
  });

  it("unknown fields and wrong types carry their field paths (the server's schemas)", () => {
    const p = problemsOf(
      "kind: SecurityContext\nname: c\nspec:\n  capabilities:\n    - {tool_pattern: 'x.*', rate_limt: {calls: 1}, rate_limit: {calls: 0, per_seconds: 1}}\n",
    );
    expect(p).toContain("m.yaml#1 (SecurityContext c) spec.capabilities[0].rate_limt: unknown field");
    expect(
      p.some((x) => x.startsWith("m.yaml#1 (SecurityContext c) spec.capabilities[0].rate_limit.calls: ")),
    ).toBe(true);
    const w = problemsOf(`${specDoc}---\n${workflowDoc().replace("AbortWorkflow", "explode")}`);
    expect(w[0]).toMatch(/^m\.yaml#2 \(Workflow items\.list\) spec\.steps\[0\]\.on_error: /);
    const s = problemsOf("kind: ApiSpec\nname: s\nspec: {source_url: 42}\n");
    expect(s[0]).toMatch(/^m\.yaml#1 \(ApiSpec s\) spec\.source_url: /);
  });

  it("spec.name must equal the document's name; tenant_id and api_spec_id are refused", () => {
    const p = problemsOf(
      "kind: SecurityContext\nname: c\nspec: {name: d, tenant_id: t, capabilities: []}\n---\n" +
        workflowDoc().replace("api_spec: items", "api_spec_id: spec_123"),
    );
    expect(p).toContain('m.yaml#1 (SecurityContext c) spec.name: must equal the document\'s name "c"');
    expect(p.some((x) => x.includes("spec.tenant_id: not allowed in a manifest"))).toBe(true);
    expect(p.some((x) => x.includes("spec.api_spec_id: a manifest names its spec by name"))).toBe(true);
    expect(p.some((x) => x.includes("spec.api_spec: required"))).toBe(true);
  });

  it("a workflow is checked against a spec in the same manifest", () => {
    const p = problemsOf(`${specDoc}---\n${workflowDoc().replace("listItems", "deleteEverything")}`);
    expect(p.join("\n")).toMatch(/\(Workflow items\.list\) spec\.steps\[0\]/);
  });

  it("an invalid inline OpenAPI document is located inside inline_yaml", () => {
    const p = problemsOf("kind: ApiSpec\nname: s\nspec:\n  inline_yaml: 'openapi: 2.0.0'\n");
    expect(p[0]).toMatch(/^m\.yaml#1 \(ApiSpec s\) spec\.inline_yaml/);
  });

  it("Secret documents with values are refused, and the value is never echoed", () => {
    const p = problemsOf(
      "kind: Secret\nname: a/b\nspec: {value: s3cr3t}\n---\nkind: Secret\nname: c\nvalue_b64: czNjcjN0\n---\nkind: Secret\nname: '../x'\n",
    );
    expect(p[0]).toContain("m.yaml#1 (Secret a/b) spec.value: inline secret values are refused");
    expect(p[1]).toContain("m.yaml#2 (Secret c) value_b64: inline secret values are refused");
    expect(p[2]).toContain("(Secret ../x) name: not a valid secret key");
    expect(p.join("\n")).not.toMatch(/s3cr3t|czNjcjN0/);
  });

  it("a workflow and a CLI tool may not share a tool name", () => {
    const p = problemsOf(`${workflowDoc()}---\nkind: CliTool\nname: items.list\n${CLI_SPEC}\n`);
    expect(p.join("\n")).toContain("the tool name is also used by Workflow");
  });
});

describe("diff", () => {
  it("reports leaf paths; arrays of unequal length at the array", () => {
    expect(diffPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } })).toEqual(["b.c[1]"]);
    expect(diffPaths({ s: [1] }, { s: [1, 2] })).toEqual(["s"]);
    expect(diffPaths({ a: null }, {})).toEqual(["a"]);
    expect(diffPaths({ x: 1 }, { x: 1 })).toEqual([]);
  });
});

describe("planning against a live state", () => {
  const objects = validateDocuments(
    parseManifestText("m.yaml", `${specDoc}---\n${workflowDoc()}`).docs,
  ).objects;
  const empty = (): LiveState => ({
    objects: { ApiSpec: [], Workflow: [], SecurityContext: [], CliTool: [] },
    secrets: new Map(),
    activeSessions: [],
  });

  it("creates what is missing, in dependency order", () => {
    const r = planApply(objects, empty(), { prune: false });
    expect(r.problems).toEqual([]);
    expect(r.steps.map((s) => `${s.action} ${s.kind}`)).toEqual(["create ApiSpec", "create Workflow"]);
  });

  it("a changed spec cannot be updated in place: a problem naming the fields", () => {
    const live = empty();
    live.objects.ApiSpec = [
      {
        id: "spec_1",
        name: "items",
        base_url: "https://other.example",
        source_url: null,
        credential_path: null,
        hash: "sha256:x",
        tenant_id: "default",
      },
    ];
    const r = planApply(objects.slice(0, 1), live, { prune: false });
    expect(r.problems.map(formatProblem)[0]).toMatch(
      /\(ApiSpec items\): differs from the live ApiSpec \(fields: base_url, hash\)/,
    );
  });

  it("a workflow whose spec is neither in the manifest nor live is a problem at spec.api_spec", () => {
    const r = planApply(objects.slice(1), empty(), { prune: false });
    expect(r.problems.map(formatProblem)).toEqual([
      'm.yaml#2 (Workflow items.list) spec.api_spec: no ApiSpec "items" in the manifest or on the gateway',
    ]);
  });

  it("prune refuses a spec still used by a live workflow, and a context with active sessions", () => {
    const live = empty();
    const ctxDoc = validateDocuments(
      parseManifestText("c.yaml", "kind: SecurityContext\nname: keep\nspec: {capabilities: []}\n").docs,
    ).objects;
    live.objects.ApiSpec = [{ id: "spec_old", name: "old", tenant_id: "default" }];
    live.objects.Workflow = [{ id: "wf_1", name: "uses.old", api_spec_id: "spec_old", tenant_id: "default" }];
    live.objects.SecurityContext = [{ name: "busy", tenant_id: "default" } as LiveObject];
    live.activeSessions = [{ execution_id: "ses_1", security_context_name: "busy" }];
    const r = planApply([...objects.slice(0, 1), ...ctxDoc], live, { prune: true });
    const p = r.problems.map(formatProblem);
    expect(p).toContain('(ApiSpec old): cannot prune: still used by workflow(s) "uses.old"');
    expect(p.join("\n")).toContain(
      '(SecurityContext busy): cannot prune: still used by 1 active session(s) "ses_1"',
    );
  });

  it("CliTool documents need the gateway's /v1/cli-tools", () => {
    const tools = validateDocuments(
      parseManifestText("t.yaml", `kind: CliTool\nname: git.status\n${CLI_SPEC}\n`).docs,
    ).objects;
    const live = empty();
    live.objects.CliTool = null;
    expect(planApply(tools, live, { prune: false }).problems.map(formatProblem)).toEqual([
      "t.yaml#1 (CliTool git.status): this gateway has no CLI-tool support (/v1/cli-tools not found)",
    ]);
  });

  it("objects of several tenants (an admin '*' token) are refused", () => {
    const live = empty();
    live.objects.SecurityContext = [
      { name: "a", tenant_id: "t1" },
      { name: "b", tenant_id: "t2" },
    ];
    expect(planApply(objects, live, { prune: true }).problems[0]?.message).toContain("several tenants");
  });
});
