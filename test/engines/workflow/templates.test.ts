import { describe, expect, it } from "vitest";
import { compileBody, renderBody } from "../../../src/engines/workflow/body-template.js";
import { toSafeJson } from "../../../src/engines/workflow/safe-json.js";
import {
  compileTemplate,
  type TemplateContext,
  type TemplateMode,
  TemplateRenderError,
  type TemplateScope,
} from "../../../src/engines/workflow/templates.js";

const scope: TemplateScope = {
  inputNames: null,
  steps: new Map([["lookup_user", new Set(["id", "tags"])]]),
};

function ctx(input: unknown, state: unknown = {}): TemplateContext {
  return { input: toSafeJson(input), state: toSafeJson(state) };
}

function compiled(source: string, mode: TemplateMode = "text") {
  const c = compileTemplate(source, mode, scope);
  if (!c.ok) throw new Error(`expected ${source} to compile: ${c.problems.join("; ")}`);
  return c.template;
}

function problems(source: string, mode: TemplateMode = "text", s: TemplateScope = scope): string[] {
  const c = compileTemplate(source, mode, s);
  return c.ok ? [] : c.problems;
}

function renderError(source: string, context: TemplateContext, mode: TemplateMode = "text"): string {
  try {
    compiled(source, mode).render(context);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateRenderError);
    return (err as Error).message;
  }
  throw new Error("expected a render error");
}

