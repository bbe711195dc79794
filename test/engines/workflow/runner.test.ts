import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CredentialResolver } from "../../../src/credentials/types.js";
import { noCredentials } from "../../../src/credentials/types.js";
import type { EgressClient } from "../../../src/egress/types.js";
import type { IndexedSpec } from "../../../src/engines/openapi/types.js";
import { OutcomeRows } from "../../../src/engines/workflow/events.js";
import { startUpstream, type Upstream } from "../../support/upstream.js";
import { billingSpec, loadFixtureSpec, rejection, runner, testEgress, workflow } from "./harness.js";

let upstream: Upstream;
let egress: EgressClient;
let spec: IndexedSpec;

beforeAll(async () => {
  upstream = await startUpstream();
  egress = testEgress();
  spec = billingSpec();
});
afterAll(async () => {
  egress.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

const EMAIL_SCHEMA = {
  type: "object",
  properties: { email: { type: "string", pattern: "^[^@\\s]+@[^@\\s]+$", maxLength: 254 } },
  required: ["email"],
  additionalProperties: false,
};

const findCustomer = {
  name: "find_customer",
  operation_id: "searchCustomers",
  query_params: { email: "{{input.email}}" },
  extractors: { customer_id: "$.data[0].id", name: "$.data[0].name", matches: "$.data[*].id" },
  on_error: "AbortWorkflow",
};
const listInvoices = {
  name: "invoices",
  operation_id: "listInvoices",
  path_params: { customerId: "{{state.find_customer.customer_id}}" },
  extractors: { totals: "$.data[*].total", first_id: "$.data[0].id" },
  on_error: "fail",
};

describe("a multi-step billing workflow", () => {
  it("finds the customer, lists the invoices and sums them upstream", async () => {
    const def = workflow(
      [
        findCustomer,
        listInvoices,
        {
          name: "sum",
          operation_id: "sumInvoices",
          body_template: {
            customer_id: "{{state.find_customer.customer_id}}",
            amounts: "{{json state.invoices.totals}}",
            label: "Invoices of {{state.find_customer.name}}",
          },
          extractors: { total: "$.total", count: "$.count" },
          on_error: "AbortWorkflow",
        },
      ],
      EMAIL_SCHEMA,
    );
    const r = runner(upstream, egress, spec);
    const out = await r.run(def, { email: "ada@example.com" });

    expect(out.workflow_id).toBe("wf_test");
    expect(out.result).toEqual({ total: 500, count: 3 });
    expect(JSON.parse(JSON.stringify(out.state))).toEqual({
      find_customer: { customer_id: "cus_1", name: "Ada Lovelace", matches: ["cus_1"], status: 200 },
      invoices: { totals: [120.5, 79.5, 300], first_id: "inv_1", status: 200 },
      sum: { total: 500, count: 3, status: 200 },
    });
    expect(upstream.requests.map((q) => `${q.method} ${q.rawPath}`)).toEqual([
      "GET /customers",
      "GET /customers/cus_1/invoices",
      "POST /invoices/sum",
    ]);
    expect(upstream.requests[0]?.query).toEqual({ email: ["ada@example.com"] });
    expect(JSON.parse(upstream.requests[2]?.body ?? "")).toEqual({
      customer_id: "cus_1",
      amounts: [120.5, 79.5, 300],
      label: "Invoices of Ada Lovelace",
    });
    expect(upstream.requests[2]?.headers["content-type"]).toBe("application/json");
  });

  it("builds the same request from a string body template", async () => {
    const def = workflow(
      [
        findCustomer,
        listInvoices,
        {
          name: "sum",
          operation_id: "sumInvoices",
          body_template:
            '{"customer_id": "{{state.find_customer.customer_id}}", "amounts": {{json state.invoices.totals}} }',
          on_error: "AbortWorkflow",
        },
      ],
      EMAIL_SCHEMA,
    );
    const out = await runner(upstream, egress, spec).run(def, { email: "ada@example.com" });
    expect(out.result).toEqual({ total: 500, count: 3 });
    expect(JSON.parse(upstream.requests[2]?.body ?? "")).toEqual({
      customer_id: "cus_1",
      amounts: [120.5, 79.5, 300],
    });
  });

  it("gives a singular extractor null and a wildcard one [] when nothing matches", async () => {
    const def = workflow(
      [
        findCustomer,
        listInvoices,
        {
          name: "sum",
          operation_id: "sumInvoices",
          body_template: { amounts: "{{json state.invoices.totals}}" },
          on_error: "AbortWorkflow",
        },
      ],
      EMAIL_SCHEMA,
    );
    const out = await runner(upstream, egress, spec).run(def, { email: "alan@example.com" });
    expect(JSON.parse(JSON.stringify(out.state.invoices))).toEqual({
      totals: [],
      first_id: null,
      status: 200,
    });
    expect(out.result).toEqual({ total: 0, count: 0 });
  });

  it("stops with 4000 when a later step needs a variable of a step that failed under Continue", async () => {
    const def = workflow([
      { name: "broken", operation_id: "fail", extractors: { id: "$.id" }, on_error: "Continue" },
      {
        name: "item",
        operation_id: "getItem",
        path_params: { itemId: "{{state.broken.id}}" },
        on_error: "AbortWorkflow",
      },
    ]);
    const err = await rejection(() => runner(upstream, egress, spec).run(def, {}));
    expect(err.code).toBe("INVALID_ARGUMENTS");
    expect(err.details).toMatchObject({ reason: "template_render_failed", step: "item" });
    expect(upstream.requests.map((q) => q.rawPath)).toEqual(["/fail"]);
  });

  it("records events that name the definition but never values, headers or URLs", async () => {
    const def = workflow([findCustomer, listInvoices], EMAIL_SCHEMA);
    const r = runner(upstream, egress, spec);
    await r.run(def, { email: "ada@example.com" });
    expect(r.events.map((e) => e.type)).toEqual([
      "WorkflowInvocationStarted",
      "WorkflowStepExecuted",
      "WorkflowStepExecuted",
      "WorkflowInvocationCompleted",
    ]);
    const started = r.events[0]?.payload;
    expect(started?.definition_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(started?.spec_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.events[2]?.payload).toMatchObject({
      step: "invoices",
      method: "GET",
      operation: "listInvoices",
      status: 200,
      attempt: 1,
      outcome: "succeeded",
    });
    const text = JSON.stringify(r.events);
    expect(text).not.toContain("ada@example.com");
    expect(text).not.toContain("cus_1");
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain("?");
  });

  it("names the same definition hash on every run and a different one when the definition changes", async () => {
    const a = runner(upstream, egress, spec);
    await a.run(workflow([findCustomer], EMAIL_SCHEMA), { email: "ada@example.com" });
    await a.run(workflow([findCustomer], EMAIL_SCHEMA), { email: "alan@example.com" });
    const changed = workflow([{ ...findCustomer, extractors: { id: "$.data[0].id" } }], EMAIL_SCHEMA);
    await a.run(changed, { email: "ada@example.com" });
    const hashes = a.events
      .filter((e) => e.type === "WorkflowInvocationStarted")
      .map((e) => e.payload.definition_hash);
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[2]).not.toBe(hashes[0]);
  });

  it("runs a Petstore workflow, reading rendered path text as the declared integer type", async () => {
    const petstore = loadFixtureSpec("petstore/openapi.yaml");
    const def = workflow([
      {
        name: "find",
        operation_id: "findPetsByStatus",
        query_params: { status: "available" },
        extractors: { first_id: "$[0].id" },
        on_error: "AbortWorkflow",
      },
      {
        name: "pet",
        operation_id: "getPetById",
        path_params: { petId: "{{state.find.first_id}}" },
        on_error: "AbortWorkflow",
      },
    ]);
    const out = await runner(upstream, egress, petstore).run(def, {}, { baseUrl: `${upstream.url}/api/v3` });
    expect(out.result).toMatchObject({ id: 1, name: "Rex" });
    expect(upstream.requests.map((q) => q.rawPath)).toEqual(["/api/v3/pet/findByStatus", "/api/v3/pet/1"]);
  });
});

describe("Petstore", () => {
  it("places an order with typed body values and reads it back", async () => {
    const petstore = loadFixtureSpec("petstore/openapi.yaml");
    const def = workflow(
      [
        {
          name: "place",
          operation_id: "placeOrder",
          body_template: {
            petId: "{{json input.pet}}",
            quantity: "{{json input.quantity}}",
            status: "placed",
          },
          extractors: { id: "$.id" },
          on_error: "AbortWorkflow",
        },
        {
          name: "read",
          operation_id: "getOrderById",
          path_params: { orderId: "{{state.place.id}}" },
          on_error: "AbortWorkflow",
        },
      ],
      {
        type: "object",
        properties: { pet: { type: "integer" }, quantity: { type: "integer", minimum: 1 } },
        required: ["pet", "quantity"],
      },
    );
    const out = await runner(upstream, egress, petstore).run(
      def,
      { pet: 3, quantity: 2 },
      { baseUrl: `${upstream.url}/api/v3` },
    );
    expect(out.result).toMatchObject({ petId: 3, quantity: 2, status: "placed" });
    expect(JSON.parse(upstream.requests[0]?.body ?? "")).toEqual({ petId: 3, quantity: 2, status: "placed" });
  });
});

describe("input validation comes first", () => {
  const def = workflow([findCustomer], EMAIL_SCHEMA);
  const bad: [string, unknown][] = [
    ["missing email", {}],
    ["email of the wrong type", { email: 42 }],
    ["email not matching the pattern", { email: "not-an-email" }],
    ["an undeclared property", { email: "ada@example.com", admin: true }],
    ["an array instead of an object", [{ email: "ada@example.com" }]],
    ["null", null],
    ["an overlong email", { email: `${"a".repeat(250)}@example.com` }],
  ];
  for (const [label, input] of bad) {
    it(`refuses ${label} with 4000 and sends nothing`, async () => {
      const r = runner(upstream, egress, spec);
      const err = await rejection(() => r.run(def, input));
      expect(err.code).toBe("INVALID_ARGUMENTS");
      expect(err.details.reason).toBe("invalid_input");
      expect(Array.isArray(err.details.problems) && err.details.problems.length > 0).toBe(true);
      expect(upstream.requests).toHaveLength(0);
      expect(r.events.map((e) => e.type)).toEqual(["WorkflowInvocationStarted", "WorkflowInvocationFailed"]);
    });
  }

  it("does not echo the rejected value in the problems", async () => {
    const err = await rejection(() => runner(upstream, egress, spec).run(def, { email: "secret-value-xyz" }));
    expect(JSON.stringify(err)).not.toContain("secret-value-xyz");
    expect(err.message).not.toContain("secret-value-xyz");
  });
});

describe("template injection", () => {
  const echo = (body_template: unknown) =>
    workflow([{ name: "echo", operation_id: "echoBody", body_template, on_error: "AbortWorkflow" }]);
  const hostile = [
    '", "admin": true, "x": "',
    '"}, {"admin": true',
    "}}{{input.secret}}",
    "{{constructor.constructor('return process')()}}",
    "\\",
    "line\nbreak\u0000nul\u2028sep",
    "</script>&<>'\"",
  ];

  for (const value of hostile) {
    it(`keeps ${JSON.stringify(value)} a string value in a JSON body template`, async () => {
      const out = await runner(upstream, egress, spec).run(echo({ note: "{{input.note}}", fixed: true }), {
        note: value,
        secret: "S3CRET",
      });
      expect((out.result as { received: unknown }).received).toEqual({ note: value, fixed: true });
    });

    it(`keeps ${JSON.stringify(value)} a string value in a string body template`, async () => {
      const out = await runner(upstream, egress, spec).run(
        echo('{"note": "pre {{input.note}} post", "fixed": true}'),
        {
          note: value,
          secret: "S3CRET",
        },
      );
      expect((out.result as { received: unknown }).received).toEqual({
        note: `pre ${value} post`,
        fixed: true,
      });
    });
  }

  it("never evaluates a value as a template", async () => {
    const out = await runner(upstream, egress, spec).run(echo({ note: "{{input.note}}" }), {
      note: "{{input.secret}}",
      secret: "S3CRET",
    });
    expect(JSON.stringify(out.result)).not.toContain("S3CRET");
  });

  it("sends a __proto__ key of the data as data, and pollutes nothing", async () => {
    const input = JSON.parse('{"obj": {"__proto__": {"polluted": true}, "a": 1}}');
    const out = await runner(upstream, egress, spec).run(echo({ o: "{{json input.obj}}" }), input);
    expect(JSON.parse(upstream.requests[0]?.body ?? "")).toEqual(
      JSON.parse('{"o": {"__proto__": {"polluted": true}, "a": 1}}'),
    );
    expect((out.result as { raw: string }).raw).toContain('"__proto__":{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    it(`finds nothing for a dynamic lookup of ${key} and sends nothing`, async () => {
      const def = workflow([
        {
          name: "item",
          operation_id: "getItem",
          path_params: { itemId: "{{lookup input input.key}}" },
          on_error: "AbortWorkflow",
        },
      ]);
      const err = await rejection(() => runner(upstream, egress, spec).run(def, { key }));
      expect(err.code).toBe("INVALID_ARGUMENTS");
      expect(err.details).toMatchObject({
        reason: "template_render_failed",
        step: "item",
        field: "path_params.itemId",
      });
      expect(upstream.requests).toHaveLength(0);
    });
  }

  for (const value of ["a\r\nX-Admin: 1", "a\nb", "a\rb", "a\u0000b"]) {
    it(`refuses a header value with ${JSON.stringify(value)} before sending`, async () => {
      const def = workflow([
        {
          name: "h",
          operation_id: "echoHeaders",
          headers: { "X-Trace": "{{input.trace}}" },
          on_error: "Continue",
        },
      ]);
      const err = await rejection(() => runner(upstream, egress, spec).run(def, { trace: value }));
      expect(err.code).toBe("INVALID_ARGUMENTS");
      expect(err.details).toMatchObject({ reason: "bad_header_value", step: "h", header: "X-Trace" });
      expect(err.message).not.toContain("X-Admin");
      expect(upstream.requests).toHaveLength(0);
    });
  }

  it("sends a clean templated header", async () => {
    const def = workflow([
      {
        name: "h",
        operation_id: "echoHeaders",
        headers: { "X-Trace": "t-{{input.trace}}" },
        on_error: "AbortWorkflow",
      },
    ]);
    await runner(upstream, egress, spec).run(def, { trace: "42" });
    expect(upstream.requests[0]?.headers["x-trace"]).toBe("t-42");
  });

  it("refuses a body that does not re-parse (a lone surrogate) and sends nothing", async () => {
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(echo('{"note": "{{input.note}}"}'), { note: "\ud800" }),
    );
    expect(err.code).toBe("INVALID_ARGUMENTS");
    expect(err.details.reason).toBe("template_render_failed");
    expect(upstream.requests).toHaveLength(0);
  });
});

describe("path parameters are encoded per segment", () => {
  const def = workflow([
    {
      name: "item",
      operation_id: "getItem",
      path_params: { itemId: "{{input.id}}" },
      on_error: "AbortWorkflow",
    },
  ]);
  const cases: [string, string][] = [
    ["../admin", "/items/..%2Fadmin"],
    ["a/b", "/items/a%2Fb"],
    ["x?admin=1#frag", "/items/x%3Fadmin%3D1%23frag"],
    ["%2e%2e", "/items/%252e%252e"],
    ["a b", "/items/a%20b"],
  ];
  for (const [id, raw] of cases) {
    it(`sends ${JSON.stringify(id)} as ${raw}`, async () => {
      const out = await runner(upstream, egress, spec).run(def, { id });
      expect(upstream.requests.map((q) => q.rawPath)).toEqual([raw]);
      expect((out.result as { item_id: string }).item_id).toBe(id);
    });
  }

  for (const id of ["..", "."]) {
    it(`refuses the dot-segment ${JSON.stringify(id)}`, async () => {
      const err = await rejection(() => runner(upstream, egress, spec).run(def, { id }));
      expect(err.code).toBe("INVALID_ARGUMENTS");
      expect(err.details.step).toBe("item");
      expect(upstream.requests).toHaveLength(0);
    });
  }
});

describe("on_error", () => {
  const flaky = (key: string, failures: number, on_error: unknown) =>
    workflow([
      { name: "flaky", operation_id: "flaky", query_params: { key, failures: String(failures) }, on_error },
    ]);

  it("RetryN retries a failing step until it succeeds", async () => {
    const r = runner(upstream, egress, spec);
    const out = await r.run(flaky("retry-ok", 2, { RetryN: 3 }), {});
    expect(out.result).toEqual({ ok: true, attempts: 3 });
    expect(upstream.requests).toHaveLength(3);
    const attempts = r.events
      .filter((e) => e.type === "WorkflowStepExecuted")
      .map((e) => [e.payload.attempt, e.payload.status]);
    expect(attempts).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
  });

  it("RetryN gives up after n retries and aborts with 4020", async () => {
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(flaky("retry-fail", 5, { RetryN: 1 }), {}),
    );
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details).toMatchObject({ reason: "step_failed", step: "flaky", status: 503 });
    expect(upstream.requests).toHaveLength(2);
  });

  it("RetryN backs off exponentially between attempts", async () => {
    const started = Date.now();
    await runner(upstream, egress, spec).run(
      flaky("retry-backoff", 2, { RetryN: 2 }),
      {},
      { retryBaseMs: 100 },
    );
    // 100 ms then 200 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("RetryN does not retry a 4xx that will not change", async () => {
    const def = workflow([
      { name: "f", operation_id: "fail", query_params: { status: "404" }, on_error: { RetryN: 3 } },
    ]);
    const err = await rejection(() => runner(upstream, egress, spec).run(def, {}));
    expect(err.details).toMatchObject({ reason: "step_failed", status: 404 });
    expect(upstream.requests).toHaveLength(1);
  });

  it("Continue records the failure in state and goes on", async () => {
    const def = workflow([
      { name: "broken", operation_id: "fail", on_error: "Continue", extractors: { x: "$.x" } },
      { name: "after", operation_id: "plainText", on_error: "AbortWorkflow" },
    ]);
    const r = runner(upstream, egress, spec);
    const out = await r.run(def, {});
    expect(JSON.parse(JSON.stringify(out.state))).toEqual({
      broken: { status: 500, error: { status: 500, reason: "http_status" } },
      after: { status: 200 },
    });
    expect(out.result).toBe("hello, not json");
    expect(r.events.at(-1)).toMatchObject({
      type: "WorkflowInvocationCompleted",
      payload: { continued_after_failure: ["broken"] },
    });
  });

  it("AbortWorkflow stops at the failing step with 4020 and its status", async () => {
    const def = workflow([
      { name: "broken", operation_id: "fail", query_params: { status: "418" }, on_error: "AbortWorkflow" },
      { name: "never", operation_id: "plainText", on_error: "AbortWorkflow" },
    ]);
    const r = runner(upstream, egress, spec);
    const err = await rejection(() => r.run(def, {}));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details).toEqual({ reason: "step_failed", step: "broken", status: 418 });
    expect(upstream.requests.map((q) => q.rawPath)).toEqual(["/fail"]);
    expect(r.events.at(-1)).toMatchObject({
      type: "WorkflowInvocationFailed",
      payload: { failed_step: "broken", code: "UPSTREAM_ERROR", reason: "step_failed" },
    });
  });

  it("treats a 3xx that is not followed as a failure, not a success", async () => {
    const def = workflow([
      { name: "r", operation_id: "fail", query_params: { status: "304" }, on_error: "AbortWorkflow" },
    ]);
    const err = await rejection(() => runner(upstream, egress, spec).run(def, {}));
    expect(err.details).toMatchObject({ reason: "step_failed", status: 304 });
  });
});

