/**
 * RFC 9535 §2.3.5.2 filter semantics and §2.4.4–2.4.8 function extensions. The only
 * operations a filter can perform are the ones written here; nothing in a query is run.
 */

import type { Comparable, FunctionArg, FunctionCall, LogicalExpr, NodesSource } from "./ast.js";
import type { Evaluator } from "./evaluate.js";
import { iregexpTest } from "./iregexp-match.js";
import type { PathNode } from "./normalized-path.js";
import { compareValues, isJsonObject, NOTHING } from "./values.js";

export function evalLogical(ev: Evaluator, expr: LogicalExpr, current: PathNode): boolean {
  switch (expr.kind) {
    case "or":
      return expr.items.some((item) => evalLogical(ev, item, current));
    case "and":
      return expr.items.every((item) => evalLogical(ev, item, current));
    case "not":
      return !evalLogical(ev, expr.expr, current);
    case "exists":
      return exists(ev, expr.source, current);
    case "test":
      return callFunction(ev, expr.call, current) === true;
    case "compare":
      return compareValues(
        expr.op,
        evalComparable(ev, expr.left, current),
        evalComparable(ev, expr.right, current),
        ev.budget,
      );
  }
}

function exists(ev: Evaluator, source: NodesSource, current: PathNode): boolean {
  if (source.kind === "query" && source.query.singular) {
    return ev.singular(source.query, current.value) !== NOTHING;
  }
  return nodesOf(ev, source, current).length > 0;
}

function nodesOf(ev: Evaluator, source: NodesSource, current: PathNode): PathNode[] {
  if (source.kind === "query") return ev.nodes(source.query, current, false);
  const result = callFunction(ev, source.call, current);
  return Array.isArray(result) ? (result as PathNode[]) : [];
}

function evalComparable(ev: Evaluator, c: Comparable, current: PathNode): unknown {
  switch (c.kind) {
    case "literal":
      return c.value;
    case "query":
      return ev.singular(c.query, current.value);
    case "call":
      return callFunction(ev, c.call, current);
  }
}

function evalArg(ev: Evaluator, arg: FunctionArg | undefined, current: PathNode): unknown {
  if (arg === undefined) return NOTHING;
  switch (arg.as) {
    case "value":
      return evalComparable(ev, arg.expr, current);
    case "nodes":
      return nodesOf(ev, arg.source, current);
    case "logical":
      return evalLogical(ev, arg.expr, current);
  }
}

/** Returns a value or NOTHING (ValueType), a boolean (LogicalType) or a nodelist (NodesType). */
function callFunction(ev: Evaluator, call: FunctionCall, current: PathNode): unknown {
  const a = evalArg(ev, call.args[0], current);
  switch (call.name) {
    case "length":
      return lengthOf(a);
    case "count":
      return Array.isArray(a) ? a.length : NOTHING;
    case "value":
      return Array.isArray(a) && a.length === 1 ? (a[0] as PathNode).value : NOTHING;
    case "match":
    case "search": {
      const b = evalArg(ev, call.args[1], current);
      if (typeof a !== "string" || typeof b !== "string") return false;
      return iregexpTest(b, a, call.name === "match", ev.budget);
    }
  }
}

/** §2.4.4: characters (Unicode scalar values) of a string, elements, or members. */
function lengthOf(v: unknown): unknown {
  if (typeof v === "string") {
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      // The low half of a surrogate pair is not a character of its own.
      if (c < 0xdc00 || c > 0xdfff || i === 0 || !isHighSurrogate(v.charCodeAt(i - 1))) n++;
    }
    return n;
  }
  if (Array.isArray(v)) return v.length;
  if (isJsonObject(v)) return Object.keys(v).length;
  return NOTHING;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