describe("text templates", () => {
  it("render input and state values", () => {
    const t = compiled(
      "user {{input.name}} #{{state.lookup_user.id}} ok={{input.ok}} n={{input.n}} z={{input.z}}",
    );
    expect(t.render(ctx({ name: "Ada", ok: true, n: 1.5, z: null }, { lookup_user: { id: 7 } }))).toBe(
      "user Ada #7 ok=true n=1.5 z=",
    );
  });

  it("print JSON with the json helper", () => {
    expect(compiled("{{json input.obj}}").render(ctx({ obj: { a: [1, "x"], b: null } }))).toBe(
      '{"a":[1,"x"],"b":null}',
    );
  });

  it("never HTML-escape", () => {
    expect(compiled("{{input.v}}").render(ctx({ v: "<a href='x'>&</a>" }))).toBe("<a href='x'>&</a>");
  });

  it("support if / unless / each / with and data variables", () => {
    const t = compiled(
      "{{#if input.flag}}yes{{else}}no{{/if}}|{{#unless input.flag}}U{{/unless}}|" +
        "{{#each input.items}}{{@index}}={{this}};{{/each}}|{{#with input.user}}{{name}}{{/with}}|" +
        "{{#each input.map}}{{@key}}:{{this}}{{/each}}",
    );
    expect(t.render(ctx({ flag: false, items: ["a", "b"], user: { name: "N" }, map: { k: 1 } }))).toBe(
      "no|U|0=a;1=b;|N|k:1",
    );
  });

  it("refuse to print an object or array without json", () => {
    expect(renderError("{{input.obj}}", ctx({ obj: { a: 1 } }))).toMatch(/use \{\{json/);
    expect(renderError("{{input.list}}", ctx({ list: [1, 2] }))).toMatch(/use \{\{json/);
  });

  it("refuse a value that is not set (strict)", () => {
    expect(renderError("{{input.missing}}", ctx({}))).toMatch(/not set/);
    expect(renderError("{{json input.missing}}", ctx({}))).toMatch(/not set/);
    expect(renderError("{{input.a.b.c}}", ctx({ a: "str" }))).toMatch(/not set/);
  });

  it("never re-evaluate a value as a template", () => {
    expect(compiled("{{input.v}}").render(ctx({ v: "{{input.secret}}", secret: "S" }))).toBe(
      "{{input.secret}}",
    );
  });
});

describe("prototype access", () => {
  const refused = [
    "{{constructor}}",
    "{{constructor.constructor}}",
    "{{input.constructor.constructor}}",
    "{{__proto__}}",
    "{{input.__proto__}}",
    "{{this.[__proto__]}}",
    "{{input.[constructor]}}",
    "{{input.prototype}}",
    "{{__defineGetter__}}",
    '{{lookup this "constructor"}}',
    '{{lookup input "__proto__"}}',
    '{{#with "constructor"}}{{this}}{{/with}}',
    '{{json (lookup input "constructor")}}',
    '{{#each input}}{{lookup this "constructor"}}{{/each}}',
  ];
  for (const source of refused) {
    it(`refuses ${source} at registration`, () => {
      expect(problems(source).join(" ")).toMatch(/not allowed/);
    });
  }

  const ctxWithKey = (key: string) => ctx({ key, obj: { a: 1 }, s: "text", list: [1] });
  for (const key of [
    "constructor",
    "__proto__",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "__lookupGetter__",
  ]) {
    it(`finds nothing through a dynamic lookup of ${key}`, () => {
      for (const source of [
        "{{lookup input.obj input.key}}",
        "{{lookup input.s input.key}}",
        "{{lookup input.list input.key}}",
      ]) {
        expect(renderError(source, ctxWithKey(key))).toMatch(/not set|object or array/);
      }
      expect(
        compiled("{{#if (lookup input.obj input.key)}}reached{{else}}nothing{{/if}}").render(ctxWithKey(key)),
      ).toBe("nothing");
    });
  }

  it("reads only own data through lookup", () => {
    expect(compiled("{{lookup input.obj input.key}}").render(ctx({ key: "a", obj: { a: "v" } }))).toBe("v");
  });

  it("gives a with-block over a string nothing but the string", () => {
    expect(compiled("{{#with input.s}}{{this}}{{/with}}").render(ctx({ s: "constructor" }))).toBe(
      "constructor",
    );
  });

  it("keeps data keys named __proto__ as data", () => {
    const input = toSafeJson(JSON.parse('{"o": {"__proto__": {"x": 1}}}'));
    expect(compiled("{{json input.o}}").render({ input, state: {} })).toBe('{"__proto__":{"x":1}}');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("refused template features", () => {
  const cases: [string, RegExp][] = [
    ["{{> partial}}", /PartialStatement/],
    ["{{#> layout}}x{{/layout}}", /PartialBlockStatement/],
    ["{{* inline}}", /Decorator/],
    ['{{#*inline "p"}}x{{/inline}}', /Decorator/],
    ["{{log input.x}}", /unknown helper log/],
    ["{{helperMissing input.x}}", /unknown helper/],
    ["{{blockHelperMissing input.x}}", /unknown helper/],
    ["{{input.name input.x}}", /unknown helper/],
    ["{{#raw}}x{{/raw}}", /unknown block helper/],
    ["{{{{raw}}}} {{x}} {{{{/raw}}}}", /unknown block helper/],
    ["{{json input.x indent=2}}", /hash/],
    ["{{json input.a input.b}}", /json takes 1 argument/],
    ["{{json}}", /json takes 1 argument/],
    ["{{lookup input}}", /lookup takes 2 arguments/],
    ["{{if input.x}}", /must be used as a block/],
    ['{{"literal"}}', /literal/],
    ["{{this}}", /whole context/],
    ["{{secret}}", /unknown variable secret/],
    ["{{@partial-block}}", /unknown data variable/],
    ["{{state.later_step.id}}", /names no earlier step/],
    ["{{state.lookup_user.nope}}", /extracts no variable nope/],
    ["{{#if input.x}}unclosed", /does not parse/],
  ];
  for (const [source, expected] of cases) {
    it(`refuses ${source}`, () => {
      expect(problems(source).join(" ")).toMatch(expected);
    });
  }

  it("accepts state.<step>.status and .error", () => {
    expect(problems("{{state.lookup_user.status}} {{json state.lookup_user.error}}")).toEqual([]);
  });

  it("checks input names when the schema is closed", () => {
    const closed: TemplateScope = { inputNames: new Set(["email"]), steps: new Map() };
    expect(problems("{{input.email}}", "text", closed)).toEqual([]);
    expect(problems("{{input.emial}}", "text", closed).join(" ")).toMatch(/input.emial is not a property/);
  });

  it("lists every problem of a template at once", () => {
    expect(problems("{{constructor}} {{log input.x}} {{> p}}")).toHaveLength(3);
  });
});

describe("json-text (string body) templates", () => {
  it("escapes plain values inside strings and emits JSON for json", () => {
    const t = compiled(
      '{"a": "x{{input.s}}y", "b": {{json input.n}}, "c": [{{json input.o}}], "d": "{{json input.o}}"}',
      "json-text",
    );
    const out = t.render(ctx({ s: 'q"\\\n', n: 5, o: { k: "v" } }));
    expect(JSON.parse(out)).toEqual({ a: 'xq"\\\ny', b: 5, c: [{ k: "v" }], d: '{"k":"v"}' });
  });

  const refused: [string, RegExp][] = [
    ['{"a": {{input.s}} }', /outside a JSON string only \{\{json/],
    ["{{input.s}}", /outside a JSON string/],
    ['{"a": 1{{json input.n}} }', /must follow/],
    ['{"a": {{json input.n}}1}', /must be followed/],
    ["[{{json input.n}}{{json input.n}}]", /must follow/],
    ['{"a": "{{#if input.x}}y{{/if}}"}', /block helpers are not allowed/],
    ['{"a": "unterminated {{input.s}}}', /ends inside a JSON string|does not parse/],
    // Handlebars reads `\\{{` as one backslash then a mustache: a JSON escape left open.
    ['{"a": "\\\\{{input.s}}"}', /backslash/],
    ['{"a": {{json input.n}}}', /write `\}\} \}`/],
  ];
  for (const [source, expected] of refused) {
    it(`refuses ${source}`, () => {
      expect(problems(source, "json-text").join(" ")).toMatch(expected);
    });
  }

  it("accepts {{json}} as a whole document, key or element", () => {
    for (const source of [
      "{{json input.o}}",
      "{ {{json input.s}}: 1 }",
      "[ {{json input.n}} , {{json input.n}} ]",
    ]) {
      expect(problems(source, "json-text")).toEqual([]);
    }
  });
});

describe("JSON body templates", () => {
  function body(template: unknown) {
    const c = compileBody(template, scope);
    if (!c.ok) throw new Error(JSON.stringify(c.problems));
    return c.body;
  }

  it("fills string leaves, keeps structure and literals, and types whole {{json}} leaves", () => {
    const b = body({
      name: "{{input.name}}",
      count: "{{json input.n}}",
      tags: "{{json state.lookup_user.tags}}",
      nested: [{ fixed: 1, text: "id={{state.lookup_user.id}}" }, true, null],
    });
    const out = renderBody(
      b,
      ctx({ name: '", "admin": true', n: 3 }, { lookup_user: { id: 9, tags: ["a"] } }),
    );
    expect(out).toEqual({
      name: '", "admin": true',
      count: 3,
      tags: ["a"],
      nested: [{ fixed: 1, text: "id=9" }, true, null],
    });
  });

  it("refuses templated keys and bad leaves, with their paths", () => {
    const c = compileBody({ "{{input.k}}": "v", a: ["{{constructor}}"] }, scope);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.problems.map((p) => p.at)).toEqual([["{{input.k}}"], ["a", 0]]);
  });

  it("refuses a rendered string body that loses a number", () => {
    const b = body('{"n": 1e400, "s": "{{input.s}}"}');
    expect(() => renderBody(b, ctx({ s: "x" }))).toThrow(TemplateRenderError);
  });

  it("refuses a rendered string body with duplicate keys", () => {
    const b = body('{"admin": false, "admin": "{{input.s}}"}');
    expect(() => renderBody(b, ctx({ s: "x" }))).toThrow(/not valid JSON/);
  });
});
