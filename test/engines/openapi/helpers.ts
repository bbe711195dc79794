import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { type LoadSpecInput, loadSpec } from "../../../src/engines/openapi/load-spec.js";
import type { IndexedSpec, SpecOperation, SpecProblem } from "../../../src/engines/openapi/types.js";
import { packageRoot } from "../../../src/paths.js";

export const FIXTURES = join(packageRoot(), "test", "fixtures", "openapi");

export function fixtureText(relative: string): string {
  return readFileSync(join(FIXTURES, relative), "utf8");
}

/** A small valid 3.0 document; `paths` and other top-level keys can be replaced. */
export function minimalDoc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "t", version: "1" },
    servers: [{ url: "https://api.example.com/v1" }],
    paths: {
      "/items/{id}": {
        get: {
          operationId: "getItem",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": { description: "ok" } },
        },
      },
    },
    ...extra,
  };
}

export function loadOk(input: LoadSpecInput): IndexedSpec {
  const result = loadSpec(input);
  if (!result.ok) throw new Error(`expected the spec to load:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.spec;
}

export function loadProblems(input: LoadSpecInput): SpecProblem[] {
  const result = loadSpec(input);
  if (result.ok) throw new Error("expected the spec to be refused");
  return result.problems;
}

/** Asserts that one problem sits at `path` and its message matches. */
export function expectProblem(problems: readonly SpecProblem[], path: string, message: RegExp): void {
  expect(problems).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(message) }]));
}

export function operation(spec: IndexedSpec, operationId: string): SpecOperation {
  const op = spec.byOperationId.get(operationId);
  if (op === undefined) throw new Error(`no operation ${operationId}`);
  return op;
}
