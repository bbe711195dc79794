import { describe, expect, it } from "vitest";
import { expectProblem, loadOk, loadProblems, minimalDoc } from "./helpers.js";

const minimalYaml = `openapi: 3.1.0
info: {title: t, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /a:
    get:
      operationId: a
      responses: {"200": {description: ok}}
`;

describe("spec input: sizes, parsers and hostile documents", () => {
  it("loads YAML and JSON text, and JSON given as a string or object", () => {
    expect(loadOk({ inline_yaml: minimalYaml }).byOperationId.has("a")).toBe(true);
    expect(loadOk({ text: minimalYaml }).byOperationId.has("a")).toBe(true);
    const json = JSON.stringify(minimalDoc());
    expect(loadOk({ text: json }).byOperationId.has("getItem")).toBe(true);
    expect(loadOk({ text: `\uFEFF  ${json}` }).byOperationId.has("getItem")).toBe(true);
    expect(loadOk({ inline_json: json }).byOperationId.has("getItem")).toBe(true);
  });

  it("refuses oversized input before parsing it (default 16 MB, or maxBytes)", () => {
    const big = `${minimalYaml}x-pad: "${"a".repeat(2000)}"\n`;
    expect(loadProblems({ inline_yaml: big, maxBytes: 1000 })).toEqual([
      { path: "$", message: "the spec is larger than 1000 bytes" },
    ]);
    expect(
      loadProblems({ text: JSON.stringify({ ...minimalDoc(), pad: "é".repeat(600) }), maxBytes: 1000 }),
    ).toEqual([{ path: "$", message: "the spec is larger than 1000 bytes" }]);
    // Objects are measured as they would serialize.
    expect(loadProblems({ inline_json: { ...minimalDoc(), pad: "a".repeat(2000) }, maxBytes: 1000 })).toEqual(
      [{ path: "$", message: "the spec is larger than 1000 bytes" }],
    );
    const seventeenMb = `{"openapi":"3.1.0","x":"${"a".repeat(17 * 1024 * 1024)}"}`;
    expect(loadProblems({ text: seventeenMb })[0]?.message).toMatch(/larger than 16777216 bytes/);
    expect(loadProblems({ inline_yaml: minimalYaml, maxBytes: 0 })[0]?.message).toMatch(/maxBytes/);
  });

  it("refuses a YAML billion-laughs document quickly", () => {
    const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = `*a${i - 1}`;
      lines.push(`a${i}: &a${i} [${Array(9).fill(prev).join(",")}]`);
    }
    const bomb = `${minimalYaml}x-bomb:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
    const started = performance.now();
    const problems = loadProblems({ inline_yaml: bomb });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(problems).toEqual([{ path: "$", message: expect.stringMatching(/aliases expand too far/) }]);
  });

  it("accepts a few harmless aliases (they expand to copies)", () => {
    const spec = loadOk({
      inline_yaml: `${minimalYaml}x-common: &common {type: string}\nx-again: *common\n`,
    });
    expect(spec.document["x-again"]).toEqual({ type: "string" });
    expect(spec.document["x-again"]).not.toBe(spec.document["x-common"]);
  });

  it("refuses a YAML alias that contains itself", () => {
    const problems = loadProblems({ inline_yaml: `${minimalYaml}x-loop: &loop [*loop]\n` });
    expectProblem(problems, "$['x-loop'][0]", /contains itself/);
  });

  it("refuses custom and YAML 1.1 tags instead of building non-JSON values", () => {
    for (const tagged of [
      "!!js/function 'return 1'",
      "!!binary aGVsbG8=",
      "!!timestamp 2001-12-14",
      "!custom x",
    ]) {
      const problems = loadProblems({ inline_yaml: `${minimalYaml}x-tag: ${tagged}\n` });
      expect(problems[0]?.message).toMatch(/invalid YAML/);
    }
  });

  it("refuses duplicate keys in YAML and JSON, complex YAML keys, and several YAML documents", () => {
    expect(loadProblems({ inline_yaml: `${minimalYaml}x-a: 1\nx-a: 2\n` })[0]?.message).toMatch(
      /duplicate key "x-a"/,
    );
    expect(loadProblems({ text: '{"openapi":"3.1.0","openapi":"3.0.0"}' })[0]?.message).toMatch(
      /invalid JSON/,
    );
    expect(loadProblems({ inline_yaml: `${minimalYaml}? [a, b]\n: c\n` })[0]?.message).toMatch(
      /plain scalar/,
    );
    expect(loadProblems({ inline_yaml: `${minimalYaml}---\nb: 2\n` })[0]?.message).toMatch(/invalid YAML/);
    expect(loadProblems({ inline_yaml: "a: [1, 2" })[0]?.message).toMatch(/invalid YAML/);
    expect(loadProblems({ text: '{"openapi": ' })[0]?.message).toMatch(/invalid JSON/);
  });

  it("refuses over-deep nesting without overflowing the stack", () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(loadProblems({ text: `{"openapi":"3.1.0","x":${deep}}` })[0]?.message).toMatch(/invalid JSON/);
    let nested: unknown = 1;
    for (let i = 0; i < 5000; i++) nested = { n: nested };
    expect(loadProblems({ inline_json: { ...minimalDoc(), x: nested } })[0]?.message).toMatch(/deeper than/);
    const yamlDeep = `${minimalYaml}x-deep: ${"[".repeat(400)}${"]".repeat(400)}\n`;
    expect(loadProblems({ inline_yaml: yamlDeep })[0]?.message).toMatch(/deeper than/);
  });

  it("refuses __proto__ keys from every source, and Object.prototype stays clean", () => {
    const json = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{},
      "components":{"schemas":{"__proto__":{"polluted":true}}}}`;
    expectProblem(loadProblems({ text: json }), "$.components.schemas.__proto__", /not allowed/);
    expectProblem(
      loadProblems({ inline_json: JSON.parse(json) }),
      "$.components.schemas.__proto__",
      /not allowed/,
    );
    expectProblem(loadProblems({ inline_json: json }), "$.components.schemas.__proto__", /not allowed/);
    const yaml = `${minimalYaml}components:\n  schemas:\n    __proto__: {polluted: true}\n`;
    expectProblem(loadProblems({ inline_yaml: yaml }), "$.components.schemas.__proto__", /not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("keys named constructor or prototype are ordinary names", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        components: { schemas: { constructor: { type: "string" }, prototype: {} } },
      }),
    });
    expect(Object.keys((spec.document.components as { schemas: object }).schemas)).toEqual([
      "constructor",
      "prototype",
    ]);
  });

  it("refuses non-JSON values and cycles in an object given in-process", () => {
    const cyclic: Record<string, unknown> = minimalDoc();
    cyclic.self = cyclic;
    expectProblem(loadProblems({ inline_json: cyclic }), "$.self", /contains itself/);
    const odd = { ...minimalDoc(), a: new Date(0), b: () => 1, c: Number.NaN, d: new Map(), e: 10n };
    const problems = loadProblems({ inline_json: odd });
    for (const path of ["$.a", "$.b", "$.c", "$.d", "$.e"])
      expect(problems.map((p) => p.path)).toContain(path);
    expect(loadProblems({ inline_json: [minimalDoc()] })[0]?.message).toMatch(/object or a JSON string/);
  });
});
