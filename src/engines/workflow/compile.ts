/**
 * Checks a parsed definition against its OpenAPI spec and compiles everything a run needs:
 * operations, templates, extractor paths, the input validator. Every problem is reported at
 * once, each with its path in the definition.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../seal/canonical.js";
import { type CompiledPath, compileJsonPath } from "../jsonpath/jsonpath.js";
import { findOperation } from "../openapi/load-spec.js";
import { jsonPath, type PathSegment } from "../openapi/spec-path.js";
import type { IndexedSpec, OperationParameter, ParameterLocation, SpecOperation } from "../openapi/types.js";
import { type CompiledBody, compileBody } from "./body-template.js";
import type { DefinitionProblem, OnError, WorkflowDefinition, WorkflowStep } from "./definition.js";
import { compileInputSchema, type InputValidator } from "./input-schema.js";
import { type CompiledTemplate, compileTemplate, type TemplateScope } from "./templates.js";

export interface ParamTemplate {
  name: string;
  template: CompiledTemplate;
  /** The declared parameter, or undefined for an extra header. */
  param: OperationParameter | undefined;
}

export interface CompiledStep {
  name: string;
  index: number;
  operation: SpecOperation;
  /** operationId, else `METHOD /template`: what events name (never a rendered URL). */
  operationLabel: string;
  pathParams: ParamTemplate[];
  queryParams: ParamTemplate[];
  headers: ParamTemplate[];
  body: CompiledBody | null;
  extractors: { name: string; path: CompiledPath }[];
  onError: OnError;
  timeoutMs: number | undefined;
}

export interface CompiledWorkflow {
  def: WorkflowDefinition;
  steps: CompiledStep[];
  validateInput: InputValidator;
  /** `sha256:<hex>` of the canonical definition: names exactly what ran. */
  definitionHash: string;
}

export type CompileWorkflowResult =
  | { ok: true; workflow: CompiledWorkflow }
  | { ok: false; problems: DefinitionProblem[] };

export function sha256Canonical(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex")}`;
}

class Problems {
  readonly items: DefinitionProblem[] = [];
  add(at: readonly PathSegment[], message: string) {
    this.items.push({ path: jsonPath(at), message });
  }
}

function inputNames(schema: Record<string, unknown>): Set<string> | null {
  const props = schema.properties;
  if (schema.additionalProperties !== false || typeof props !== "object" || props === null) return null;
  return new Set(Object.keys(props));
}

function compileParams(
  map: Record<string, string> | undefined,
  location: ParameterLocation,
  op: SpecOperation,
  at: PathSegment[],
  scope: TemplateScope,
  problems: Problems,
): ParamTemplate[] {
  const declared = op.parameters.filter((p) => p.in === location);
  const find = (name: string) =>
    location === "header"
      ? declared.find((p) => p.name.toLowerCase() === name.toLowerCase())
      : declared.find((p) => p.name === name);
  const out: ParamTemplate[] = [];
  for (const [name, source] of Object.entries(map ?? {})) {
    const param = find(name);
    if (param === undefined && location !== "header") {
      problems.add(
        [...at, name],
        `${op.method} ${op.pathTemplate} has no ${location} parameter ${JSON.stringify(name)}`,
      );
      continue;
    }
    const compiled = compileTemplate(source, "text", scope);
    if (!compiled.ok) for (const message of compiled.problems) problems.add([...at, name], message);
    else out.push({ name, template: compiled.template, param });
  }
  const given = Object.keys(map ?? {});
  for (const p of declared) {
    const isGiven = given.some((g) =>
      location === "header" ? g.toLowerCase() === p.name.toLowerCase() : g === p.name,
    );
    if (p.required && !isGiven)
      problems.add(at, `the required ${location} parameter ${JSON.stringify(p.name)} is not set`);
  }
  return out;
}

