import { describe, expect, it } from "vitest";
import { buildRequest, type RequestArguments } from "../../../src/engines/openapi/build-request.js";
import type { SpecOperation } from "../../../src/engines/openapi/types.js";
import { GatewayError } from "../../../src/errors.js";
import { fixtureText, loadOk, minimalDoc, operation } from "./helpers.js";

const BASE = "https://api.example.com/v1";
const ok = { "200": { description: "ok" } };

const spec = loadOk({
  inline_json: minimalDoc({
    paths: {
      "/files/{name}": {
        get: {
          operationId: "getFile",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          responses: ok,
        },
      },
      "/pair/{a}{b}": {
        get: {
          operationId: "pair",
          parameters: [
            { name: "a", in: "path", required: true },
            { name: "b", in: "path", required: true },
          ],
          responses: ok,
        },
      },
      "/search": {
        get: {
          operationId: "search",
          parameters: [
            { name: "q", in: "query", required: true, schema: { type: "string" } },
            { name: "limit", in: "query", schema: { type: "integer" } },
            { name: "ratio", in: "query", schema: { type: "number" } },
            { name: "exact", in: "query", schema: { type: "boolean" } },
            { name: "tags", in: "query", schema: { type: "array", items: { type: "string" } } },
            {
              name: "ids",
              in: "query",
              explode: false,
              schema: { type: "array", items: { type: "integer" } },
            },
            { name: "filter", in: "query", style: "deepObject", explode: true, schema: { type: "object" } },
            { name: "sort", in: "query", schema: { type: "string", enum: ["asc", "desc"] } },
            { name: "maybe", in: "query", schema: { type: "string", nullable: true } },
            { name: "X-Trace", in: "header", required: true, schema: { type: "string" } },
            { name: "session", in: "cookie", schema: { type: "string" } },
          ],
          responses: ok,
        },
      },
      "/things": {
        post: {
          operationId: "createThing",
          requestBody: {
            required: true,
            content: { "application/json": { schema: { type: "object" } }, "text/plain": {} },
          },
          responses: ok,
        },
      },
    },
  }),
});

function op(id: string): SpecOperation {
  return operation(spec, id);
}

function invalid(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    const gatewayError = error as GatewayError;
    expect(gatewayError.code).toBe("INVALID_ARGUMENTS");
    expect(gatewayError.sealCode).toBe(4000);
    return gatewayError;
  }
  throw new Error("expected INVALID_ARGUMENTS");
}

function fileUrl(name: unknown): string {
  return buildRequest(op("getFile"), { pathParams: { name } }, BASE).url;
}

