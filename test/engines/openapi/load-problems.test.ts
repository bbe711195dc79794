import { describe, expect, it } from "vitest";
import { loadSpec, MAX_REPORTED_PROBLEMS } from "../../../src/engines/openapi/load-spec.js";
import { expectProblem, loadOk, loadProblems, minimalDoc } from "./helpers.js";

const ok = { "200": { description: "ok" } };

describe("loadSpec refuses bad specs with every problem and its JSONPath", () => {
  it("accepts the minimal document (the baseline of the cases below)", () => {
    const spec = loadOk({ inline_json: minimalDoc() });
    expect(spec.operations.map((o) => o.operationId)).toEqual(["getItem"]);
  });

  it("refuses Swagger 2.0 with a clear message", () => {
    const problems = loadProblems({
      inline_json: { swagger: "2.0", info: { title: "t", version: "1" }, paths: {} },
    });
    expect(problems).toEqual([
      { path: "$.swagger", message: expect.stringMatching(/2\.0 is not supported.*3\.0 or 3\.1/) },
    ]);
  });

  it.each([["2.0"], ["3.2.0"], ["3.1"], ["3.0.x"], ["4.0.0"], [" 3.0.0"]])(
    "refuses openapi %j",
    (version) => {
      expectProblem(
        loadProblems({ inline_json: minimalDoc({ openapi: version }) }),
        "$.openapi",
        /unsupported/,
      );
    },
  );

  it("refuses a non-string version and a missing one", () => {
    expectProblem(loadProblems({ inline_json: minimalDoc({ openapi: 3.1 }) }), "$.openapi", /unsupported/);
    const { openapi: _drop, ...rest } = minimalDoc();
    expectProblem(loadProblems({ inline_json: rest }), "$.openapi", /required/);
  });

  it("reports missing info and paths together", () => {
    const problems = loadProblems({ inline_json: { openapi: "3.1.0" } });
    expectProblem(problems, "$.info", /required/);
    expectProblem(problems, "$.paths", /required/);
    expect(problems).toHaveLength(2);
  });

  it("reports bad info fields and a non-object paths", () => {
    const problems = loadProblems({ inline_json: minimalDoc({ info: { title: 5 }, paths: [] }) });
    expectProblem(problems, "$.info.title", /string/);
    expectProblem(problems, "$.info.version", /string/);
    expectProblem(problems, "$.paths", /object/);
  });

  it("refuses a non-object document", () => {
    expect(loadProblems({ inline_json: "[1,2]" })).toEqual([
      { path: "$", message: expect.stringMatching(/object/) },
    ]);
    expect(loadProblems({ inline_yaml: "just a string" })).toEqual([
      { path: "$", message: expect.stringMatching(/object/) },
    ]);
  });

  it("refuses duplicate operationIds, naming both operations", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        paths: {
          "/a": { get: { operationId: "same", responses: ok } },
          "/b": { post: { operationId: "same", responses: ok }, put: { operationId: "", responses: ok } },
        },
      }),
    });
    expectProblem(
      problems,
      "$.paths['/b'].post.operationId",
      /duplicate operationId "same" \(also GET \/a\)/,
    );
    expectProblem(problems, "$.paths['/b'].put.operationId", /non-empty string/);
  });

  it("refuses parameters without name or in, and with an unknown in", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        paths: {
          "/a": {
            get: {
              parameters: [{ in: "query" }, { name: "x" }, { name: "y", in: "body" }, "nope"],
              responses: ok,
            },
          },
        },
      }),
    });
    expectProblem(problems, "$.paths['/a'].get.parameters[0].name", /name/);
    expectProblem(problems, "$.paths['/a'].get.parameters[1].in", /in:/);
    expectProblem(problems, "$.paths['/a'].get.parameters[2].in", /in:/);
    expectProblem(problems, "$.paths['/a'].get.parameters[3]", /object/);
  });

  it("refuses path parameters missing from the template and template variables without a parameter", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        paths: {
          "/users/{userId}/posts/{postId}": {
            parameters: [{ name: "userId", in: "path", required: true }],
            get: { parameters: [{ name: "other", in: "path", required: true }], responses: ok },
          },
        },
      }),
    });
    const at = "$.paths['/users/{userId}/posts/{postId}'].get";
    expectProblem(problems, `${at}.parameters`, /path parameter "other" is not in the path template/);
    expectProblem(problems, at, /path variable \{postId\} has no path parameter/);
  });

  it("refuses duplicate parameters in one list and malformed path templates", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        paths: {
          "/a": {
            get: {
              parameters: [
                { name: "q", in: "query" },
                { name: "q", in: "query" },
              ],
              responses: ok,
            },
          },
          "no-slash": {},
          "/b/{x": {},
          "/c/{x}/{x}": {},
          "/d#frag": {},
          "/e?q={v}": {},
        },
      }),
    });
    expectProblem(problems, "$.paths['/a'].get.parameters[1]", /duplicate query parameter "q"/);
    expectProblem(problems, "$.paths['no-slash']", /start with/);
    expectProblem(problems, "$.paths['/b/{x']", /unbalanced/);
    expectProblem(problems, "$.paths['/c/{x}/{x}']", /twice/);
    expectProblem(problems, "$.paths['/d#frag']", /#/);
    expectProblem(problems, "$.paths['/e?q={v}']", /query with variables/);
  });

  it("operation parameters override path-item parameters by name and location", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        paths: {
          "/a/{id}": {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              { name: "v", in: "query", schema: { type: "string" } },
            ],
            get: {
              operationId: "a",
              parameters: [
                { name: "v", in: "query", required: true, schema: { type: "integer" } },
                { name: "v", in: "header", schema: { type: "string" } },
                // Ignored by the OpenAPI rules: the gateway owns these headers.
                { name: "Authorization", in: "header" },
              ],
              responses: ok,
            },
          },
        },
      }),
    });
    const params = spec.byOperationId.get("a")?.parameters ?? [];
    expect(params.map((p) => [p.in, p.name, p.required, (p.schema as { type?: string })?.type])).toEqual([
      ["path", "id", true, "string"],
      ["query", "v", true, "integer"],
      ["header", "v", false, "string"],
    ]);
  });

  it("refuses security requirements naming undefined schemes, and bad schemes", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        security: [{ missing: [] }],
        components: {
          securitySchemes: {
            k1: { type: "apiKey", in: "body", name: "k" },
            k2: { type: "apiKey", in: "header", name: "X-Key\r\nEvil: 1" },
            k3: { type: "magic" },
            k4: { type: "http" },
          },
        },
      }),
    });
    expectProblem(problems, "$.security[0].missing", /not defined/);
    expectProblem(problems, "$.components.securitySchemes.k1.in", /apiKey/);
    expectProblem(problems, "$.components.securitySchemes.k2.name", /token/);
    expectProblem(problems, "$.components.securitySchemes.k3.type", /unknown/);
    expectProblem(problems, "$.components.securitySchemes.k4.scheme", /scheme/);
  });

  it("refuses serialization styles a location does not define", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        paths: {
          "/a/{id}": {
            get: {
              parameters: [
                { name: "id", in: "path", required: true, style: "form" },
                { name: "h", in: "header", style: "matrix" },
                { name: "q", in: "query", style: "label" },
              ],
              responses: ok,
            },
          },
        },
      }),
    });
    expectProblem(problems, "$.paths['/a/{id}'].get.parameters[0].style", /"form" is not defined for path/);
    expectProblem(problems, "$.paths['/a/{id}'].get.parameters[1].style", /header/);
    expectProblem(problems, "$.paths['/a/{id}'].get.parameters[2].style", /query/);
  });

  it("operation security overrides the root; an empty list means no authentication", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        security: [{ bearer: [] }],
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "Bearer", bearerFormat: "JWT" },
            basic: { type: "http", scheme: "basic" },
            key: { type: "apiKey", in: "query", name: "api_key" },
            cookie: { type: "apiKey", in: "cookie", name: "sid" },
            oidc: { type: "openIdConnect", openIdConnectUrl: "https://id.example.com/.well-known/x" },
            digest: { type: "http", scheme: "digest" },
            mtls: { type: "mutualTLS" },
          },
        },
        paths: {
          "/inherit": { get: { operationId: "inherit", responses: ok } },
          "/none": { get: { operationId: "none", security: [], responses: ok } },
          "/either": { get: { operationId: "either", security: [{ key: [] }, {}], responses: ok } },
        },
      }),
    });
    expect(spec.byOperationId.get("inherit")?.security).toEqual([{ bearer: [] }]);
    expect(spec.byOperationId.get("none")?.security).toEqual([]);
    expect(spec.byOperationId.get("either")?.security).toEqual([{ key: [] }, {}]);
    const injection = (name: string) => spec.securitySchemes.get(name)?.injection;
    expect(injection("bearer")).toEqual({ kind: "bearer" });
    expect(spec.securitySchemes.get("bearer")).toMatchObject({ scheme: "bearer", bearerFormat: "JWT" });
    expect(injection("basic")).toEqual({ kind: "basic" });
    expect(injection("key")).toEqual({ kind: "apiKey", in: "query", name: "api_key" });
    expect(injection("cookie")).toEqual({ kind: "apiKey", in: "cookie", name: "sid" });
    expect(injection("oidc")).toEqual({ kind: "bearer" });
    expect(injection("digest")).toMatchObject({ kind: "unsupported" });
    expect(injection("mtls")).toMatchObject({ kind: "unsupported" });
  });

  it("reports many problems at once, capped with a count", () => {
    const paths: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) paths[`/p${i}`] = { get: { operationId: "dup", responses: ok } };
    const result = loadSpec({ inline_json: minimalDoc({ paths }) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(result.problems.at(-1)?.message).toBe("and 99 more problems");
  });

  it("refuses input that names no source or several", () => {
    expect(loadProblems({})).toEqual([{ path: "$", message: expect.stringMatching(/exactly one/) }]);
    expect(loadProblems({ inline_json: minimalDoc(), inline_yaml: "a: 1" })).toEqual([
      { path: "$", message: expect.stringMatching(/exactly one/) },
    ]);
  });

  it("quotes hostile keys in problem paths on one line", () => {
    const problems = loadProblems({ inline_json: minimalDoc({ paths: { "x\n'evil": {} } }) });
    expect(problems[0]?.path).toBe("$.paths['x\\n\\'evil']");
  });
});
