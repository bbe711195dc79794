/**
 * Registration-time check of an `input_schema`: every keyword must be one the validator
 * enforces (or a pure annotation); anything else is refused, so no constraint the author
 * wrote is silently ignored at call time.
 */
import { jsonPath, type PathSegment } from "../openapi/spec-path.js";

export type Schema = { [key: string]: unknown };

export interface SchemaIndex {
  /** `$ref` text → the schema it points to. */
  refs: Map<string, Schema | boolean>;
  /** `pattern` / `patternProperties` source → compiled expression. */
  patterns: Map<string, RegExp>;
}

export type CheckResult =
  | { ok: true; root: Schema | boolean; index: SchemaIndex }
  | { ok: false; problems: { path: string; message: string }[] };

const MAX_SCHEMA_DEPTH = 64;
const TYPES = new Set(["null", "boolean", "object", "array", "number", "integer", "string"]);
const ANNOTATIONS = new Set([
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "format",
  "contentMediaType",
  "contentEncoding",
]);
const ROOT_ONLY = new Set(["$schema", "$id"]);
const SCHEMA_VALUED = new Set([
  "additionalProperties",
  "items",
  "contains",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
]);
const SCHEMA_LISTS = new Set(["prefixItems", "allOf", "anyOf", "oneOf"]);
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions"]);
const NUMBERS = new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]);
const COUNTS = new Set([
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "minContains",
  "maxContains",
]);

class Checker {
  readonly problems: { path: string; message: string }[] = [];
  readonly index: SchemaIndex = { refs: new Map(), patterns: new Map() };
  constructor(readonly root: unknown) {}

  add(at: readonly PathSegment[], message: string) {
    this.problems.push({ path: jsonPath(at), message });
  }

  pattern(source: unknown, at: PathSegment[]) {
    if (typeof source !== "string") {
      this.add(at, "a pattern must be a string");
      return;
    }
    if (this.index.patterns.has(source)) return;
    try {
      this.index.patterns.set(source, new RegExp(source, "u"));
    } catch {
      this.add(at, "not a valid regular expression");
    }
  }

  ref(value: unknown, at: PathSegment[]) {
    if (typeof value !== "string" || !(value === "#" || value.startsWith("#/"))) {
      this.add(at, "only local $refs (#/…) are supported");
      return;
    }
    let target: unknown = this.root;
    for (const raw of value === "#" ? [] : value.slice(2).split("/")) {
      const key = pointerToken(raw);
      if (key === null) {
        this.add(at, "$ref is not a valid JSON pointer");
        return;
      }
      if (typeof target !== "object" || target === null || !Object.hasOwn(target, key)) {
        this.add(at, "$ref does not resolve inside this schema");
        return;
      }
      target = (target as Record<string, unknown>)[key];
    }
    if (typeof target !== "boolean" && !isSchemaObject(target)) {
      this.add(at, "$ref does not point at a schema");
      return;
    }
    this.index.refs.set(value, target);
  }

  schema(s: unknown, at: PathSegment[], depth: number): void {
    if (typeof s === "boolean") return;
    if (!isSchemaObject(s)) {
      this.add(at, "a schema must be an object or a boolean");
      return;
    }
    if (depth > MAX_SCHEMA_DEPTH) {
      this.add(at, "the schema nests too deeply");
      return;
    }
    for (const [key, value] of Object.entries(s))
      this.keyword(key, value, [...at, key], depth, at.length === 0);
  }

  keyword(key: string, value: unknown, at: PathSegment[], depth: number, isRoot: boolean): void {
    if (key.startsWith("x-") || ANNOTATIONS.has(key)) return;
    if (ROOT_ONLY.has(key)) {
      if (!isRoot) this.add(at, `${key} is only supported at the root`);
      else if (typeof value !== "string") this.add(at, `${key} must be a string`);
      return;
    }
    if (key === "$ref") {
      this.ref(value, at);
      return;
    }
    if (key === "type") {
      this.type(value, at);
      return;
    }
    if (key === "enum") {
      if (!Array.isArray(value) || value.length === 0) this.add(at, "enum must be a non-empty array");
      return;
    }
    if (key === "const" || key === "uniqueItems") {
      if (key === "uniqueItems" && typeof value !== "boolean") this.add(at, "uniqueItems must be a boolean");
      return;
    }
    if (NUMBERS.has(key)) {
      if (typeof value !== "number" || !Number.isFinite(value)) this.add(at, `${key} must be a number`);
      return;
    }
    if (key === "multipleOf") {
      if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
        this.add(at, "multipleOf must be > 0");
      return;
    }
    if (COUNTS.has(key)) {
      if (!Number.isSafeInteger(value) || (value as number) < 0)
        this.add(at, `${key} must be a non-negative integer`);
      return;
    }
    if (key === "pattern") {
      this.pattern(value, at);
      return;
    }
    if (key === "required") {
      const ok =
        Array.isArray(value) &&
        value.every((v) => typeof v === "string") &&
        new Set(value).size === value.length;
      if (!ok) this.add(at, "required must be an array of distinct strings");
      return;
    }
    if (SCHEMA_VALUED.has(key)) {
      this.schema(value, at, depth + 1);
      return;
    }
    if (SCHEMA_LISTS.has(key)) {
      if (!Array.isArray(value) || value.length === 0) {
        this.add(at, `${key} must be a non-empty array of schemas`);
        return;
      }
      value.forEach((sub, i) => {
        this.schema(sub, [...at, i], depth + 1);
      });
      return;
    }
    if (SCHEMA_MAPS.has(key)) {
      if (!isSchemaObject(value)) {
        this.add(at, `${key} must be an object`);
        return;
      }
      for (const [name, sub] of Object.entries(value)) {
        if (key === "patternProperties") this.pattern(name, [...at, name]);
        this.schema(sub, [...at, name], depth + 1);
      }
      return;
    }
    this.add(at, `unsupported JSON Schema keyword ${JSON.stringify(key.slice(0, 60))}`);
  }

  type(value: unknown, at: PathSegment[]) {
    const list = Array.isArray(value) ? value : [value];
    const ok = list.length > 0 && list.every((t) => typeof t === "string" && TYPES.has(t));
    if (!ok || new Set(list).size !== list.length)
      this.add(at, "type must name JSON types (null, boolean, object, …)");
  }
}

function pointerToken(raw: string): string | null {
  try {
    return decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
  } catch {
    return null;
  }
}

function isSchemaObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function checkSchema(schema: unknown): CheckResult {
  const checker = new Checker(schema);
  checker.schema(schema, [], 0);
  if (checker.problems.length > 0) return { ok: false, problems: checker.problems };
  return { ok: true, root: schema as Schema | boolean, index: checker.index };
}
