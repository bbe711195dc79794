import type { PlainJson } from "../../seal/json.js";
import { isRecord, mergeParameters, readContent, readParameterList } from "./parameters.js";
import { readSecurity } from "./security.js";
import { readServers } from "./servers.js";
import { type PathSegment, type ProblemList, shown } from "./spec-path.js";
import {
  HTTP_METHODS,
  type OperationParameter,
  type OperationRequestBody,
  type OperationResponse,
  type ResolvedServer,
  type SecurityRequirement,
  type SecurityScheme,
  type SpecOperation,
} from "./types.js";

type Json = PlainJson | undefined;

export interface OperationContext {
  problems: ProblemList;
  schemes: ReadonlyMap<string, SecurityScheme>;
  rootSecurity: SecurityRequirement[];
  rootServers: ResolvedServer[];
  sourceUrl: string | undefined;
}

/**
 * The `{name}` variables of a path template, or why it is malformed. Some published specs key
 * variants of a route by a fixed query (`/responses?beta=true`): that query is kept as a
 * constant of the operation, but it may hold no variable, so no value can ever reach it.
 */
export function templateVariables(
  template: string,
): { ok: true; names: string[] } | { ok: false; message: string } {
  if (!template.startsWith("/")) return { ok: false, message: 'a path must start with "/"' };
  const [path = "", query] = splitTemplate(template);
  if (/[#\s]/.test(template) || (query !== undefined && /[?{}]/.test(query))) {
    return { ok: false, message: "a path must not contain #, whitespace, or a query with variables" };
  }
  const names = [...path.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? "");
  if (/[{}]/.test(path.replace(/\{[^{}]*\}/g, "")))
    return { ok: false, message: "unbalanced { } in the path" };
  if (names.some((n) => n === "")) return { ok: false, message: "empty {} in the path" };
  if (new Set(names).size !== names.length) return { ok: false, message: "a path variable appears twice" };
  return { ok: true, names };
}

/** `[path, fixedQuery]` of a template (the query is undefined when there is none). */
export function splitTemplate(template: string): [string, string | undefined] {
  const at = template.indexOf("?");
  return at < 0 ? [template, undefined] : [template.slice(0, at), template.slice(at + 1)];
}

function readRequestBody(value: Json, at: PathSegment[], problems: ProblemList): OperationRequestBody | null {
  if (value === undefined) return null;
  if (!isRecord(value)) {
    problems.add(at, "requestBody must be an object");
    return null;
  }
  if (!isRecord(value.content)) problems.add([...at, "content"], "requestBody needs a content object");
  return {
    required: value.required === true,
    content: readContent(value.content, [...at, "content"], problems),
  };
}

function readResponses(
  value: Json,
  at: PathSegment[],
  problems: ProblemList,
): Record<string, OperationResponse> {
  const out: Record<string, OperationResponse> = {};
  if (value === undefined) return out;
  if (!isRecord(value)) {
    problems.add(at, "responses must be an object");
    return out;
  }
  for (const [status, response] of Object.entries(value)) {
    if (status.startsWith("x-")) continue;
    if (!isRecord(response)) {
      problems.add([...at, status], "a response must be an object");
      continue;
    }
    out[status] = {
      description: typeof response.description === "string" ? response.description : undefined,
      content: readContent(response.content, [...at, status, "content"], problems),
    };
  }
  return out;
}

function readOperation(
  op: { [key: string]: PlainJson },
  method: (typeof HTTP_METHODS)[number],
  template: string,
  pathParameters: readonly OperationParameter[],
  variables: readonly string[] | null,
  pathServers: ResolvedServer[] | undefined,
  ctx: OperationContext,
): SpecOperation {
  const at: PathSegment[] = ["paths", template, method];
  const { problems } = ctx;
  let operationId: string | null = null;
  if (op.operationId !== undefined) {
    if (typeof op.operationId === "string" && op.operationId !== "") operationId = op.operationId;
    else problems.add([...at, "operationId"], "operationId must be a non-empty string");
  }
  const parameters = mergeParameters(
    pathParameters,
    readParameterList(op.parameters, [...at, "parameters"], problems),
  );
  if (variables !== null) {
    const declared = new Set(parameters.filter((p) => p.in === "path").map((p) => p.name));
    for (const name of declared) {
      if (!variables.includes(name)) {
        problems.add([...at, "parameters"], `path parameter ${shown(name)} is not in the path template`);
      }
    }
    for (const name of variables) {
      if (!declared.has(name)) problems.add(at, `path variable {${name}} has no path parameter`);
    }
  }
  return {
    operationId,
    method: method.toUpperCase() as SpecOperation["method"],
    pathTemplate: template,
    summary: typeof op.summary === "string" ? op.summary : undefined,
    description: typeof op.description === "string" ? op.description : undefined,
    deprecated: op.deprecated === true,
    parameters,
    requestBody: readRequestBody(op.requestBody, [...at, "requestBody"], problems),
    responses: readResponses(op.responses, [...at, "responses"], problems),
    security: readSecurity(op.security, [...at, "security"], ctx.schemes, problems) ?? ctx.rootSecurity,
    servers:
      readServers(op.servers, [...at, "servers"], problems, ctx.sourceUrl) ?? pathServers ?? ctx.rootServers,
  };
}

/** Every operation under `paths` (dereferenced), in document order. */
export function readOperations(paths: Json, ctx: OperationContext): SpecOperation[] {
  const { problems } = ctx;
  if (!isRecord(paths)) {
    problems.add(["paths"], paths === undefined ? "paths is required" : "paths must be an object");
    return [];
  }
  const out: SpecOperation[] = [];
  for (const [template, pathItem] of Object.entries(paths)) {
    if (template.startsWith("x-")) continue;
    const parsed = templateVariables(template);
    if (!parsed.ok) problems.add(["paths", template], parsed.message);
    if (!isRecord(pathItem)) {
      problems.add(["paths", template], "a path item must be an object");
      continue;
    }
    const pathServers = readServers(
      pathItem.servers,
      ["paths", template, "servers"],
      problems,
      ctx.sourceUrl,
    );
    const pathParameters = readParameterList(
      pathItem.parameters,
      ["paths", template, "parameters"],
      problems,
    );
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (op === undefined) continue;
      if (!isRecord(op)) {
        problems.add(["paths", template, method], "an operation must be an object");
        continue;
      }
      const variables = parsed.ok ? parsed.names : null;
      out.push(readOperation(op, method, template, pathParameters, variables, pathServers, ctx));
    }
  }
  return out;
}

/** Index key for method + path template lookups. */
export function methodPathKey(method: string, template: string): string {
  return `${method.toUpperCase()} ${template}`;
}

/** Indexes operations; a repeated operationId is a problem (it would make lookups ambiguous). */
export function indexOperations(operations: readonly SpecOperation[], problems: ProblemList) {
  const byOperationId = new Map<string, SpecOperation>();
  const byMethodPath = new Map<string, SpecOperation>();
  for (const op of operations) {
    byMethodPath.set(methodPathKey(op.method, op.pathTemplate), op);
    if (op.operationId === null) continue;
    const first = byOperationId.get(op.operationId);
    if (first !== undefined) {
      problems.add(
        ["paths", op.pathTemplate, op.method.toLowerCase(), "operationId"],
        `duplicate operationId ${shown(op.operationId)} (also ${first.method} ${first.pathTemplate})`,
      );
      continue;
    }
    byOperationId.set(op.operationId, op);
  }
  return { byOperationId, byMethodPath };
}
