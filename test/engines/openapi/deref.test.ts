import { describe, expect, it } from "vitest";
import { parseLocalRef } from "../../../src/engines/openapi/json-pointer.js";
import type { IndexedSpec } from "../../../src/engines/openapi/types.js";
import { expectProblem, loadOk, loadProblems, minimalDoc } from "./helpers.js";

const ok = { "200": { description: "ok" } };

/** A spec whose single operation `op` takes a JSON body with the given schema. */
function withBody(schema: unknown, schemas: Record<string, unknown>, openapi = "3.1.0") {
  return minimalDoc({
    openapi,
    paths: {
      "/x": {
        post: {
          operationId: "op",
          requestBody: { content: { "application/json": { schema } } },
          responses: ok,
        },
      },
    },
    components: { schemas },
  });
}

function bodySchema(spec: IndexedSpec): Record<string, unknown> {
  return spec.byOperationId.get("op")?.requestBody?.content["application/json"]?.schema as Record<
    string,
    unknown
  >;
}

describe("JSON Pointer parsing (RFC 6901)", () => {
  it("unescapes ~1 and ~0 in that order, after percent-decoding", () => {
    expect(parseLocalRef("#/paths/~1a~1{id}/get")).toEqual({ ok: true, tokens: ["paths", "/a/{id}", "get"] });
    expect(parseLocalRef("#/a~01")).toEqual({ ok: true, tokens: ["a~1"] });
    expect(parseLocalRef("#/a%20b/%7Bx%7D")).toEqual({ ok: true, tokens: ["a b", "{x}"] });
    expect(parseLocalRef("#")).toEqual({ ok: true, tokens: [] });
    expect(parseLocalRef("#/")).toEqual({ ok: true, tokens: [""] });
  });

  it.each([
    "#/a~2",
    "#/a~",
    "#a",
    "#/%E0%A4%A",
    "https://evil.example/x.json#/a",
    "other.yaml",
    "./x#/a",
    "//h/x",
  ])("refuses %j", (ref) => {
    expect(parseLocalRef(ref).ok).toBe(false);
  });
});

