import { describe, expect, it } from "vitest";
import { MAX_ARGUMENT_DEPTH, MAX_CHECKED_VALUES, scanArguments } from "../../src/policy/arguments.js";

describe("scanArguments", () => {
  it("finds path and URL keys at any depth, in arrays and objects", () => {
    const scan = scanArguments({
      path: "/a",
      query: "path=/etc/passwd",
      options: { output_path: "/b", nested: [{ "dest-path": "/c" }, { filePath: "/d" }] },
      files: [{ source_path: ["/e", "/f", null] }],
      paths: ["/g", ["/h"]],
      url: "https://a.example/",
      callback_url: "https://b.example/",
      links: { targetUrl: "https://c.example/", mirror_uris: ["https://d.example/"] },
    });
    expect(scan.incomplete).toBeNull();
    expect(scan.paths).toEqual([
      { at: "path", value: "/a" },
      { at: "options.output_path", value: "/b" },
      { at: "options.nested[0].dest-path", value: "/c" },
      { at: "options.nested[1].filePath", value: "/d" },
      { at: "files[0].source_path[0]", value: "/e" },
      { at: "files[0].source_path[1]", value: "/f" },
      { at: "paths[0]", value: "/g" },
      { at: "paths[1][0]", value: "/h" },
    ]);
    expect(scan.urls.map((u) => u.at)).toEqual([
      "url",
      "callback_url",
      "links.targetUrl",
      "links.mirror_uris[0]",
    ]);
  });

  it("does not treat look-alike key names as paths or URLs", () => {
    const scan = scanArguments({
      xpath: "/a",
      classpath: "/b",
      pathname: "/c",
      curl: "x",
      urlencoded: "y",
      Path: "/d",
    });
    expect(scan.paths).toEqual([{ at: "Path", value: "/d" }]);
    expect(scan.urls).toEqual([]);
  });

  it.each([
    [{ path: 42 }, "path"],
    [{ path: true }, "path"],
    [{ path: { dir: "/etc" } }, "path"],
    [{ a: { b_path: [{ c: "/x" }] } }, "a.b_path[0]"],
  ])("reports a non-string value under a path key as unusable: %j", (args, at) => {
    const scan = scanArguments(args);
    expect(scan.paths).toEqual([{ at, problem: "must be a string or a list of strings" }]);
  });

  it("treats null as absent", () => {
    expect(scanArguments({ path: null, url: null }).paths).toEqual([]);
  });

  it("quotes keys that are not identifiers", () => {
    const scan = scanArguments({ "a b": { "x.y_path": "/p" } });
    expect(scan.paths).toEqual([{ at: '["a b"]["x.y_path"]', value: "/p" }]);
  });

  it("reads an own __proto__ key parsed from JSON", () => {
    const scan = scanArguments(JSON.parse('{"__proto__": {"path": "/etc/shadow"}}'));
    expect(scan.paths).toEqual([{ at: "__proto__.path", value: "/etc/shadow" }]);
  });

  it("stops and reports arguments that are too deep instead of overflowing the stack", () => {
    let deep: unknown = { path: "/x" };
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const scan = scanArguments(deep);
    expect(scan.incomplete).toContain(String(MAX_ARGUMENT_DEPTH));
  });

  it("stops and reports arguments with too many values", () => {
    const scan = scanArguments({ list: Array.from({ length: 200_000 }, () => 1) });
    expect(scan.incomplete).toContain("more than");
  });
});

describe("scanArguments bounds", () => {
  it("reports more than MAX_CHECKED_VALUES paths or URLs as incomplete", () => {
    const paths = Array.from({ length: MAX_CHECKED_VALUES }, () => "/a");
    expect(scanArguments({ paths }).incomplete).toBeNull();
    expect(scanArguments({ paths: [...paths, "/b"] }).incomplete).toContain(String(MAX_CHECKED_VALUES));
    expect(scanArguments({ urls: [...paths, "/b"] }).incomplete).toContain("URLs");
  });
});