describe("buildRequest: path parameters are percent-encoded per segment", () => {
  it.each([
    ["../admin", "https://api.example.com/v1/files/..%2Fadmin"],
    ["a/b", "https://api.example.com/v1/files/a%2Fb"],
    ["?x=1", "https://api.example.com/v1/files/%3Fx%3D1"],
    ["#frag", "https://api.example.com/v1/files/%23frag"],
    ["%2e%2e", "https://api.example.com/v1/files/%252e%252e"],
    ["%2F", "https://api.example.com/v1/files/%252F"],
    ["..%2f..", "https://api.example.com/v1/files/..%252f.."],
    ["a b&c=d", "https://api.example.com/v1/files/a%20b%26c%3Dd"],
    ["naïve 日本", "https://api.example.com/v1/files/na%C3%AFve%20%E6%97%A5%E6%9C%AC"],
    ["\\..\\x", "https://api.example.com/v1/files/%5C..%5Cx"],
    ["...", "https://api.example.com/v1/files/..."],
    [42, "https://api.example.com/v1/files/42"],
  ])("%j stays inside one segment", (value, expected) => {
    // The schema says string; numbers are checked below, so give the string form here.
    const url = fileUrl(typeof value === "number" ? String(value) : value);
    expect(url).toBe(expected);
    expect(new URL(url).pathname.split("/")).toHaveLength(4);
  });

  it.each([".", ".."])("refuses the dot-segment %j", (value) => {
    const error = invalid(() => fileUrl(value));
    expect(error.details.reason).toBe("invalid_parameters");
    expect(JSON.stringify(error.details)).not.toContain('".."');
  });

  it("refuses two values that form a dot-segment together, and empty values", () => {
    invalid(() => buildRequest(op("pair"), { pathParams: { a: ".", b: "." } }, BASE));
    expect(buildRequest(op("pair"), { pathParams: { a: ".", b: "x" } }, BASE).url).toBe(`${BASE}/pair/.x`);
    invalid(() => fileUrl(""));
  });

  it("refuses lone surrogates instead of throwing a URIError", () => {
    invalid(() => fileUrl("\uD800"));
  });

  it("refuses a missing required path parameter, naming it", () => {
    const error = invalid(() => buildRequest(op("getFile"), {}, BASE));
    expect(error.details).toMatchObject({ reason: "missing_parameters", missing: ["path.name"] });
    invalid(() => buildRequest(op("getFile"), { pathParams: { name: null } }, BASE));
  });

  it("refuses path values of the wrong type", () => {
    const error = invalid(() => fileUrl(42));
    expect(error.details).toMatchObject({
      reason: "invalid_parameters",
      invalid: [{ in: "path", name: "name" }],
    });
    invalid(() => fileUrl(true));
    invalid(() => fileUrl({ a: 1 }));
  });

  it("cuts long unknown names in the error", () => {
    const long = "n".repeat(10_000);
    const error = invalid(() => buildRequest(op("getFile"), { pathParams: { name: "x", [long]: 1 } }, BASE));
    expect(error.message.length).toBeLessThan(300);
  });

  it("refuses parameters the operation does not declare", () => {
    const error = invalid(() => buildRequest(op("getFile"), { pathParams: { name: "x", other: "y" } }, BASE));
    expect(error.details.invalid).toEqual([
      { in: "path", name: "other", message: "is not a parameter of this operation" },
    ]);
  });
});

describe("buildRequest: query, headers, cookies and types", () => {
  const base: RequestArguments = { query: { q: "cats & dogs" }, headers: { "x-trace": "t1" } };

  it("serializes form-style queries, exploding arrays by default", () => {
    const request = buildRequest(
      op("search"),
      {
        query: {
          q: "cats & dogs",
          limit: 10,
          ratio: 0.5,
          exact: false,
          tags: ["a b", "c,d"],
          ids: [1, 2],
          filter: { color: "red" },
          sort: "asc",
          maybe: null,
        },
        headers: { "X-TRACE": "t1", "x-extra": "ok" },
        cookies: { session: "s 1;x" },
      },
      BASE,
    );
    expect(request).toEqual({
      method: "GET",
      url:
        "https://api.example.com/v1/search?q=cats%20%26%20dogs&limit=10&ratio=0.5&exact=false&tags=a%20b" +
        "&tags=c%2Cd&ids=1,2&filter[color]=red&sort=asc&maybe=",
      headers: { "x-trace": "t1", "x-extra": "ok", cookie: "session=s%201%3Bx" },
      body: undefined,
    });
  });

  it("lists every missing required parameter together", () => {
    const error = invalid(() => buildRequest(op("search"), {}, BASE));
    expect(error.details).toMatchObject({
      reason: "missing_parameters",
      missing: ["query.q", "header.X-Trace"],
    });
    expect(error.message).toBe("missing required arguments: query.q, header.X-Trace");
  });

  it.each([
    ["limit", "10"],
    ["limit", 1.5],
    ["ratio", "0.5"],
    ["exact", "true"],
    ["exact", 1],
    ["q", 5],
    ["tags", "a"],
    ["tags", [1]],
    ["ids", ["1"]],
    ["sort", "random"],
    ["limit", null],
    ["q", { nested: { deep: 1 } }],
    ["filter", [1]],
  ])("refuses %s = %j (no coercion)", (name, value) => {
    const error = invalid(() =>
      buildRequest(op("search"), { ...base, query: { q: "x", [name]: value } }, BASE),
    );
    expect(error.details.reason).toBe("invalid_parameters");
    expect(error.details.invalid).toEqual([expect.objectContaining({ in: "query", name })]);
  });

  it.each([
    ["host", "evil.example"],
    ["Content-Length", "0"],
    ["authorization", "Bearer x"],
    ["Cookie", "a=b"],
    ["proxy-authorization", "x"],
    ["bad header", "x"],
    ["x-split", "a\r\nInjected: 1"],
    ["x-latin", "é"],
  ])("refuses the header %j", (name, value) => {
    invalid(() => buildRequest(op("search"), { ...base, headers: { "x-trace": "t", [name]: value } }, BASE));
  });

  it("refuses CR/LF in a declared header value", () => {
    invalid(() => buildRequest(op("search"), { query: { q: "x" }, headers: { "X-Trace": "a\nb" } }, BASE));
  });

  it("refuses argument groups that are not objects", () => {
    invalid(() =>
      buildRequest(op("search"), { ...base, query: "q=1" as unknown as Record<string, unknown> }, BASE),
    );
  });
});

