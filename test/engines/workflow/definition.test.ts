import { describe, expect, it } from "vitest";
import { compileWorkflow, validateAgainstSpec } from "../../../src/engines/workflow/compile.js";
import { parseWorkflowDefinition } from "../../../src/engines/workflow/definition.js";
import { billingSpec, definition } from "./harness.js";

const spec = billingSpec();

function base(steps: unknown[], extra: Record<string, unknown> = {}) {
  return {
    name: "billing.invoices",
    description: "d",
    input_schema: { type: "object" },
    api_spec_id: "spec_1",
    steps,
    ...extra,
  };
}
const step = (extra: Record<string, unknown> = {}) => ({
  name: "s",
  operation_id: "plainText",
  on_error: "AbortWorkflow",
  ...extra,
});

function problemsOf(raw: unknown) {
  const parsed = parseWorkflowDefinition(raw);
  return parsed.ok ? [] : parsed.problems;
}

describe("parseWorkflowDefinition", () => {
  it("accepts a minimal definition", () => {
    expect(parseWorkflowDefinition(base([step()])).ok).toBe(true);
  });

  it("normalizes the on_error aliases", () => {
    const parsed = parseWorkflowDefinition(
      base([
        step({ name: "a", on_error: "fail" }),
        step({ name: "b", on_error: "continue" }),
        step({ name: "c", on_error: "Continue" }),
        step({ name: "d", on_error: { RetryN: 5 } }),
      ]),
    );
    expect(parsed.ok && parsed.def.steps.map((s) => s.on_error)).toEqual([
      "AbortWorkflow",
      "Continue",
      "Continue",
      { RetryN: 5 },
    ]);
  });

  it("upper-cases the method of a method+path step", () => {
    const parsed = parseWorkflowDefinition(
      base([{ name: "s", method: "get", path: "/text", on_error: "fail" }]),
    );
    expect(parsed.ok && parsed.def.steps[0]?.method).toBe("GET");
  });

  const bad: [string, unknown, string][] = [
    ["a tool name with capitals", base([step()], { name: "Billing" }), "$.name"],
    ["a tool name with a trailing dot", base([step()], { name: "billing." }), "$.name"],
    ["an overlong tool name", base([step()], { name: `a${"b".repeat(128)}` }), "$.name"],
    ["no steps", base([]), "$.steps"],
    ["33 steps", base(Array.from({ length: 33 }, (_, i) => step({ name: `s${i}` }))), "$.steps"],
    ["a duplicate step name", base([step(), step()]), "$.steps[1].name"],
    ["a step name with a dash", base([step({ name: "a-b" })]), "$.steps[0].name"],
    ["a step named constructor", base([step({ name: "constructor" })]), "$.steps[0].name"],
    ["a step named __proto__", base([step({ name: "__proto__" })]), "$.steps[0].name"],
    ["RetryN 0", base([step({ on_error: { RetryN: 0 } })]), "$.steps[0].on_error.RetryN"],
    ["RetryN 6", base([step({ on_error: { RetryN: 6 } })]), "$.steps[0].on_error.RetryN"],
    ["RetryN 1.5", base([step({ on_error: { RetryN: 1.5 } })]), "$.steps[0].on_error"],
    ["an unknown on_error", base([step({ on_error: "ignore" })]), "$.steps[0].on_error"],
    ["a missing on_error", base([{ name: "s", operation_id: "x" }]), "$.steps[0].on_error"],
    ["timeout_ms over 60 s", base([step({ timeout_ms: 60_001 })]), "$.steps[0].timeout_ms"],
    ["timeout_ms 0", base([step({ timeout_ms: 0 })]), "$.steps[0].timeout_ms"],
    ["both operation_id and method/path", base([step({ method: "GET", path: "/text" })]), "$.steps[0]"],
    ["method without path", base([{ name: "s", method: "GET", on_error: "fail" }]), "$.steps[0]"],
    [
      "a method that is not HTTP",
      base([{ name: "s", method: "TRACE", path: "/x", on_error: "fail" }]),
      "$.steps[0].method",
    ],
    ["a misspelt key", base([step({ extractor: { a: "$.a" } })]), "$.steps[0]"],
    ["an unknown top-level key", base([step()], { stpes: [] }), "$"],
    ["a Host header", base([step({ headers: { Host: "evil" } })]), "$.steps[0].headers.Host"],
    [
      "an Authorization header",
      base([step({ headers: { authorization: "x" } })]),
      "$.steps[0].headers.authorization",
    ],
    [
      "a Transfer-Encoding header",
      base([step({ headers: { "Transfer-Encoding": "chunked" } })]),
      "$.steps[0].headers['Transfer-Encoding']",
    ],
    ["a Proxy- header", base([step({ headers: { "Proxy-Foo": "x" } })]), "$.steps[0].headers['Proxy-Foo']"],
    [
      "a header name with a space",
      base([step({ headers: { "X Bad": "x" } })]),
      "$.steps[0].headers['X Bad']",
    ],
    [
      "an extractor named status",
      base([step({ extractors: { status: "$.a" } })]),
      "$.steps[0].extractors.status",
    ],
    [
      "an extractor named __proto__x",
      base([step({ extractors: { __x: "$.a" } })]),
      "$.steps[0].extractors.__x",
    ],
    ["a non-string template", base([step({ query_params: { q: 5 } })]), "$.steps[0].query_params.q"],
    [
      "an overlong template",
      base([step({ query_params: { q: "x".repeat(16_385) } })]),
      "$.steps[0].query_params.q",
    ],
    ["a body template that is a number", base([step({ body_template: 5 })]), "$.steps[0].body_template"],
    [
      "a __proto__ key in a body template",
      base([step({ body_template: JSON.parse('{"__proto__": {"a": 1}}') })]),
      "$.steps[0].body_template.__proto__",
    ],
    ["an input_schema that is not an object", base([step()], { input_schema: [] }), "$.input_schema"],
    [
      "a missing api_spec_id",
      { name: "a", description: "d", input_schema: {}, steps: [step()] },
      "$.api_spec_id",
    ],
  ];
  for (const [label, raw, path] of bad) {
    it(`refuses ${label} at ${path}`, () => {
      expect(problemsOf(raw).map((p) => p.path)).toContain(path);
    });
  }

  it("explains on_error when it is wrong", () => {
    const messages = problemsOf(base([step({ on_error: "ignore" })])).map((p) => p.message);
    expect(messages.join(" ")).toMatch(/on_error must be "AbortWorkflow", "Continue"/);
  });

  it("reports every shape problem at once", () => {
    const raw = base([step({ name: "1bad", on_error: "nope", timeout_ms: -1 })], { name: "BAD" });
    expect(problemsOf(raw).length).toBeGreaterThanOrEqual(4);
  });

  it("refuses input that is not an object at all", () => {
    for (const raw of [null, "workflow", 42, []]) expect(problemsOf(raw).length).toBeGreaterThan(0);
  });
});

