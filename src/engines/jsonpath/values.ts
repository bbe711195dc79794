/**
 * JSON value helpers for evaluation. Members are read only through `Object.keys` and
 * `Object.hasOwn`, so a key such as `__proto__` or `constructor` is data like any other and no
 * lookup ever reaches a prototype.
 */

import type { CompareOp } from "./ast.js";
import type { Budget } from "./limits.js";

/** RFC 9535 `Nothing`: the absence of a value (an empty singular query, a failed function). */
export const NOTHING: unique symbol = Symbol("Nothing");

export type JsonObject = Record<string, unknown>;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The member `key` of `v` if `v` is an object that owns it, else NOTHING. */
export function member(v: unknown, key: string): unknown {
  return isJsonObject(v) && Object.hasOwn(v, key) ? v[key] : NOTHING;
}

/** The element `index` (negative counts from the end) of `v` if it is an array, else NOTHING. */
export function element(v: unknown, index: number): unknown {
  if (!Array.isArray(v)) return NOTHING;
  const i = index < 0 ? v.length + index : index;
  return i >= 0 && i < v.length ? v[i] : NOTHING;
}

/** RFC 9535 §2.3.5.2.2 equality: numbers by value, arrays and objects structurally. */
export function jsonEquals(a: unknown, b: unknown, budget: Budget): boolean {
  // Iterative, so two deeply nested documents cannot exhaust the call stack.
  const stack: unknown[] = [a, b];
  while (stack.length > 0) {
    const y = stack.pop();
    const x = stack.pop();
    budget.visit();
    if (x === y) continue;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push(x[i], y[i]);
    } else if (isJsonObject(x)) {
      if (!isJsonObject(y)) return false;
      const keys = Object.keys(x);
      if (keys.length !== Object.keys(y).length) return false;
      for (const k of keys) {
        if (!Object.hasOwn(y, k)) return false;
        stack.push(x[k], y[k]);
      }
    } else {
      // Distinct primitives (=== already covered equal ones; -0 === 0 holds).
      return false;
    }
  }
  return true;
}

/** Orders strings by Unicode scalar value, not by UTF-16 code unit as `<` does. */
export function codePointLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) < codePointRank(y);
  }
  return a.length < b.length;
}

/** Surrogates (astral code points) rank above U+E000–U+FFFF, as their code points do. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function less(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a < b;
  if (typeof a === "string" && typeof b === "string") return codePointLess(a, b);
  return false;
}

function equal(a: unknown, b: unknown, budget: Budget): boolean {
  if (a === NOTHING || b === NOTHING) return a === b;
  return jsonEquals(a, b, budget);
}

/** RFC 9535 §2.3.5.2.2 comparison of two values, either of which may be NOTHING. */
export function compareValues(op: CompareOp, a: unknown, b: unknown, budget: Budget): boolean {
  switch (op) {
    case "==":
      return equal(a, b, budget);
    case "!=":
      return !equal(a, b, budget);
    case "<":
      return less(a, b);
    case ">":
      return less(b, a);
    case "<=":
      return less(a, b) || equal(a, b, budget);
    case ">=":
      return less(b, a) || equal(a, b, budget);
  }
}
