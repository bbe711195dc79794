/**
 * RFC 9535 §2.3.5 filter expressions and §2.4 function extensions, with the §2.4.3
 * well-typedness rules enforced while parsing: a query that is not well-typed is refused at
 * compile time, never guessed at during evaluation.
 */

import type {
  Comparable,
  CompareOp,
  FunctionArg,
  FunctionCall,
  JsonPrimitive,
  LogicalExpr,
  QueryAst,
} from "./ast.js";
import type { Cursor } from "./cursor.js";
import { isFunctionName, lookupFunction } from "./functions.js";

export type QueryTailParser = (cur: Cursor, root: "$" | "@") => QueryAst;

type Primary =
  | { kind: "literal"; value: JsonPrimitive }
  | { kind: "query"; query: QueryAst }
  | { kind: "call"; call: FunctionCall; result: "value" | "logical" | "nodes" };

/** A parsed operand before its context decides its type; `pos` is where it started. */
type Parsed = { kind: "logical"; expr: LogicalExpr } | { kind: "primary"; primary: Primary; pos: number };

const COMPARE_OPS: readonly CompareOp[] = ["==", "!=", "<=", ">=", "<", ">"];

class FilterParser {
  constructor(
    private readonly cur: Cursor,
    private readonly parseQueryTail: QueryTailParser,
  ) {}

  logical(): LogicalExpr {
    return this.toLogical(this.or());
  }

  /** logical-or-expr; a lone operand is returned untyped so a function argument can use it. */
  or(): Parsed {
    const first = this.and();
    const items: LogicalExpr[] = [];
    for (;;) {
      const before = this.cur.pos;
      this.cur.skipBlank();
      if (!this.cur.eat("||")) {
        this.cur.pos = before;
        break;
      }
      this.cur.skipBlank();
      items.push(this.toLogical(this.and()));
    }
    if (items.length === 0) return first;
    return { kind: "logical", expr: { kind: "or", items: [this.toLogical(first), ...items] } };
  }

  private and(): Parsed {
    const first = this.basic();
    const items: LogicalExpr[] = [];
    for (;;) {
      const before = this.cur.pos;
      this.cur.skipBlank();
      if (!this.cur.eat("&&")) {
        this.cur.pos = before;
        break;
      }
      this.cur.skipBlank();
      items.push(this.toLogical(this.basic()));
    }
    if (items.length === 0) return first;
    return { kind: "logical", expr: { kind: "and", items: [this.toLogical(first), ...items] } };
  }

  private basic(): Parsed {
    const cur = this.cur;
    if (cur.eat("!")) {
      cur.skipBlank();
      if (cur.peek() === "(") return { kind: "logical", expr: { kind: "not", expr: this.paren() } };
      const pos = cur.pos;
      const primary = this.primary();
      if (primary.kind === "literal") cur.fail("'!' must be followed by a query, a function or '('", pos);
      return {
        kind: "logical",
        expr: { kind: "not", expr: this.toLogical({ kind: "primary", primary, pos }) },
      };
    }
    if (cur.peek() === "(") return { kind: "logical", expr: this.paren() };
    const pos = cur.pos;
    const left = this.primary();
    const before = cur.pos;
    cur.skipBlank();
    const op = COMPARE_OPS.find((candidate) => cur.eat(candidate));
    if (op === undefined) {
      cur.pos = before;
      return { kind: "primary", primary: left, pos };
    }
    cur.skipBlank();
    const rightPos = cur.pos;
    const right = this.primary();
    return {
      kind: "logical",
      expr: {
        kind: "compare",
        op,
        left: this.comparable(left, pos),
        right: this.comparable(right, rightPos),
      },
    };
  }

  private paren(): LogicalExpr {
    this.cur.expect("(", "'('");
    this.cur.enter();
    this.cur.skipBlank();
    const expr = this.logical();
    this.cur.skipBlank();
    this.cur.expect(")", "')'");
    this.cur.leave();
    return expr;
  }