describe("validateAgainstSpec", () => {
  it("accepts a consistent definition, by operationId or method and path", () => {
    const def = definition(
      base([
        {
          name: "find",
          operation_id: "searchCustomers",
          query_params: { email: "{{input.email}}" },
          extractors: { id: "$.data[0].id" },
          on_error: "fail",
        },
        {
          name: "inv",
          method: "GET",
          path: "/customers/{customerId}/invoices",
          path_params: { customerId: "{{state.find.id}}" },
          on_error: "fail",
        },
      ]),
    );
    expect(validateAgainstSpec(def, spec)).toEqual([]);
  });

  it("lists every problem at once, each with its path", () => {
    const def = definition(
      base(
        [
          { name: "a", operation_id: "noSuchOperation", on_error: "fail" },
          {
            name: "b",
            operation_id: "searchCustomers",
            query_params: { email: "{{input.email}}", mail: "x" },
            extractors: { bad: "$[?(@.a", ok: "$.data[0].id" },
            on_error: "fail",
          },
          { name: "c", method: "GET", path: "/nowhere", on_error: "fail" },
          { name: "d", operation_id: "listInvoices", path_params: { id: "x" }, on_error: "fail" },
          {
            name: "e",
            operation_id: "echoBody",
            body_template: { a: "{{shout input.x}}", b: "{{state.z.id}}" },
            on_error: "fail",
          },
          {
            name: "f",
            operation_id: "plainText",
            body_template: { a: 1 },
            headers: { "X-A": "{{constructor}}" },
            on_error: "fail",
          },
          { name: "g", operation_id: "sumInvoices", on_error: "fail" },
          {
            name: "h",
            operation_id: "searchCustomers",
            query_params: { limit: "{{state.b.nope}}" },
            on_error: "fail",
          },
        ],
        { input_schema: { type: "object", properties: { x: { type: "strin" } }, dependentSchemas: {} } },
      ),
    );
    const problems = validateAgainstSpec(def, spec);
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "$.input_schema.properties.x.type",
        "$.input_schema.dependentSchemas",
        "$.steps[0].operation_id",
        "$.steps[1].query_params.mail",
        "$.steps[1].extractors.bad",
        "$.steps[2].path",
        "$.steps[3].path_params.id",
        "$.steps[3].path_params",
        "$.steps[4].body_template.a",
        "$.steps[4].body_template.b",
        "$.steps[5].body_template",
        "$.steps[5].headers['X-A']",
        "$.steps[6]",
        "$.steps[7].query_params.limit",
        "$.steps[7].query_params",
      ]),
    );
    const text = JSON.stringify(problems);
    expect(text).toMatch(/unknown helper shout/);
    expect(text).toMatch(/state.z names no earlier step/);
    expect(text).toMatch(/step b extracts no variable nope/);
    expect(text).toMatch(/required query parameter \\"email\\" is not set/);
  });

  it("does not let a step read the state of a later step or itself", () => {
    const def = definition(
      base([
        {
          name: "a",
          operation_id: "getItem",
          path_params: { itemId: "{{state.a.id}}" },
          extractors: { id: "$.id" },
          on_error: "fail",
        },
        { name: "b", operation_id: "getItem", path_params: { itemId: "{{state.c.id}}" }, on_error: "fail" },
        {
          name: "c",
          operation_id: "getItem",
          path_params: { itemId: "x" },
          extractors: { id: "$.id" },
          on_error: "fail",
        },
      ]),
    );
    expect(validateAgainstSpec(def, spec).map((p) => p.path)).toEqual([
      "$.steps[0].path_params.itemId",
      "$.steps[1].path_params.itemId",
    ]);
  });

  it("hashes the normalized definition", () => {
    const a = compileWorkflow(definition(base([step({ on_error: "fail" })])), spec);
    const b = compileWorkflow(definition(base([step({ on_error: "AbortWorkflow" })])), spec);
    expect(a.ok && b.ok && a.workflow.definitionHash === b.workflow.definitionHash).toBe(true);
  });
});