function resolveOperation(step: WorkflowStep, spec: IndexedSpec, at: PathSegment[], problems: Problems) {
  if (step.operation_id !== undefined) {
    const op = findOperation(spec, { operationId: step.operation_id });
    if (op === undefined)
      problems.add([...at, "operation_id"], "the spec has no operation with this operationId");
    return op;
  }
  const op = findOperation(spec, { method: step.method ?? "", path: step.path ?? "" });
  if (op === undefined)
    problems.add([...at, "path"], `the spec has no operation ${step.method} ${step.path}`);
  return op;
}

function compileStep(
  step: WorkflowStep,
  index: number,
  spec: IndexedSpec,
  scope: TemplateScope,
  problems: Problems,
): CompiledStep | null {
  const at: PathSegment[] = ["steps", index];
  const extractors: { name: string; path: CompiledPath }[] = [];
  for (const [name, expr] of Object.entries(step.extractors ?? {})) {
    const compiled = compileJsonPath(expr);
    if (compiled.ok) extractors.push({ name, path: compiled.path });
    else problems.add([...at, "extractors", name], compiled.error);
  }
  const operation = resolveOperation(step, spec, at, problems);
  if (operation === undefined) return null;
  if (operation.parameters.some((p) => p.in === "cookie" && p.required)) {
    problems.add(at, "the operation requires a cookie parameter, which workflows cannot set");
  }
  const pathParams = compileParams(
    step.path_params,
    "path",
    operation,
    [...at, "path_params"],
    scope,
    problems,
  );
  const queryParams = compileParams(
    step.query_params,
    "query",
    operation,
    [...at, "query_params"],
    scope,
    problems,
  );
  const headers = compileParams(step.headers, "header", operation, [...at, "headers"], scope, problems);
  let body: CompiledBody | null = null;
  if (step.body_template !== undefined) {
    if (operation.requestBody === null)
      problems.add([...at, "body_template"], "the operation takes no request body");
    const compiled = compileBody(step.body_template, scope);
    if (compiled.ok) body = compiled.body;
    else for (const p of compiled.problems) problems.add([...at, "body_template", ...p.at], p.message);
  } else if (operation.requestBody?.required === true) {
    problems.add(at, "the operation requires a request body: set body_template");
  }
  return {
    name: step.name,
    index,
    operation,
    operationLabel: operation.operationId ?? `${operation.method} ${operation.pathTemplate}`,
    pathParams,
    queryParams,
    headers,
    body,
    extractors,
    onError: step.on_error,
    timeoutMs: step.timeout_ms,
  };
}

/** Compiles a parsed definition against its spec, or lists every problem. */
export function compileWorkflow(def: WorkflowDefinition, spec: IndexedSpec): CompileWorkflowResult {
  const problems = new Problems();
  const schema = compileInputSchema(def.input_schema);
  if (!schema.ok) {
    for (const p of schema.problems)
      problems.items.push({ path: `$.input_schema${p.path.slice(1)}`, message: p.message });
  }
  const steps = new Map<string, ReadonlySet<string>>();
  const compiled: CompiledStep[] = [];
  const names = inputNames(def.input_schema);
  def.steps.forEach((step, i) => {
    const scope: TemplateScope = { inputNames: names, steps: new Map(steps) };
    const c = compileStep(step, i, spec, scope, problems);
    if (c !== null) compiled.push(c);
    steps.set(step.name, new Set(Object.keys(step.extractors ?? {})));
  });
  if (problems.items.length > 0 || !schema.ok) return { ok: false, problems: problems.items };
  return {
    ok: true,
    workflow: { def, steps: compiled, validateInput: schema.validate, definitionHash: sha256Canonical(def) },
  };
}

/** Every problem of `def` against `spec` (empty when it is runnable). */
export function validateAgainstSpec(def: WorkflowDefinition, spec: IndexedSpec): DefinitionProblem[] {
  const result = compileWorkflow(def, spec);
  return result.ok ? [] : result.problems;
}