  private primary(): Primary {
    const cur = this.cur;
    const c = cur.peek();
    if (c === "$" || c === "@") {
      cur.pos++;
      return { kind: "query", query: this.parseQueryTail(cur, c) };
    }
    if (c === "'" || c === '"') return { kind: "literal", value: cur.readStringLiteral() };
    const number = cur.readNumber();
    if (number !== null) return { kind: "literal", value: number };
    const start = cur.pos;
    const name = cur.readFunctionName();
    if (name === null) return cur.fail("expected a query, a literal or a function");
    if (cur.peek() === "(") return this.call(name, start);
    if (name === "true") return { kind: "literal", value: true };
    if (name === "false") return { kind: "literal", value: false };
    if (name === "null") return { kind: "literal", value: null };
    return cur.fail("expected a query, a literal or a function", start);
  }

  private call(name: string, start: number): Primary {
    const cur = this.cur;
    const signature = lookupFunction(name);
    if (signature === undefined || !isFunctionName(name)) return cur.fail("unknown function", start);
    cur.expect("(", "'('");
    cur.enter();
    cur.skipBlank();
    const parsed: Parsed[] = [];
    if (!cur.eat(")")) {
      for (;;) {
        parsed.push(this.or());
        cur.skipBlank();
        if (cur.eat(")")) break;
        cur.expect(",", "',' or ')'");
        cur.skipBlank();
      }
    }
    cur.leave();
    if (parsed.length !== signature.params.length) {
      cur.fail(`function ${name}() takes ${signature.params.length} argument(s)`, start);
    }
    const args = parsed.map((arg, i): FunctionArg => {
      const type = signature.params[i];
      if (type === "value") return { as: "value", expr: this.valueArg(arg, name, start) };
      if (type === "nodes") return { as: "nodes", source: this.nodesArg(arg, name, start) };
      return { as: "logical", expr: this.toLogical(arg) };
    });
    return { kind: "call", call: { name, args }, result: signature.result };
  }

  private valueArg(arg: Parsed, name: string, start: number): Comparable {
    if (arg.kind === "logical") return this.cur.fail(`function ${name}() expects a value argument`, start);
    return this.comparable(arg.primary, arg.pos);
  }

  private nodesArg(arg: Parsed, name: string, start: number) {
    if (arg.kind === "primary" && arg.primary.kind === "query") {
      return { kind: "query" as const, query: arg.primary.query };
    }
    if (arg.kind === "primary" && arg.primary.kind === "call" && arg.primary.result === "nodes") {
      return { kind: "call" as const, call: arg.primary.call };
    }
    return this.cur.fail(`function ${name}() expects a query argument`, start);
  }

  /** §2.3.5.1 comparable: a literal, a singular query or a ValueType function. */
  private comparable(primary: Primary, pos: number): Comparable {
    if (primary.kind === "literal") return primary;
    if (primary.kind === "query") {
      if (!primary.query.singular) this.cur.fail("only a singular query can be compared", pos);
      return primary;
    }
    if (primary.result !== "value")
      this.cur.fail(`function ${primary.call.name}() does not return a value`, pos);
    return { kind: "call", call: primary.call };
  }

  /** §2.4.3 test-expr: a query (existence), or a function returning LogicalType or NodesType. */
  private toLogical(parsed: Parsed): LogicalExpr {
    if (parsed.kind === "logical") return parsed.expr;
    const { primary, pos } = parsed;
    if (primary.kind === "query") return { kind: "exists", source: { kind: "query", query: primary.query } };
    if (primary.kind === "literal") return this.cur.fail("a literal is not a test; compare it", pos);
    if (primary.result === "logical") return { kind: "test", call: primary.call };
    if (primary.result === "nodes") return { kind: "exists", source: { kind: "call", call: primary.call } };
    return this.cur.fail(`function ${primary.call.name}() returns a value; compare it`, pos);
  }
}

/** `logical-expr` of a filter selector (the cursor is just after `?` and blanks). */
export function parseFilterExpr(cur: Cursor, parseQueryTail: QueryTailParser): LogicalExpr {
  cur.enter();
  const expr = new FilterParser(cur, parseQueryTail).logical();
  cur.leave();
  return expr;
}
