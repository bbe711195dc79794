/**
 * The parsed form of an RFC 9535 query. It is plain data: evaluation walks it with a fixed
 * interpreter, so no part of a query ever becomes code.
 */

export type JsonPrimitive = string | number | boolean | null;

export type Selector =
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "wildcard" }
  | { readonly kind: "index"; readonly index: number }
  | {
      readonly kind: "slice";
      readonly start: number | null;
      readonly end: number | null;
      readonly step: number | null;
    }
  | { readonly kind: "filter"; readonly expr: LogicalExpr };

export interface Segment {
  readonly descendant: boolean;
  readonly selectors: readonly Selector[];
}

export interface QueryAst {
  /** `$` (absolute) or `@` (relative to the filter's current node). */
  readonly root: "$" | "@";
  readonly segments: readonly Segment[];
  /** RFC 9535 §2.3.5.1 singular query: usable as a comparable. */
  readonly singular: boolean;
}

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** RFC 9535 §2.4.1 declared types. */
export type ExprType = "value" | "logical" | "nodes";

export type FunctionName = "length" | "count" | "match" | "search" | "value";

export type FunctionArg =
  | { readonly as: "value"; readonly expr: Comparable }
  | { readonly as: "nodes"; readonly source: NodesSource }
  | { readonly as: "logical"; readonly expr: LogicalExpr };

export interface FunctionCall {
  readonly name: FunctionName;
  readonly args: readonly FunctionArg[];
}

export type NodesSource =
  | { readonly kind: "query"; readonly query: QueryAst }
  | { readonly kind: "call"; readonly call: FunctionCall };

export type Comparable =
  | { readonly kind: "literal"; readonly value: JsonPrimitive }
  | { readonly kind: "query"; readonly query: QueryAst }
  | { readonly kind: "call"; readonly call: FunctionCall };

export type LogicalExpr =
  | { readonly kind: "or"; readonly items: readonly LogicalExpr[] }
  | { readonly kind: "and"; readonly items: readonly LogicalExpr[] }
  | { readonly kind: "not"; readonly expr: LogicalExpr }
  | { readonly kind: "exists"; readonly source: NodesSource }
  | { readonly kind: "test"; readonly call: FunctionCall }
  | {
      readonly kind: "compare";
      readonly op: CompareOp;
      readonly left: Comparable;
      readonly right: Comparable;
    };
