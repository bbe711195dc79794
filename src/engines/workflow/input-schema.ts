/**
 * A small JSON Schema (draft 2020-12 subset) validator for workflow `input_schema`.
 *
 * Why not `z.fromJSONSchema`: it silently drops `required` names that have no entry in
 * `properties`, and ignores keywords it does not know — both let an argument through that
 * the schema author meant to refuse. Here every keyword is either enforced or refused when
 * the workflow is registered; unknown keywords fail closed. `format` is an annotation
 * (the 2020-12 default) and is not enforced.
 */
import { jsonPath, type PathSegment } from "../openapi/spec-path.js";
import { checkSchema, type Schema, type SchemaIndex } from "./input-schema-check.js";

export interface InputProblem {
  /** JSONPath into the arguments (`$.customer.email`), or `$` for the whole input. */
  path: string;
  message: string;
}

export type InputValidator = (value: unknown) => InputProblem[];

export type CompileSchemaResult =
  | { ok: true; validate: InputValidator }
  | { ok: false; problems: { path: string; message: string }[] };

const MAX_PROBLEMS = 50;
// A `$ref` cycle that never descends into the instance would recurse forever.
const MAX_EVALUATION_DEPTH = 256;

class Run {
  readonly problems: InputProblem[] = [];
  constructor(readonly index: SchemaIndex) {}
  add(at: readonly PathSegment[], message: string) {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ path: jsonPath(at), message });
  }
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const actual = typeOf(v);
  return actual === type || (type === "number" && actual === "integer");
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shortJson(v: unknown): string {
  const text = JSON.stringify(v) ?? "";
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function validateNumber(s: Schema, v: number, at: PathSegment[], run: Run) {
  const n = (k: string) => (typeof s[k] === "number" ? (s[k] as number) : undefined);
  const min = n("minimum");
  const max = n("maximum");
  const xmin = n("exclusiveMinimum");
  const xmax = n("exclusiveMaximum");
  const mult = n("multipleOf");
  if (min !== undefined && v < min) run.add(at, `must be >= ${min}`);
  if (max !== undefined && v > max) run.add(at, `must be <= ${max}`);
  if (xmin !== undefined && v <= xmin) run.add(at, `must be > ${xmin}`);
  if (xmax !== undefined && v >= xmax) run.add(at, `must be < ${xmax}`);
  if (mult !== undefined) {
    const q = v / mult;
    if (!Number.isFinite(q) || Math.abs(q - Math.round(q)) > 1e-9 * Math.max(1, Math.abs(q))) {
      run.add(at, `must be a multiple of ${mult}`);
    }
  }
}

function validateString(s: Schema, v: string, at: PathSegment[], run: Run) {
  const length = [...v].length;
  if (typeof s.minLength === "number" && length < s.minLength)
    run.add(at, `must be at least ${s.minLength} characters`);
  if (typeof s.maxLength === "number" && length > s.maxLength)
    run.add(at, `must be at most ${s.maxLength} characters`);
  if (typeof s.pattern === "string") {
    const re = run.index.patterns.get(s.pattern);
    if (re !== undefined && !re.test(v)) run.add(at, `must match the pattern ${shortJson(s.pattern)}`);
  }
}

function validateArray(s: Schema, v: unknown[], at: PathSegment[], run: Run, depth: number) {
  if (typeof s.minItems === "number" && v.length < s.minItems)
    run.add(at, `must have at least ${s.minItems} items`);
  if (typeof s.maxItems === "number" && v.length > s.maxItems)
    run.add(at, `must have at most ${s.maxItems} items`);
  if (s.uniqueItems === true) {
    const dup = v.findIndex((x, i) => v.findIndex((y) => jsonEqual(x, y)) !== i);
    if (dup !== -1) run.add([...at, dup], "duplicates an earlier item (uniqueItems)");
  }
  const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as (Schema | boolean)[]) : [];
  v.forEach((item, i) => {
    const sub = i < prefix.length ? prefix[i] : (s.items as Schema | boolean | undefined);
    if (sub !== undefined) validate(sub, item, [...at, i], run, depth + 1);
  });
  if (s.contains !== undefined) {
    const hits = v.filter(
      (item) => collect(s.contains as Schema | boolean, item, run, depth + 1).length === 0,
    ).length;
    const minC = typeof s.minContains === "number" ? s.minContains : 1;
    const maxC = typeof s.maxContains === "number" ? s.maxContains : Number.POSITIVE_INFINITY;
    if (hits < minC) run.add(at, `must contain at least ${minC} matching item(s)`);
    if (hits > maxC) run.add(at, `must contain at most ${maxC} matching item(s)`);
  }
}

