/**
 * Resource limits. A query is attacker-influenced text run over an upstream's response, so
 * every loop it can drive (descendant walks, filters nested in filters, deep equality, regular
 * expressions) draws from one budget and stops with a typed error instead of running long.
 */

import { GatewayError } from "../../errors.js";

export const JSONPATH_LIMITS = {
  /** Longest accepted query text, in UTF-16 code units. */
  maxExpressionLength: 4096,
  /** Deepest nesting of brackets, filters, parentheses and function calls. */
  maxNestingDepth: 32,
  defaultMaxNodesVisited: 1_000_000,
  defaultMaxResults: 100_000,
  /** Steps of the regular-expression automaton (states × characters) per query. */
  defaultMaxRegexSteps: 10_000_000,
  /** Largest automaton one I-Regexp may compile to (counted repetition multiplies states). */
  maxRegexStates: 10_000,
  /** Deepest group nesting in one I-Regexp. */
  maxRegexDepth: 64,
} as const;

export type JsonPathLimitKind = "nodes" | "results" | "regex";

/** Thrown when a query exceeds a resource limit; the caller's query, not the data, is at fault. */
export class JsonPathLimitError extends GatewayError {
  readonly limit: JsonPathLimitKind;
  readonly max: number;

  constructor(limit: JsonPathLimitKind, max: number, message: string) {
    super("INVALID_ARGUMENTS", message, { reason: "jsonpath_limit_exceeded", limit, max });
    this.name = "JsonPathLimitError";
    this.limit = limit;
    this.max = max;
  }
}

export class Budget {
  private nodes = 0;
  private regexSteps = 0;

  constructor(
    private readonly maxNodes: number,
    private readonly maxRegexSteps: number,
  ) {}

  /** Counts `n` nodes visited (selected, walked or compared). */
  visit(n = 1): void {
    this.nodes += n;
    if (this.nodes > this.maxNodes) {
      throw new JsonPathLimitError(
        "nodes",
        this.maxNodes,
        `JSONPath query visited more than ${this.maxNodes} nodes`,
      );
    }
  }

  regex(steps: number): void {
    this.regexSteps += steps;
    if (this.regexSteps > this.maxRegexSteps) {
      throw new JsonPathLimitError(
        "regex",
        this.maxRegexSteps,
        `JSONPath regular expressions took more than ${this.maxRegexSteps} steps`,
      );
    }
  }
}
