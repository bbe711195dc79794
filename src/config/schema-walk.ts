import * as z from "zod";

/** How a text value (environment variable, interpolated `env:VAR`) becomes a config value. */
export type LeafKind = "string" | "number" | "boolean" | "list" | "json";

export interface Leaf {
  path: readonly string[];
  kind: LeafKind;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      // Transforms sit on the output side; what the environment supplies is the input.
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

function isScalar(schema: z.ZodType): boolean {
  return schema instanceof z.ZodString || schema instanceof z.ZodEnum || schema instanceof z.ZodNumber;
}

function kindOf(schema: z.ZodType): LeafKind {
  if (schema instanceof z.ZodNumber) return "number";
  if (schema instanceof z.ZodBoolean) return "boolean";
  if (schema instanceof z.ZodArray) return isScalar(unwrap(schema.element as z.ZodType)) ? "list" : "json";
  if (schema instanceof z.ZodRecord || schema instanceof z.ZodObject) return "json";
  return "string";
}

/**
 * Every settable leaf of an object schema, found by walking the schema rather than by
 * guessing from names: keys such as `freshness_seconds` contain the separator themselves.
 * Objects recurse; arrays of objects and records are leaves that take JSON.
 */
export function schemaLeaves(schema: z.ZodType, prefix: readonly string[] = []): Leaf[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [{ path: prefix, kind: kindOf(inner) }];
  const leaves: Leaf[] = [];
  for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
    leaves.push(...schemaLeaves(child, [...prefix, key]));
  }
  return leaves;
}

/** The keys the strict object at `path` accepts (array indexes step into the element schema). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodArray && typeof segment === "number") {
      current = unwrap(current.element as z.ZodType);
    } else if (current instanceof z.ZodObject && typeof segment === "string") {
      const child = (current.shape as Record<string, z.ZodType | undefined>)[segment];
      if (child === undefined) return [];
      current = unwrap(child);
    } else {
      return [];
    }
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}
