import { hasPlainPrototype, JsonNumber, type PlainJson } from "../../seal/json.js";
import { type PathSegment, ProblemList } from "./spec-path.js";
import type { SpecProblem } from "./types.js";

/** Nesting deeper than this is refused: real specs stay far below, and every walker recurses. */
export const MAX_SPEC_DEPTH = 256;

export type TreeResult = { ok: true; value: PlainJson } | { ok: false; problems: SpecProblem[] };

class TooLarge extends Error {}

/**
 * Copies parsed or caller-supplied data into a fresh tree of plain JSON values, refusing what
 * must never reach the rest of the gateway:
 * - a `__proto__` key: harmless as an own property, but one `copy[key] = value` anywhere
 *   downstream would replace that object's prototype, so it is refused outright;
 * - cycles (a YAML anchor that contains its own alias, or an in-process object graph);
 * - non-JSON values (functions, dates, maps, class instances, non-finite numbers);
 * - more nesting than `MAX_SPEC_DEPTH`, and more data than `maxBytes` once aliases are expanded.
 * Size is counted as roughly the JSON text length, so the check stops a YAML alias expansion
 * or a huge object as soon as it passes the limit, without serializing it first.
 */
export function toJsonTree(root: unknown, maxBytes: number): TreeResult {
  const problems = new ProblemList();
  const ancestors = new Set<object>();
  let bytes = 0;
  const count = (n: number): void => {
    bytes += n;
    if (bytes > maxBytes) throw new TooLarge();
  };

  // One mutable path, pushed and popped: copying it per node would dominate on large specs.
  const copy = (value: unknown, path: PathSegment[]): PlainJson => {
    if (value === null) {
      count(4);
      return null;
    }
    switch (typeof value) {
      case "string":
        count(value.length + 2);
        return value;
      case "boolean":
        count(5);
        return value;
      case "number":
        count(8);
        if (!Number.isFinite(value)) problems.add(path, "numbers must be finite");
        return value;
      case "object":
        break;
      default:
        problems.add(path, `a ${typeof value} is not JSON data`);
        return null;
    }
    if (value instanceof JsonNumber) {
      count(value.raw.length);
      return value.value;
    }
    if (path.length >= MAX_SPEC_DEPTH) {
      problems.add(path, `nesting is deeper than ${MAX_SPEC_DEPTH} levels`);
      return null;
    }
    if (ancestors.has(value)) {
      problems.add(path, "the document contains itself (a cyclic alias or object)");
      return null;
    }
    ancestors.add(value);
    try {
      return Array.isArray(value) ? copyArray(value, path) : copyObject(value, path);
    } finally {
      ancestors.delete(value);
    }
  };

  const copyArray = (items: unknown[], path: PathSegment[]): PlainJson[] => {
    count(2);
    const out: PlainJson[] = [];
    for (let i = 0; i < items.length; i++) {
      path.push(i);
      out.push(copy(items[i], path));
      path.pop();
    }
    return out;
  };

  const copyObject = (value: object, path: PathSegment[]): PlainJson => {
    if (!hasPlainPrototype(value)) {
      problems.add(path, "only JSON objects, arrays and scalars are allowed");
      return null;
    }
    count(2);
    const source = value as { [key: string]: unknown };
    const out: { [key: string]: PlainJson } = {};
    for (const key of Object.keys(source)) {
      count(key.length + 4);
      path.push(key);
      if (key === "__proto__") problems.add(path, 'the key "__proto__" is not allowed');
      else out[key] = copy(source[key], path);
      path.pop();
    }
    return out;
  };

  try {
    const value = copy(root, []);
    return problems.size > 0 ? { ok: false, problems: problems.items } : { ok: true, value };
  } catch (error) {
    if (error instanceof TooLarge) {
      return { ok: false, problems: [{ path: "$", message: `the spec is larger than ${maxBytes} bytes` }] };
    }
    throw error;
  }
}
