/**
 * RFC 9535 JSONPath for the explorer and the workflow extractors. Queries are parsed into plain
 * data and interpreted; nothing in a query is ever evaluated as code (no `eval`, no `Function`,
 * no host RegExp built from query text), and every query runs under resource limits.
 */

import type { QueryAst } from "./ast.js";
import { JsonPathSyntaxError } from "./cursor.js";
import { Evaluator } from "./evaluate.js";
import { Budget, JSONPATH_LIMITS, JsonPathLimitError } from "./limits.js";
import { normalizedPath } from "./normalized-path.js";
import { parseJsonPath } from "./parse-query.js";

export { JSONPATH_LIMITS, JsonPathLimitError } from "./limits.js";

export interface CompiledPath {
  /** The query text as given. */
  readonly expression: string;
  /** RFC 9535 §2.3.5.1: the query selects at most one node. */
  readonly singular: boolean;
  readonly ast: QueryAst;
}

export type CompileResult =
  | { readonly ok: true; readonly path: CompiledPath }
  | { readonly ok: false; readonly error: string; readonly position: number };

export interface QueryOptions {
  /** Most result nodes accepted; more is a JsonPathLimitError (default 100,000). */
  maxResults?: number;
  /** Most nodes the query may select, walk or compare (default 1,000,000). */
  maxNodesVisited?: number;
  /** Most regular-expression automaton steps (default 10,000,000). */
  maxRegexSteps?: number;
}

export interface QueryResult {
  readonly values: unknown[];
  /** Normalized paths (`$['a'][0]`), one per value, in the same order. */
  readonly paths: string[];
}

// Only paths made here are run: a CompiledPath forged from, say, a parsed JSON body is refused.
const issued = new WeakSet<CompiledPath>();

/** Parses an RFC 9535 query. The error text is safe to show: a reason and a 0-based position. */
export function compileJsonPath(expr: string): CompileResult {
  if (typeof expr !== "string")
    return { ok: false, error: "JSONPath expression must be a string", position: 0 };
  if (expr.length > JSONPATH_LIMITS.maxExpressionLength) {
    return {
      ok: false,
      error: `JSONPath expression is longer than ${JSONPATH_LIMITS.maxExpressionLength} characters`,
      position: JSONPATH_LIMITS.maxExpressionLength,
    };
  }
  try {
    const ast = parseJsonPath(expr, JSONPATH_LIMITS.maxNestingDepth);
    const path: CompiledPath = Object.freeze({ expression: expr, singular: ast.singular, ast });
    issued.add(path);
    return { ok: true, path };
  } catch (err) {
    if (err instanceof JsonPathSyntaxError) {
      return {
        ok: false,
        error: `JSONPath syntax error at position ${err.position}: ${err.message}`,
        position: err.position,
      };
    }
    throw err;
  }
}

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/**
 * Runs a compiled query over a JSON value (as produced by JSON.parse). Throws
 * JsonPathLimitError (a GatewayError, INVALID_ARGUMENTS) when a limit is exceeded. The node
 * budget covers the whole run: selection, descendant walks, filter sub-queries, comparisons
 * and the length of the normalized paths returned.
 */
export function queryJsonPath(path: CompiledPath, doc: unknown, opts: QueryOptions = {}): QueryResult {
  if (!issued.has(path)) throw new TypeError("queryJsonPath needs a path from compileJsonPath");
  const maxResults = limit(opts.maxResults, JSONPATH_LIMITS.defaultMaxResults, "maxResults");
  const budget = new Budget(
    limit(opts.maxNodesVisited, JSONPATH_LIMITS.defaultMaxNodesVisited, "maxNodesVisited"),
    limit(opts.maxRegexSteps, JSONPATH_LIMITS.defaultMaxRegexSteps, "maxRegexSteps"),
  );
  const root = { value: doc, parent: null, key: null };
  const nodes = new Evaluator(doc, budget).nodes(path.ast, root, true);
  if (nodes.length > maxResults) {
    throw new JsonPathLimitError(
      "results",
      maxResults,
      `JSONPath query selected more than ${maxResults} nodes`,
    );
  }
  return { values: nodes.map((n) => n.value), paths: nodes.map((n) => normalizedPath(n, budget)) };
}
