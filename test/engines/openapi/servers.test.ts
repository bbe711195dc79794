import { describe, expect, it } from "vitest";
import { hostsOf, resolveServerUrl } from "../../../src/engines/openapi/servers.js";
import { expectProblem, loadOk, loadProblems, minimalDoc, operation } from "./helpers.js";

const ok = { "200": { description: "ok" } };

describe("servers", () => {
  it("replaces variables by their defaults", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        servers: [
          {
            url: "{scheme}://{region}.API.example.com:{port}/v{version}",
            variables: {
              scheme: { default: "https", enum: ["https", "http"] },
              region: { default: "eu" },
              port: { default: "8443" },
              version: { default: "2" },
            },
          },
        ],
      }),
    });
    expect(spec.servers).toEqual([
      {
        url: "https://eu.API.example.com:8443/v2",
        template: "{scheme}://{region}.API.example.com:{port}/v{version}",
        description: undefined,
      },
    ]);
    expect(hostsOf(spec)).toEqual(["eu.api.example.com"]);
  });

  it("reports variables without a default, undeclared, or outside their enum", () => {
    const problems = loadProblems({
      inline_json: minimalDoc({
        servers: [
          { url: "https://{a}.example.com", variables: { a: { enum: ["x"] } } },
          { url: "https://{undeclared}.example.com" },
          { url: "https://{b}.example.com", variables: { b: { default: "y", enum: ["x"] } } },
        ],
      }),
    });
    expectProblem(problems, "$.servers[0].variables.a", /string default/);
    expectProblem(problems, "$.servers[1].url", /"undeclared" is not declared/);
    expectProblem(problems, "$.servers[2].variables.b", /enum/);
  });

  it.each([
    ["ftp://files.example.com", /http or https/],
    ["https://user:pw@api.example.com", /credentials/],
    ["https://api.example.com/?key=1", /query/],
    ["https://api.example.com\\@evil.example/", /backslash/],
    ["https://", /not a valid URL/],
  ])("refuses the server URL %j", (url, message) => {
    expectProblem(
      loadProblems({ inline_json: minimalDoc({ servers: [{ url }] }) }),
      "$.servers[0].url",
      message,
    );
  });

  it("operation servers override path servers, which override the root", () => {
    const spec = loadOk({
      inline_json: minimalDoc({
        paths: {
          "/a": {
            servers: [{ url: "https://path.example.com" }],
            get: { operationId: "a", servers: [{ url: "https://op.example.com" }], responses: ok },
            post: { operationId: "b", responses: ok },
          },
          "/c": { get: { operationId: "c", servers: [], responses: ok } },
        },
      }),
    });
    expect(resolveServerUrl(spec, operation(spec, "a"))).toBe("https://op.example.com");
    expect(resolveServerUrl(spec, operation(spec, "b"))).toBe("https://path.example.com");
    expect(resolveServerUrl(spec, operation(spec, "c"))).toBe("https://api.example.com/v1");
    expect(hostsOf(spec)).toEqual(["api.example.com", "op.example.com", "path.example.com"]);
  });

  it("a relative server needs source_url or a base URL override", () => {
    const doc = minimalDoc({ servers: [{ url: "/api/v3" }] });
    const inline = loadOk({ inline_json: doc });
    expect(hostsOf(inline)).toEqual([]);
    expect(() => resolveServerUrl(inline, operation(inline, "getItem"))).toThrow(
      expect.objectContaining({ code: "EXECUTION_FAILED", details: { reason: "no_server_url" } }),
    );
    expect(resolveServerUrl(inline, operation(inline, "getItem"), "https://mirror.example.com/x")).toBe(
      "https://mirror.example.com/x",
    );
    expect(() => resolveServerUrl(inline, operation(inline, "getItem"), "file:///etc")).toThrow(
      expect.objectContaining({ code: "EXECUTION_FAILED" }),
    );

    const fetched = loadOk({
      text: JSON.stringify(doc),
      source_url: "https://specs.example.com/pets/openapi.json",
    });
    expect(fetched.servers[0]?.url).toBe("https://specs.example.com/api/v3");
    expect(hostsOf(fetched)).toEqual(["specs.example.com"]);
  });

  it("with no servers at all the default is / relative to the source", () => {
    const { servers: _drop, ...doc } = minimalDoc();
    const spec = loadOk({ inline_json: doc, source_url: "https://h.example.com/specs/x.yaml?v=1" });
    expect(spec.servers.map((s) => s.url)).toEqual(["https://h.example.com/"]);
  });

  it("refuses a source_url that is not http(s)", () => {
    expectProblem(
      loadProblems({ inline_json: minimalDoc(), source_url: "file:///etc/openapi.json" }),
      "$.source_url",
      /http or https/,
    );
  });
});
