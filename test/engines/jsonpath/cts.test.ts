/**
 * The JSONPath Compliance Test Suite (test/fixtures/jsonpath-cts/), every case: valid selectors
 * must give one of the accepted results (values and normalized paths, from the same
 * alternative), invalid selectors must be refused by compileJsonPath.
 */

import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { compileJsonPath, queryJsonPath } from "../../../src/engines/jsonpath/jsonpath.js";

interface CtsCase {
  name: string;
  selector: string;
  document?: unknown;
  result?: unknown[];
  results?: unknown[][];
  result_paths?: string[];
  results_paths?: string[][];
  invalid_selector?: boolean;
}

const suite = JSON.parse(
  readFileSync(new URL("../../fixtures/jsonpath-cts/cts.json", import.meta.url), "utf8"),
) as { tests: CtsCase[] };

/** Returns null when the case passes, else what went wrong. */
function runCase(t: CtsCase): string | null {
  const compiled = compileJsonPath(t.selector);
  if (t.invalid_selector === true) return compiled.ok ? "accepted an invalid selector" : null;
  if (!compiled.ok) return `refused a valid selector: ${compiled.error}`;
  const got = queryJsonPath(compiled.path, t.document);
  const values = t.results ?? (t.result === undefined ? [] : [t.result]);
  const paths = t.results_paths ?? (t.result_paths === undefined ? [] : [t.result_paths]);
  if (values.length === 0) return "case has no expected result";
  const ok = values.some(
    (v, i) =>
      isDeepStrictEqual(got.values, v) && (paths[i] === undefined || isDeepStrictEqual(got.paths, paths[i])),
  );
  return ok ? null : `got ${JSON.stringify(got.values)} at ${JSON.stringify(got.paths)}`;
}

describe("JSONPath Compliance Test Suite", () => {
  it("holds the expected number of cases (the fixture is not empty or truncated)", () => {
    expect(suite.tests.length).toBe(703);
    expect(suite.tests.filter((t) => t.invalid_selector === true).length).toBe(247);
  });

  it("passes every case", () => {
    const failures: string[] = [];
    for (const t of suite.tests) {
      const problem = runCase(t);
      if (problem !== null) failures.push(`${t.name} (${JSON.stringify(t.selector)}): ${problem}`);
    }
    const passed = suite.tests.length - failures.length;
    console.log(`JSONPath CTS: ${passed}/${suite.tests.length} passed`);
    expect(failures).toEqual([]);
  });

  it.each(suite.tests.map((t) => [t.name, t] as const))("%s", (_name, t) => {
    expect(runCase(t)).toBeNull();
  });
});