describe("local $ref dereferencing", () => {
  it("resolves escaped pointers into components, paths and arrays", () => {
    const spec = loadOk({
      inline_json: withBody(
        {
          type: "object",
          properties: {
            slash: { $ref: "#/components/schemas/a~1b" },
            tilde: { $ref: "#/components/schemas/c~0d" },
            spaced: { $ref: "#/components/schemas/with%20space" },
            item: { $ref: "#/components/schemas/list/items/1" },
          },
        },
        {
          "a/b": { type: "string" },
          "c~d": { type: "integer" },
          "with space": { type: "boolean" },
          list: { items: [{ type: "null" }, { type: "number" }] },
        },
      ),
    });
    expect(bodySchema(spec).properties).toEqual({
      slash: { type: "string" },
      tilde: { type: "integer" },
      spaced: { type: "boolean" },
      item: { type: "number" },
    });
  });

  it("resolves $refs for parameters, request bodies, responses and path items", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        openapi: "3.1.0",
        paths: { "/p/{id}": { $ref: "#/components/pathItems/P" } },
        components: {
          pathItems: {
            P: {
              get: {
                operationId: "p",
                parameters: [{ $ref: "#/components/parameters/Id" }],
                requestBody: { $ref: "#/components/requestBodies/B" },
                responses: { default: { $ref: "#/components/responses/R" } },
              },
            },
          },
          parameters: { Id: { name: "id", in: "path", required: true, schema: { type: "integer" } } },
          requestBodies: { B: { required: true, content: { "text/plain": {} } } },
          responses: {
            R: { description: "any", content: { "application/json": { schema: { type: "object" } } } },
          },
        },
      }),
    });
    const op = spec.byOperationId.get("p");
    expect(op?.pathTemplate).toBe("/p/{id}");
    expect(op?.parameters.map((p) => [p.name, p.in])).toEqual([["id", "path"]]);
    expect(op?.requestBody).toEqual({ required: true, content: { "text/plain": { schema: undefined } } });
    expect(op?.responses.default?.description).toBe("any");
  });

  it("refuses remote $refs and never fetches them", () => {
    const problems = loadProblems({
      inline_json: withBody(
        {
          properties: {
            a: { $ref: "https://evil.example/schema.json" },
            b: { $ref: "other.yaml#/Pet" },
            c: { $ref: "file:///etc/passwd" },
          },
        },
        {},
      ),
    });
    const at = "$.paths['/x'].post.requestBody.content['application/json'].schema.properties";
    expectProblem(problems, `${at}.a['$ref']`, /remote \$ref is not supported/);
    expectProblem(problems, `${at}.b['$ref']`, /remote \$ref is not supported/);
    expectProblem(problems, `${at}.c['$ref']`, /remote \$ref is not supported/);
  });

  it("refuses dangling, malformed and inherited-property references", () => {
    const problems = loadProblems({
      inline_json: withBody(
        {
          properties: {
            a: { $ref: "#/components/schemas/Missing" },
            b: { $ref: "#/components/schemas/x~2" },
            c: { $ref: "#/constructor" },
            d: { $ref: "#/__proto__" },
            e: { $ref: "#/components/schemas/list/items/01" },
          },
        },
        { list: { items: [{}, {}] } },
      ),
    });
    const at = "$.paths['/x'].post.requestBody.content['application/json'].schema.properties";
    expectProblem(problems, `${at}.a['$ref']`, /does not exist/);
    expectProblem(problems, `${at}.b['$ref']`, /invalid "~" escape/);
    expectProblem(problems, `${at}.c['$ref']`, /does not exist/);
    expectProblem(problems, `${at}.d['$ref']`, /does not exist/);
    expectProblem(problems, `${at}.e['$ref']`, /does not exist/);
  });

  it("refuses a chain of references that never reaches a value", () => {
    const problems = loadProblems({
      inline_json: withBody(
        { $ref: "#/components/schemas/A" },
        { A: { $ref: "#/components/schemas/B" }, B: { $ref: "#/components/schemas/A" } },
      ),
    });
    expect(problems.some((p) => /loops without reaching a value/.test(p.message))).toBe(true);
  });

  it("a self-referencing schema loads as a cyclic graph, without hanging", () => {
    const spec = loadOk({
      inline_json: withBody(
        { $ref: "#/components/schemas/Node" },
        {
          Node: {
            type: "object",
            properties: { children: { type: "array", items: { $ref: "#/components/schemas/Node" } } },
          },
        },
      ),
    });
    const node = bodySchema(spec);
    const children = node.properties as { children: { items: unknown } };
    expect(children.children.items).toBe(node);
    // The stored document keeps the $ref and serializes.
    expect(JSON.stringify(spec.document)).toContain("#/components/schemas/Node");
  });

  it("mutually recursive schemas share one object per schema", () => {
    const spec = loadOk({
      inline_json: withBody(
        { $ref: "#/components/schemas/A" },
        {
          A: { type: "object", properties: { b: { $ref: "#/components/schemas/B" } } },
          B: { type: "object", properties: { a: { $ref: "#/components/schemas/A" } } },
        },
      ),
    });
    const a = bodySchema(spec) as { properties: { b: { properties: { a: unknown } } } };
    expect(a.properties.b.properties.a).toBe(a);
  });

  it("a long chain of references neither overflows the stack nor copies", () => {
    const schemas: Record<string, unknown> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      schemas[`S${i}`] = {
        type: "object",
        properties: { next: { $ref: `#/components/schemas/S${(i + 1) % n}` } },
      };
    }
    const started = performance.now();
    const spec = loadOk({ inline_json: withBody({ $ref: "#/components/schemas/S0" }, schemas) });
    expect(performance.now() - started).toBeLessThan(5_000);
    let node = bodySchema(spec);
    for (let i = 0; i < n; i++) node = (node.properties as { next: Record<string, unknown> }).next;
    expect(node).toBe(bodySchema(spec));
  });

  it("does not resolve $refs inside examples, defaults, enums, const values or extensions", () => {
    const literal = { $ref: "#/$defs/not-here" };
    const spec = loadOk({
      inline_json: withBody(
        {
          type: "object",
          example: literal,
          examples: [literal],
          default: literal,
          const: literal,
          enum: [literal],
          "x-vendor": literal,
          properties: {
            // Inside a name map, "default" and "example" are property names, and resolved.
            default: { $ref: "#/components/schemas/Str" },
            example: { $ref: "#/components/schemas/Str" },
          },
        },
        { Str: { type: "string" } },
      ),
    });
    const schema = bodySchema(spec);
    for (const key of ["example", "default", "const", "x-vendor"]) expect(schema[key]).toEqual(literal);
    expect(schema.examples).toEqual([literal]);
    expect(schema.enum).toEqual([literal]);
    expect(schema.properties).toEqual({ default: { type: "string" }, example: { type: "string" } });
  });

  it("in 3.1 a $ref with sibling keywords becomes allOf; in 3.0 the siblings are ignored", () => {
    const schemas = { Base: { type: "object", properties: { id: { type: "integer" } } } };
    const body = { $ref: "#/components/schemas/Base", description: "d", required: ["id"] };
    const v31 = bodySchema(loadOk({ inline_json: withBody(body, schemas) }));
    expect(v31).toEqual({ required: ["id"], allOf: [schemas.Base] });
    const v30 = bodySchema(loadOk({ inline_json: withBody(body, schemas, "3.0.3") }));
    expect(v30).toEqual(schemas.Base);
  });
});
