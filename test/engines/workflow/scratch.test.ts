import { test } from "vitest";
import { compileTemplate } from "../../../src/engines/workflow/templates.js";

const scope = { inputNames: null, steps: new Map([["s1", new Set(["id"])]]) };
function ctx() {
  const input = Object.create(null);
  input.name = 'a", "admin": true, "x": "';
  input.n = 5;
  input.obj = Object.create(null);
  input.obj.k = "v";
  input.key = "constructor";
  input.items = [1, 2];
  return { input, state: Object.create(null) };
}
test("scratch", () => {
  for (const [src, mode] of [
    ["hello {{input.name}}", "text"],
    ["{{json input.obj}}", "text"],
    ["{{input.obj}}", "text"],
    ["{{lookup input input.key}}", "text"],
    ["{{lookup input.obj \"k\"}}", "text"],
    ["{{#with input.key}}{{this}}{{/with}}", "text"],
    ["{{#each input.items}}[{{this}}:{{@index}}]{{/each}}", "text"],
    ["{{#if input.missing}}y{{else}}n{{/if}}", "text"],
    ["{{constructor.constructor}}", "text"],
    ["{{input.missing}}", "text"],
    ['{"a": "{{input.name}}", "b": {{json input.n}}, "c": "{{json input.obj}}"}', "json-text"],
    ['{"a": {{input.name}} }', "json-text"],
    ['{"a": 1{{json input.n}} }', "json-text"],
    ['{"a": "\\{{input.n}}" }', "json-text"],
    ['{"a": "x", "b": [{{json input.n}},{{json input.n}}]}', "json-text"],
    ["{{> foo}}", "text"],
    ["{{log input}}", "text"],
    ["{{json input.n k=1}}", "text"],
  ] as const) {
    const c = compileTemplate(src, mode, scope);
    if (!c.ok) { console.log(JSON.stringify(src), "PROBLEMS", c.problems); continue; }
    try { console.log(JSON.stringify(src), "=>", JSON.stringify(c.template.render(ctx()))); }
    catch (e) { console.log(JSON.stringify(src), "THROWS", (e as Error).message); }
  }
});
