import type { PlainJson } from "../../seal/json.js";
import { dereference } from "./deref.js";
import { indexOperations, methodPathKey, readOperations } from "./operations.js";
import { isRecord } from "./parameters.js";
import { parseSpecSource, type SpecSource } from "./parse-input.js";
import { readSecurity, readSecuritySchemes } from "./security.js";
import { baseUrlProblem, readServers } from "./servers.js";
import { ProblemList, shown } from "./spec-path.js";
import type { IndexedSpec, LoadResult, SpecOperation, SpecProblem } from "./types.js";

export interface LoadSpecInput extends SpecSource {
  /** Where the text was fetched from: relative server URLs are resolved against it. */
  source_url?: string;
}

/** A spec with thousands of faults gets the first ones and a count, not a megabyte of errors. */
export const MAX_REPORTED_PROBLEMS = 200;

const VERSION = /^3\.([01])\.(0|[1-9][0-9]*)$/;

function failed(problems: readonly SpecProblem[]): LoadResult {
  if (problems.length <= MAX_REPORTED_PROBLEMS) return { ok: false, problems: [...problems] };
  const more = problems.length - MAX_REPORTED_PROBLEMS;
  return {
    ok: false,
    problems: [
      ...problems.slice(0, MAX_REPORTED_PROBLEMS),
      { path: "$", message: `and ${more} more problems` },
    ],
  };
}

function checkHeader(doc: { [key: string]: PlainJson }, problems: ProblemList): "3.0" | "3.1" {
  const version = doc.openapi;
  const match = typeof version === "string" ? VERSION.exec(version) : null;
  if (match === null) {
    problems.add(
      ["openapi"],
      version === undefined
        ? "openapi is required (OpenAPI 3.0.x or 3.1.x)"
        : `unsupported OpenAPI version ${shown(String(version))}: only 3.0.x and 3.1.x are accepted`,
    );
  }
  const info = doc.info;
  if (!isRecord(info)) {
    problems.add(["info"], info === undefined ? "info is required" : "info must be an object");
  } else {
    if (typeof info.title !== "string") problems.add(["info", "title"], "info.title must be a string");
    if (typeof info.version !== "string") problems.add(["info", "version"], "info.version must be a string");
  }
  return match?.[1] === "1" ? "3.1" : "3.0";
}

function checkSourceUrl(sourceUrl: string | undefined, problems: ProblemList): string | undefined {
  if (sourceUrl === undefined) return undefined;
  const why = baseUrlProblem(sourceUrl.split(/[?#]/, 1)[0] ?? "");
  if (why === null) return sourceUrl;
  problems.add(["source_url"], `source_url ${why}`);
  return undefined;
}

/**
 * Parses, checks, dereferences and indexes an OpenAPI 3.0/3.1 description. Every problem found
 * is returned together, each with its JSONPath; a spec with any problem is refused whole.
 */
export function loadSpec(input: LoadSpecInput): LoadResult {
  const tree = parseSpecSource(input);
  if (!tree.ok) return failed(tree.problems);
  const doc = tree.value;
  if (!isRecord(doc)) return failed([{ path: "$", message: "the spec must be a JSON/YAML object" }]);
  if (doc.swagger !== undefined) {
    return failed([
      {
        path: "$.swagger",
        message: "Swagger/OpenAPI 2.0 is not supported: convert the spec to OpenAPI 3.0 or 3.1",
      },
    ]);
  }
  const problems = new ProblemList();
  const majorMinor = checkHeader(doc, problems);
  const usableSource = checkSourceUrl(input.source_url, problems);

  const spec = dereference(doc, problems, { siblingsAllowed: majorMinor === "3.1" });
  const components = isRecord(spec.components) ? spec.components : {};
  const schemes = readSecuritySchemes(components.securitySchemes, problems);
  const rootSecurity = readSecurity(spec.security, ["security"], schemes, problems) ?? [];
  // OpenAPI: with no servers, the default is a single server at "/" (relative to the spec).
  const rootServers =
    readServers(spec.servers, ["servers"], problems, usableSource) ??
    readServers([{ url: "/" }], ["servers"], problems, usableSource) ??
    [];
  const operations = readOperations(spec.paths, {
    problems,
    schemes,
    rootSecurity,
    rootServers,
    sourceUrl: usableSource,
  });
  const { byOperationId, byMethodPath } = indexOperations(operations, problems);
  if (problems.size > 0) return failed(problems.items);

  const info = doc.info as { [key: string]: PlainJson };
  return {
    ok: true,
    spec: {
      openapi: doc.openapi as string,
      majorMinor,
      title: info.title as string,
      apiVersion: info.version as string,
      servers: rootServers,
      operations,
      byOperationId,
      byMethodPath,
      securitySchemes: schemes,
      security: rootSecurity,
      document: doc,
    },
  };
}

export type OperationRef = { operationId: string } | { method: string; path: string };

/**
 * Finds an operation by operationId, or by method and path template. A template matches
 * exactly, or else when it differs only in variable names (`/pets/{id}` for `/pets/{petId}`)
 * and exactly one operation does so.
 */
export function findOperation(spec: IndexedSpec, ref: OperationRef): SpecOperation | undefined {
  if ("operationId" in ref) return spec.byOperationId.get(ref.operationId);
  const exact = spec.byMethodPath.get(methodPathKey(ref.method, ref.path));
  if (exact !== undefined) return exact;
  const shape = (template: string) => template.replace(/\{[^{}]*\}/g, "{}");
  const method = ref.method.toUpperCase();
  const candidates = spec.operations.filter(
    (op) => op.method === method && shape(op.pathTemplate) === shape(ref.path),
  );
  return candidates.length === 1 ? candidates[0] : undefined;
}
