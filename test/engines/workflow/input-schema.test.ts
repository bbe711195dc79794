import { describe, expect, it } from "vitest";
import { compileInputSchema, type InputValidator } from "../../../src/engines/workflow/input-schema.js";

function validator(schema: unknown): InputValidator {
  const c = compileInputSchema(schema);
  if (!c.ok) throw new Error(`schema refused: ${JSON.stringify(c.problems)}`);
  return c.validate;
}

function paths(schema: unknown, value: unknown): string[] {
  return validator(schema)(value).map((p) => p.path);
}

describe("compileInputSchema refuses what it would not enforce", () => {
  const refused: [string, unknown, string][] = [
    ["an unknown keyword", { type: "object", dependentSchemas: {} }, "$.dependentSchemas"],
    ["a misspelt keyword", { type: "object", requried: ["a"] }, "$.requried"],
    ["an unknown type", { type: "strin" }, "$.type"],
    ["a remote $ref", { $ref: "https://example.com/schema.json" }, "$['$ref']"],
    ["an anchor $ref", { $ref: "#foo" }, "$['$ref']"],
    ["a dangling $ref", { $ref: "#/$defs/missing" }, "$['$ref']"],
    ["a $ref with a bad escape", { $ref: "#/%E0%A4%A" }, "$['$ref']"],
    ["a nested $id", { properties: { a: { $id: "x" } } }, "$.properties.a['$id']"],
    ["an invalid pattern", { type: "string", pattern: "(" }, "$.pattern"],
    ["an invalid patternProperties key", { patternProperties: { "[": {} } }, "$.patternProperties['[']"],
    ["a negative minLength", { minLength: -1 }, "$.minLength"],
    ["a fractional maxItems", { maxItems: 1.5 }, "$.maxItems"],
    ["multipleOf 0", { multipleOf: 0 }, "$.multipleOf"],
    ["required with duplicates", { required: ["a", "a"] }, "$.required"],
    ["an empty anyOf", { anyOf: [] }, "$.anyOf"],
    ["a schema that is a string", { properties: { a: "string" } }, "$.properties.a"],
    ["an empty enum", { enum: [] }, "$.enum"],
  ];
  for (const [label, schema, path] of refused) {
    it(`refuses ${label}`, () => {
      const c = compileInputSchema(schema);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.problems.map((p) => p.path)).toContain(path);
    });
  }

  it("refuses a schema nested too deeply", () => {
    let schema: unknown = { type: "string" };
    for (let i = 0; i < 100; i++) schema = { properties: { a: schema } };
    expect(compileInputSchema(schema).ok).toBe(false);
  });

  it("accepts annotations and x- extensions", () => {
    expect(
      compileInputSchema({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: "t",
        description: "d",
        examples: [{}],
        "x-internal": true,
        properties: { a: { type: "string", format: "email", default: "x", deprecated: true } },
      }).ok,
    ).toBe(true);
  });
});

