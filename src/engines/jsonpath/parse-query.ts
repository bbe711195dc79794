/**
 * RFC 9535 §2.2–2.5 grammar for queries, segments and selectors (recursive descent). Filter
 * expressions are in parse-filter.ts; the two recurse into each other through this module.
 */

import type { QueryAst, Segment, Selector } from "./ast.js";
import { Cursor } from "./cursor.js";
import { parseFilterExpr } from "./parse-filter.js";

/** Parses a whole query: `$` then segments, with nothing (not even blanks) around it. */
export function parseJsonPath(src: string, maxDepth: number): QueryAst {
  const cur = new Cursor(src, maxDepth);
  if (!cur.eat("$")) cur.fail("a query must start with '$'");
  const query = parseQueryTail(cur, "$");
  if (!cur.done) cur.fail("unexpected character");
  return query;
}

/** Reads the segments after a `$` or `@` already consumed. */
export function parseQueryTail(cur: Cursor, root: "$" | "@"): QueryAst {
  const segments: Segment[] = [];
  let singular = true;
  for (;;) {
    const before = cur.pos;
    cur.skipBlank();
    const next = cur.peek();
    if (next !== "[" && next !== ".") {
      // The blanks belong to whatever follows the query (an operator, a comma, `]`).
      cur.pos = before;
      break;
    }
    const { segment, singularForm } = parseSegment(cur);
    segments.push(segment);
    singular &&= singularForm;
  }
  return { root, segments, singular };
}

interface ParsedSegment {
  segment: Segment;
  /** §2.3.5.1 `name-segment` / `index-segment`: one name or index, no blanks inside. */
  singularForm: boolean;
}

function parseSegment(cur: Cursor): ParsedSegment {
  if (cur.eat("..")) {
    if (cur.peek() === "[") return { segment: parseBracketed(cur, true).segment, singularForm: false };
    const selector = parseDotSelector(cur, "'..'");
    return { segment: { descendant: true, selectors: [selector] }, singularForm: false };
  }
  if (cur.eat(".")) {
    const selector = parseDotSelector(cur, "'.'");
    return { segment: { descendant: false, selectors: [selector] }, singularForm: selector.kind === "name" };
  }
  return parseBracketed(cur, false);
}

/** After `.` or `..`: a wildcard or a member-name shorthand, with no blank in between. */
function parseDotSelector(cur: Cursor, after: string): Selector {
  if (cur.eat("*")) return { kind: "wildcard" };
  const name = cur.readMemberName();
  if (name === null) cur.fail(`expected a member name or '*' after ${after}`);
  return { kind: "name", name };
}

function parseBracketed(cur: Cursor, descendant: boolean): ParsedSegment {
  cur.expect("[", "'['");
  cur.enter();
  let blank = cur.skipBlank();
  const selectors: Selector[] = [];
  for (;;) {
    const parsed = parseSelector(cur);
    selectors.push(parsed.selector);
    const trailing = cur.skipBlank();
    blank = blank || parsed.blank || trailing;
    if (cur.eat("]")) break;
    cur.expect(",", "',' or ']'");
    cur.skipBlank();
    blank = true;
  }
  cur.leave();
  const only = selectors.length === 1 ? selectors[0] : undefined;
  const singularForm =
    !descendant && !blank && only !== undefined && (only.kind === "name" || only.kind === "index");
  return { segment: { descendant, selectors }, singularForm };
}

interface ParsedSelector {
  selector: Selector;
  blank: boolean;
}

function parseSelector(cur: Cursor): ParsedSelector {
  const c = cur.peek();
  if (c === "'" || c === '"')
    return { selector: { kind: "name", name: cur.readStringLiteral() }, blank: false };
  if (cur.eat("*")) return { selector: { kind: "wildcard" }, blank: false };
  if (cur.eat("?")) {
    cur.skipBlank();
    return { selector: { kind: "filter", expr: parseFilterExpr(cur, parseQueryTail) }, blank: true };
  }
  return parseIndexOrSlice(cur);
}

/** `index-selector` or `slice-selector`: [start S] ":" S [end S] [":" [S step]]. */
function parseIndexOrSlice(cur: Cursor): ParsedSelector {
  const start = cur.readInt();
  const blank = cur.skipBlank();
  if (!cur.eat(":")) {
    if (start === null) cur.fail("expected a selector");
    return { selector: { kind: "index", index: start }, blank };
  }
  cur.skipBlank();
  const end = cur.readInt();
  cur.skipBlank();
  let step: number | null = null;
  if (cur.eat(":")) {
    cur.skipBlank();
    step = cur.readInt();
  }
  return { selector: { kind: "slice", start, end, step }, blank: true };
}
