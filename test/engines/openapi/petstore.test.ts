import { describe, expect, it } from "vitest";
import { findOperation } from "../../../src/engines/openapi/load-spec.js";
import { hostsOf, resolveServerUrl } from "../../../src/engines/openapi/servers.js";
import { fixtureText, loadOk, operation } from "./helpers.js";

// The Swagger Petstore 3 description as published (test/fixtures/openapi/petstore/README.md).
const spec = loadOk({ inline_yaml: fixtureText("petstore/openapi.yaml") });

describe("Swagger Petstore 3 (real spec, YAML)", () => {
  it("is read as OpenAPI 3.0 with its title, version and server", () => {
    expect(spec.openapi).toBe("3.0.4");
    expect(spec.majorMinor).toBe("3.0");
    expect(spec.title).toBe("Swagger Petstore - OpenAPI 3.0");
    expect(spec.servers.map((s) => s.url)).toEqual(["https://petstore3.swagger.io/api/v3"]);
    expect(hostsOf(spec)).toEqual(["petstore3.swagger.io"]);
  });

  it("indexes all 19 operations by operationId and by method + path", () => {
    expect(spec.operations).toHaveLength(19);
    expect(spec.byOperationId.size).toBe(19);
    expect(spec.byMethodPath.get("GET /pet/findByStatus")).toBe(operation(spec, "findPetsByStatus"));
    expect(findOperation(spec, { method: "get", path: "/pet/{petId}" })).toBe(operation(spec, "getPetById"));
    // Same shape, other variable name: found when unambiguous.
    expect(findOperation(spec, { method: "GET", path: "/pet/{id}" })).toBe(operation(spec, "getPetById"));
    expect(findOperation(spec, { method: "PATCH", path: "/pet/{petId}" })).toBeUndefined();
    expect(findOperation(spec, { operationId: "nope" })).toBeUndefined();
  });

  it("findPetsByStatus: GET, optional exploded query enum, oauth2 security", () => {
    const op = operation(spec, "findPetsByStatus");
    expect(op.method).toBe("GET");
    expect(op.pathTemplate).toBe("/pet/findByStatus");
    expect(op.parameters).toEqual([
      expect.objectContaining({ name: "status", in: "query", required: false, style: "form", explode: true }),
    ]);
    expect(op.parameters[0]?.schema).toMatchObject({
      type: "string",
      enum: ["available", "pending", "sold"],
    });
    expect(op.security).toEqual([{ petstore_auth: ["write:pets", "read:pets"] }]);
    expect(op.requestBody).toBeNull();
    expect(Object.keys(op.responses)).toEqual(["200", "400", "default"]);
    // The response schema's $ref is resolved: an array of the Pet schema object itself.
    const schema = op.responses["200"]?.content["application/json"]?.schema as { items: unknown } | undefined;
    const items = schema?.items;
    expect(items).toMatchObject({ type: "object", required: ["name", "photoUrls"] });
  });

  it("getPetById: required integer path parameter, api_key or oauth2", () => {
    const op = operation(spec, "getPetById");
    expect([op.method, op.pathTemplate]).toEqual(["GET", "/pet/{petId}"]);
    expect(op.parameters).toEqual([
      expect.objectContaining({ name: "petId", in: "path", required: true, style: "simple", explode: false }),
    ]);
    expect(op.parameters[0]?.schema).toMatchObject({ type: "integer", format: "int64" });
    expect(op.security).toEqual([{ api_key: [] }, { petstore_auth: ["write:pets", "read:pets"] }]);
    expect(resolveServerUrl(spec, op)).toBe("https://petstore3.swagger.io/api/v3");
  });

  it("addPet: POST with a required body in three media types, schema dereferenced", () => {
    const op = operation(spec, "addPet");
    expect([op.method, op.pathTemplate]).toEqual(["POST", "/pet"]);
    expect(op.parameters).toEqual([]);
    expect(op.requestBody?.required).toBe(true);
    expect(Object.keys(op.requestBody?.content ?? {})).toEqual([
      "application/json",
      "application/xml",
      "application/x-www-form-urlencoded",
    ]);
    const schema = op.requestBody?.content["application/json"]?.schema as Record<string, unknown>;
    expect(schema).toMatchObject({ type: "object", properties: { category: { type: "object" } } });
    expect(JSON.stringify(schema)).not.toContain("$ref");
    // Every reference to the same component is the same object (no copies).
    expect(op.requestBody?.content["application/xml"]?.schema).toBe(schema);
    expect(op.security).toEqual([{ petstore_auth: ["write:pets", "read:pets"] }]);
  });

  it("deletePet merges a header parameter and a path parameter", () => {
    const op = operation(spec, "deletePet");
    expect(op.parameters.map((p) => `${p.in}:${p.name}:${p.required}`)).toEqual([
      "header:api_key:false",
      "path:petId:true",
    ]);
  });

  it("operations without security have none, since the spec has no root security", () => {
    expect(spec.security).toEqual([]);
    expect(operation(spec, "loginUser").security).toEqual([]);
  });

  it("reads the security schemes and how credentials are injected", () => {
    expect(spec.securitySchemes.get("api_key")).toMatchObject({
      type: "apiKey",
      injection: { kind: "apiKey", in: "header", name: "api_key" },
    });
    // oauth2 is recorded, and its token is sent as a bearer token.
    expect(spec.securitySchemes.get("petstore_auth")).toMatchObject({
      type: "oauth2",
      injection: { kind: "bearer" },
    });
  });

  it("keeps the un-dereferenced document, serializable and with its $refs", () => {
    const text = JSON.stringify(spec.document);
    expect(text).toContain('"$ref":"#/components/schemas/Pet"');
    expect(spec.document.openapi).toBe("3.0.4");
  });
});