describe("validation", () => {
  it("enforces required names that have no properties entry", () => {
    // z.fromJSONSchema lets {} through here; this validator must not.
    expect(paths({ type: "object", required: ["a"] }, {})).toEqual(["$.a"]);
  });

  it("enforces type, enum, const and the numeric keywords", () => {
    const schema = {
      type: "object",
      properties: {
        i: { type: "integer", minimum: 1, maximum: 10 },
        n: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
        m: { type: "number", multipleOf: 0.1 },
        e: { enum: ["a", 1, null, { k: [1] }] },
        c: { const: { x: 1 } },
        t: { type: ["string", "null"] },
      },
    };
    const v = validator(schema);
    expect(v({ i: 5, n: 0.5, m: 0.3, e: { k: [1] }, c: { x: 1 }, t: null })).toEqual([]);
    expect(v({ i: 5.5 }).map((p) => p.path)).toEqual(["$.i"]);
    expect(v({ i: 0, n: 1, m: 0.35, e: "b", c: { x: 2 }, t: 1 }).map((p) => p.path)).toEqual([
      "$.i",
      "$.n",
      "$.m",
      "$.e",
      "$.c",
      "$.t",
    ]);
  });

  it("counts string length in code points and matches patterns unanchored", () => {
    const v = validator({ type: "string", minLength: 2, maxLength: 2, pattern: "b" });
    expect(v("😀b")).toEqual([]);
    expect(v("ab")).toEqual([]);
    expect(v("ac").map((p) => p.message)).toEqual(['must match the pattern "b"']);
    expect(v("abc")).toHaveLength(1);
  });

  it("checks arrays: items, prefixItems, lengths, uniqueness, contains", () => {
    const v = validator({
      type: "array",
      prefixItems: [{ type: "string" }],
      items: { type: "integer" },
      minItems: 1,
      maxItems: 4,
      uniqueItems: true,
      contains: { const: 7 },
    });
    expect(v(["x", 7])).toEqual([]);
    expect(paths({ type: "array", items: { type: "integer" } }, [1, "2", 3.5])).toEqual(["$[1]", "$[2]"]);
    expect(v(["x", 7, 7]).map((p) => p.path)).toEqual(["$[2]"]);
    expect(v(["x", 1])).toHaveLength(1);
    expect(v([])).toHaveLength(2);
  });

  it("checks objects: additionalProperties, patternProperties, propertyNames, counts", () => {
    const schema = {
      type: "object",
      properties: { a: { type: "string" } },
      patternProperties: { "^x-": { type: "integer" } },
      additionalProperties: false,
      propertyNames: { maxLength: 5 },
      maxProperties: 3,
    };
    expect(paths(schema, { a: "s", "x-1": 1 })).toEqual([]);
    expect(paths(schema, { a: "s", "x-1": "no", b: 1 })).toEqual(["$['x-1']", "$.b"]);
    expect(paths(schema, { "x-123456": 1 })).toEqual(["$['x-123456']"]);
    expect(paths({ additionalProperties: { type: "number" } }, { q: "s" })).toEqual(["$.q"]);
  });

  it("treats keys named like Object.prototype members as ordinary keys", () => {
    const schema = {
      type: "object",
      required: ["constructor", "__proto__"],
      additionalProperties: false,
      properties: { constructor: { type: "string" }, ["__proto__"]: { type: "string" } },
    };
    expect(paths(schema, {})).toEqual(["$.constructor", "$.__proto__"]);
    expect(paths(schema, JSON.parse('{"constructor": "a", "__proto__": "b"}'))).toEqual([]);
    expect(paths({ type: "object", additionalProperties: false }, JSON.parse('{"__proto__": {}}'))).toEqual([
      "$.__proto__",
    ]);
  });

  it("implements anyOf, oneOf, allOf, not and if/then/else", () => {
    expect(paths({ anyOf: [{ type: "string" }, { type: "integer" }] }, true)).toEqual(["$"]);
    expect(paths({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1)).toEqual(["$"]);
    expect(paths({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1.5)).toEqual([]);
    expect(paths({ allOf: [{ minimum: 1 }, { maximum: 3 }] }, 5)).toEqual(["$"]);
    expect(paths({ not: { type: "null" } }, null)).toEqual(["$"]);
    // A JSON Schema keyword, built from JSON text as it arrives (an object literal with a
    // "then" key would look like a thenable to linters).
    const cond = JSON.parse(
      '{"if": {"properties": {"kind": {"const": "card"}}}, "then": {"required": ["pan"]}, "else": {"required": ["iban"]}}',
    );
    expect(paths(cond, { kind: "card" })).toEqual(["$.pan"]);
    expect(paths(cond, { kind: "sepa" })).toEqual(["$.iban"]);
  });

  it("follows local $refs, including recursive ones, and stops a $ref loop", () => {
    const tree = {
      $defs: {
        node: {
          type: "object",
          properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } },
        },
      },
      $ref: "#/$defs/node",
    };
    expect(paths(tree, { v: 1, kids: [{ v: 2, kids: [{ v: "x" }] }] })).toEqual(["$.kids[0].kids[0].v"]);
    const loop = validator({ $defs: { a: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" });
    expect(loop(1).map((p) => p.message)).toContain("the schema nests too deeply to evaluate");
  });

  it("accepts true, refuses false", () => {
    expect(validator(true)("anything")).toEqual([]);
    expect(validator(false)("anything")).toHaveLength(1);
  });

  it("caps the number of problems and never echoes values", () => {
    const v = validator({ type: "array", items: { type: "integer" } });
    const problems = v(Array.from({ length: 500 }, () => "secret-value"));
    expect(problems).toHaveLength(50);
    expect(JSON.stringify(problems)).not.toContain("secret-value");
  });
});