describe("buildRequest: bodies and base URLs", () => {
  it("sends JSON by default and text when asked", () => {
    expect(buildRequest(op("createThing"), { body: { a: [1, "x"] } }, BASE)).toEqual({
      method: "POST",
      url: "https://api.example.com/v1/things",
      headers: { "content-type": "application/json" },
      body: '{"a":[1,"x"]}',
    });
    const text = buildRequest(
      op("createThing"),
      { body: "hello", contentType: "text/plain; charset=utf-8" },
      BASE,
    );
    expect([text.headers["content-type"], text.body]).toEqual(["text/plain", "hello"]);
  });

  it("refuses a missing required body, a body where none is declared, and unknown media types", () => {
    expect(invalid(() => buildRequest(op("createThing"), {}, BASE)).details.missing).toEqual(["body"]);
    invalid(() => buildRequest(op("getFile"), { pathParams: { name: "a" }, body: {} }, BASE));
    invalid(() => buildRequest(op("createThing"), { body: {}, contentType: "application/xml" }, BASE));
    invalid(() => buildRequest(op("createThing"), { body: 5, contentType: "text/plain" }, BASE));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    invalid(() => buildRequest(op("createThing"), { body: cyclic }, BASE));
  });

  it("joins base paths with or without a trailing slash, and refuses unusable base URLs", () => {
    const args = { pathParams: { name: "a" } };
    expect(buildRequest(op("getFile"), args, "https://h.example/").url).toBe("https://h.example/files/a");
    expect(buildRequest(op("getFile"), args, "https://h.example/api/").url).toBe(
      "https://h.example/api/files/a",
    );
    for (const bad of ["ftp://h.example", "https://h.example/?x=1", "not a url", "https://h.example/#f"]) {
      expect(() => buildRequest(op("getFile"), args, bad)).toThrow(
        expect.objectContaining({ code: "EXECUTION_FAILED", details: { reason: "bad_base_url" } }),
      );
    }
  });

  it("builds petstore requests from the real spec", () => {
    const petstore = loadOk({ inline_yaml: fixtureText("petstore/openapi.yaml") });
    const base = "https://petstore3.swagger.io/api/v3";
    expect(buildRequest(operation(petstore, "getPetById"), { pathParams: { petId: 7 } }, base).url).toBe(
      `${base}/pet/7`,
    );
    invalid(() => buildRequest(operation(petstore, "getPetById"), { pathParams: { petId: "7" } }, base));
    invalid(() =>
      buildRequest(operation(petstore, "getPetById"), { pathParams: { petId: "../user/login" } }, base),
    );
    expect(
      buildRequest(operation(petstore, "findPetsByStatus"), { query: { status: "sold" } }, base).url,
    ).toBe(`${base}/pet/findByStatus?status=sold`);
    invalid(() =>
      buildRequest(operation(petstore, "findPetsByStatus"), { query: { status: "stolen" } }, base),
    );
    const added = buildRequest(operation(petstore, "addPet"), { body: { name: "rex", photoUrls: [] } }, base);
    expect(added.headers["content-type"]).toBe("application/json");
  });
});