function validateObject(s: Schema, v: Record<string, unknown>, at: PathSegment[], run: Run, depth: number) {
  const keys = Object.keys(v);
  const props = isObject(s.properties) ? (s.properties as Record<string, Schema | boolean>) : {};
  if (Array.isArray(s.required)) {
    for (const name of s.required as string[])
      if (!Object.hasOwn(v, name)) run.add([...at, name], "is required");
  }
  if (typeof s.minProperties === "number" && keys.length < s.minProperties) {
    run.add(at, `must have at least ${s.minProperties} properties`);
  }
  if (typeof s.maxProperties === "number" && keys.length > s.maxProperties) {
    run.add(at, `must have at most ${s.maxProperties} properties`);
  }
  const patterns = isObject(s.patternProperties)
    ? Object.entries(s.patternProperties as Record<string, Schema>)
    : [];
  for (const key of keys) {
    let known = false;
    if (Object.hasOwn(props, key)) {
      known = true;
      validate(props[key] as Schema | boolean, v[key], [...at, key], run, depth + 1);
    }
    for (const [pattern, sub] of patterns) {
      if (run.index.patterns.get(pattern)?.test(key)) {
        known = true;
        validate(sub, v[key], [...at, key], run, depth + 1);
      }
    }
    if (s.propertyNames !== undefined && collect(s.propertyNames as Schema, key, run, depth + 1).length > 0) {
      run.add([...at, key], "is not an allowed property name");
    }
    if (!known && s.additionalProperties !== undefined) {
      if (s.additionalProperties === false) run.add([...at, key], "is not an allowed property");
      else validate(s.additionalProperties as Schema | boolean, v[key], [...at, key], run, depth + 1);
    }
  }
}

/** Problems of `value` against `schema`, without recording them (for anyOf/oneOf/not/if). */
function collect(schema: Schema | boolean, value: unknown, run: Run, depth: number): InputProblem[] {
  const inner = new Run(run.index);
  validate(schema, value, [], inner, depth);
  return inner.problems;
}

function validateCombinators(s: Schema, v: unknown, at: PathSegment[], run: Run, depth: number) {
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) validate(sub, v, at, run, depth + 1);
  if (Array.isArray(s.anyOf)) {
    const ok = (s.anyOf as Schema[]).some((sub) => collect(sub, v, run, depth + 1).length === 0);
    if (!ok) run.add(at, "does not match any of the allowed schemas (anyOf)");
  }
  if (Array.isArray(s.oneOf)) {
    const matches = (s.oneOf as Schema[]).filter(
      (sub) => collect(sub, v, run, depth + 1).length === 0,
    ).length;
    if (matches !== 1) run.add(at, `must match exactly one schema (oneOf), matched ${matches}`);
  }
  if (s.not !== undefined && collect(s.not as Schema, v, run, depth + 1).length === 0) {
    run.add(at, "matches a schema it must not match (not)");
  }
  if (s.if !== undefined) {
    const branch = collect(s.if as Schema, v, run, depth + 1).length === 0 ? s.then : s.else;
    if (branch !== undefined) validate(branch as Schema | boolean, v, at, run, depth + 1);
  }
}

function validate(schema: Schema | boolean, v: unknown, at: PathSegment[], run: Run, depth: number): void {
  if (depth > MAX_EVALUATION_DEPTH) {
    run.add(at, "the schema nests too deeply to evaluate");
    return;
  }
  if (schema === true) return;
  if (schema === false) {
    run.add(at, "no value is allowed here");
    return;
  }
  if (typeof schema.$ref === "string") {
    const target = run.index.refs.get(schema.$ref);
    if (target !== undefined) validate(target, v, at, run, depth + 1);
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => matchesType(v, t))) {
      run.add(at, `must be of type ${types.join(" or ")}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => jsonEqual(e, v))) {
    run.add(at, `must be one of ${shortJson(schema.enum)}`);
  }
  if (Object.hasOwn(schema, "const") && !jsonEqual(schema.const, v))
    run.add(at, `must be ${shortJson(schema.const)}`);
  if (typeof v === "number") validateNumber(schema, v, at, run);
  else if (typeof v === "string") validateString(schema, v, at, run);
  else if (Array.isArray(v)) validateArray(schema, v, at, run, depth);
  else if (isObject(v)) validateObject(schema, v, at, run, depth);
  validateCombinators(schema, v, at, run, depth);
}

/**
 * Checks the schema (every keyword known and well-formed, local `$ref`s resolvable, patterns
 * valid) and returns a validator. Problems name JSONPaths into the schema.
 */
export function compileInputSchema(schema: unknown): CompileSchemaResult {
  const checked = checkSchema(schema);
  if (!checked.ok) return checked;
  const { root, index } = checked;
  return {
    ok: true,
    validate: (value) => {
      const run = new Run(index);
      validate(root, value, [], run, 0);
      return run.problems;
    },
  };
}
