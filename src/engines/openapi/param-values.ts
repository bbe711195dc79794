import { hasPlainPrototype } from "../../seal/json.js";
import type { JsonSchema, OperationParameter } from "./types.js";

export type Primitive = string | number | boolean | null;

export function isPlainRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && hasPlainPrototype(value);
}

export function isPrimitive(value: unknown): value is Primitive {
  return value === null || ["string", "boolean"].includes(typeof value) || Number.isFinite(value);
}

function typesOf(schema: JsonSchema | undefined): string[] {
  if (typeof schema !== "object") return [];
  const declared = schema.type;
  const types = typeof declared === "string" ? [declared] : Array.isArray(declared) ? declared : [];
  // 3.0 spells "may be null" as nullable: true.
  return schema.nullable === true
    ? [...types, "null"]
    : types.filter((t): t is string => typeof t === "string");
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainRecord(value);
    default:
      return true;
  }
}

function primitiveProblem(value: unknown, schema: JsonSchema | undefined, what: string): string | null {
  if (!isPrimitive(value)) return `${what} must be a string, number, boolean or null`;
  const types = typesOf(schema);
  if (types.length > 0 && !types.some((t) => matchesType(value, t)))
    return `${what} must be of type ${types.join(" or ")}`;
  const allowed = typeof schema === "object" ? schema.enum : undefined;
  if (Array.isArray(allowed) && allowed.every(isPrimitive) && !allowed.some((v) => v === value)) {
    return `${what} is not one of the allowed values`;
  }
  return null;
}

/**
 * Checks a value against the parameter's schema: the declared type of primitives (string,
 * integer, number, boolean, null), enum membership, and the item types of arrays and the
 * property values of objects one level down. Nothing is coerced: `"5"` is not an integer.
 * Messages never quote the value.
 */
export function valueProblem(param: OperationParameter, value: unknown): string | null {
  if (param.contentType !== undefined) return null;
  const schema = param.schema;
  const types = typesOf(schema);
  if (Array.isArray(value)) {
    if (types.length > 0 && !types.includes("array")) return `must be of type ${types.join(" or ")}`;
    const items = typeof schema === "object" ? (schema.items as JsonSchema | undefined) : undefined;
    for (const item of value) {
      const problem = primitiveProblem(item, items, "every item");
      if (problem !== null) return problem;
    }
    return null;
  }
  if (isPlainRecord(value)) {
    if (types.length > 0 && !types.includes("object")) return `must be of type ${types.join(" or ")}`;
    return Object.values(value).every(isPrimitive)
      ? null
      : "object properties must be strings, numbers, booleans or null";
  }
  return primitiveProblem(value, schema, "the value");
}

/** The text of one primitive as it goes on the wire. */
export function scalarText(value: Primitive): string {
  return value === null ? "" : String(value);
}