describe("slow, huge and redirecting upstreams", () => {
  const slow = (on_error: unknown) =>
    workflow([
      { name: "slow", operation_id: "slow", query_params: { ms: "3000" }, timeout_ms: 200, on_error },
    ]);

  it("a step timeout stays 4024 under AbortWorkflow", async () => {
    const started = Date.now();
    const err = await rejection(() => runner(upstream, egress, spec).run(slow("AbortWorkflow"), {}));
    expect(err.code).toBe("UPSTREAM_TIMEOUT");
    expect(err.details.step).toBe("slow");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a step timeout is recorded in state under Continue", async () => {
    const out = await runner(upstream, egress, spec).run(slow("Continue"), {});
    expect(JSON.parse(JSON.stringify(out.state))).toEqual({
      slow: { status: null, error: { status: null, reason: "request_timeout" } },
    });
  });

  it("a response over the cap is 4013 and never reaches state", async () => {
    const small = testEgress({ maxResponseBytes: 100_000 });
    try {
      const def = workflow([
        { name: "big", operation_id: "huge", query_params: { bytes: "3000000" }, on_error: "AbortWorkflow" },
      ]);
      const err = await rejection(() => runner(upstream, small, spec).run(def, {}));
      expect(err.code).toBe("RESPONSE_TOO_LARGE");
      expect(err.details).toMatchObject({ reason: "max_response_size", step: "big" });
    } finally {
      small.close();
    }
  });

  it("the per-run response cap applies too", async () => {
    const def = workflow([
      { name: "big", operation_id: "huge", query_params: { bytes: "300000" }, on_error: "AbortWorkflow" },
    ]);
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(def, {}, { maxResponseBytes: 10_000 }),
    );
    expect(err.code).toBe("RESPONSE_TOO_LARGE");
  });

  it("follows a same-origin redirect", async () => {
    const def = workflow([{ name: "r", operation_id: "redirectSame", on_error: "AbortWorkflow" }]);
    const out = await runner(upstream, egress, spec).run(def, {});
    expect(out.result).toHaveProperty("headers");
    expect(upstream.requests.map((q) => q.rawPath)).toEqual(["/redirect-same", "/echo-headers"]);
  });

  it("refuses a redirect to another host even under Continue", async () => {
    const def = workflow([{ name: "r", operation_id: "redirectOtherHost", on_error: "Continue" }]);
    const err = await rejection(() => runner(upstream, egress, spec).run(def, {}));
    expect(err.code).toBe("EGRESS_DENIED");
    expect(upstream.requests.map((q) => q.rawPath)).toEqual(["/redirect-other-host"]);
  });

  it("refuses a base URL outside the spec's hosts even under Continue", async () => {
    const def = workflow([{ name: "t", operation_id: "plainText", on_error: "Continue" }]);
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(def, {}, { allowedHosts: undefined }),
    );
    expect(err.code).toBe("EGRESS_DENIED");
    expect(upstream.requests).toHaveLength(0);
  });

  it("stops when the caller cancels during a retry back-off", async () => {
    const controller = new AbortController();
    const def = workflow([
      {
        name: "f",
        operation_id: "flaky",
        query_params: { key: "cancel-backoff", failures: "5" },
        on_error: { RetryN: 3 },
      },
    ]);
    setTimeout(() => controller.abort(), 150);
    const started = Date.now();
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(def, {}, { signal: controller.signal, retryBaseMs: 1_000 }),
    );
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details.reason).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(900);
    expect(upstream.requests).toHaveLength(1);
  });

  it("stops when the caller cancels, without retrying", async () => {
    const controller = new AbortController();
    const def = workflow([
      { name: "slow", operation_id: "slow", query_params: { ms: "3000" }, on_error: { RetryN: 3 } },
    ]);
    setTimeout(() => controller.abort(), 100);
    const err = await rejection(() =>
      runner(upstream, egress, spec).run(def, {}, { signal: controller.signal }),
    );
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(upstream.requests).toHaveLength(1);
  });
});

describe("credentials", () => {
  const headersStep = workflow([{ name: "h", operation_id: "echoHeaders", on_error: "AbortWorkflow" }]);

  it("fails closed with 4010 when a credential path is set and no backend exists", async () => {
    const r = runner(upstream, egress, spec, noCredentials);
    const err = await rejection(() =>
      r.run(headersStep, {}, { credentialPath: { StaticRef: { key: "billing/token" } } }),
    );
    expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
    expect(err.details.reason).toBe("backend_not_configured");
    expect(upstream.requests).toHaveLength(0);
    expect(r.events.at(-1)?.type).toBe("WorkflowInvocationFailed");
  });

  it("never asks the resolver when the tool has no credential_path", async () => {
    const { resolver, calls } = fakeResolver("tok_unused_123456");
    await runner(upstream, egress, spec, resolver).run(headersStep, {});
    expect(calls.obtain).toBe(0);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("fails closed, sending nothing, when the value cannot be placed on the request (CR LF)", async () => {
    const { resolver, calls } = fakeResolver("tok\r\nX-Injected: 1");
    const err = await rejection(() =>
      runner(upstream, egress, spec, resolver).run(
        headersStep,
        {},
        { credentialPath: { StaticRef: { key: "k" } } },
      ),
    );
    expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
    expect(err.details.reason).toBe("unusable_value");
    expect(upstream.requests).toHaveLength(0);
    expect(calls.release).toBe(1);
  });

  it("fails closed, without the backend's message, when the resolver throws", async () => {
    const broken: CredentialResolver = {
      obtain: async () => {
        throw new Error("vault said: token hvs.SECRET is expired");
      },
    };
    const err = await rejection(() =>
      runner(upstream, egress, spec, broken).run(
        headersStep,
        {},
        { credentialPath: { StaticRef: { key: "k" } } },
      ),
    );
    expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
    expect(JSON.stringify(err) + err.message).not.toContain("hvs.SECRET");
  });

  /** A resolver honouring the port's contract: the engine's check before and on the value. */
  function fakeResolver(secret: string) {
    const calls = { obtain: 0, release: 0 };
    const resolver: CredentialResolver = {
      async obtain(input) {
        calls.obtain++;
        input.check?.(null);
        const release = async () => {
          calls.release++;
        };
        input.call.sink.add([secret]);
        try {
          input.check?.(secret);
        } catch (err) {
          await release();
          throw err;
        }
        return { value: secret, release };
      },
    };
    return { resolver, calls };
  }

  it("decorates every request at send time, scrubs the secret from responses and releases once", async () => {
    const secret = "tok_live_9f8e7d6c5b4a";
    const { resolver, calls } = fakeResolver(secret);
    const def = workflow([
      {
        name: "flaky",
        operation_id: "flaky",
        query_params: { key: "cred", failures: "1" },
        on_error: { RetryN: 2 },
      },
      {
        name: "h",
        operation_id: "echoHeaders",
        extractors: { auth: "$.headers.authorization" },
        on_error: "AbortWorkflow",
      },
    ]);
    const r = runner(upstream, egress, spec, resolver);
    const out = await r.run(def, {}, { credentialPath: { StaticRef: { key: "billing/token" } } });
    expect(upstream.requests.map((q) => q.headers.authorization)).toEqual([
      `Bearer ${secret}`,
      `Bearer ${secret}`,
      `Bearer ${secret}`,
    ]);
    expect(calls).toEqual({ obtain: 1, release: 1 });
    const everything = JSON.stringify(out) + JSON.stringify(r.events);
    expect(everything).not.toContain(secret);
    expect((out.state.h as { auth: string }).auth).toBe("Bearer [REDACTED]");
  });

  it("releases the credential when the run fails", async () => {
    const { resolver, calls } = fakeResolver("tok_abc123456");
    const def = workflow([{ name: "f", operation_id: "fail", on_error: "AbortWorkflow" }]);
    await rejection(() =>
      runner(upstream, egress, spec, resolver).run(def, {}, { credentialPath: { StaticRef: { key: "k" } } }),
    );
    expect(calls.release).toBe(1);
  });

  it("does not resolve a credential when the input is invalid", async () => {
    const { resolver, calls } = fakeResolver("tok_abc123456");
    const def = workflow([findCustomer], EMAIL_SCHEMA);
    await rejection(() =>
      runner(upstream, egress, spec, resolver).run(def, {}, { credentialPath: { StaticRef: { key: "k" } } }),
    );
    expect(calls.obtain).toBe(0);
  });
});

describe("outcome rows (group commit)", () => {
  const twoSteps = () =>
    workflow([findCustomer, { ...listInvoices, on_error: "AbortWorkflow" }], EMAIL_SCHEMA);

  it("sends no further request once a step's outcome row failed to commit, and fails with that error", async () => {
    const r = runner(upstream, egress, spec);
    const auditDown = new Error("audit write failed (injected)");
    const types: string[] = [];
    const err = await rejection(() =>
      r.run(
        twoSteps(),
        { email: "ada@example.com" },
        {
          emit: async (type) => {
            types.push(type);
            if (type === "WorkflowStepExecuted") throw auditDown;
          },
        },
      ),
    );
    expect(err).toBe(auditDown);
    expect(upstream.requests.map((q) => `${q.method} ${q.rawPath}`)).toEqual(["GET /customers"]);
    expect(types).toEqual(["WorkflowInvocationStarted", "WorkflowStepExecuted", "WorkflowInvocationFailed"]);
  });

  it("with the caller's OutcomeRows, returns before the last rows commit; they settle (or fail) there", async () => {
    const r = runner(upstream, egress, spec);
    const commits: Array<() => void> = [];
    const held = (type: string) =>
      type === "WorkflowInvocationStarted"
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            commits.push(resolve);
          });
    const rows = new OutcomeRows();
    let firstStepRowPending = true;
    const out = await r.run(
      twoSteps(),
      { email: "ada@example.com" },
      {
        rows,
        emit: (type) => {
          const p = held(type);
          // The first step's row must commit before the second request: release it at once.
          if (type === "WorkflowStepExecuted" && firstStepRowPending) {
            firstStepRowPending = false;
            commits.shift()?.();
          }
          return p;
        },
      },
    );
    expect(out.result).toBeDefined();
    expect(upstream.requests).toHaveLength(2);
    // The second step's row and the completion row are still in flight.
    let settled = false;
    const done = rows.settled().then(() => {
      settled = true;
    });
    await new Promise((res) => setImmediate(res));
    expect(commits).toHaveLength(2);
    expect(settled).toBe(false);
    for (const c of commits.splice(0)) c();
    await done;
    expect(settled).toBe(true);
  });
});
