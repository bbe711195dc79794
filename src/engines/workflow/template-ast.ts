/**
 * Registration-time checks of a parsed Handlebars template, and the rewrite that puts every
 * value a template prints through one of our own output helpers.
 *
 * Allowed: `{{path}}`, `{{json x}}`, `{{lookup x "key"}}`, blocks `#if #unless #each #with`
 * (text templates only), comments, data variables `@root @index @key @first @last`.
 * Refused: partials, decorators, hash arguments, other helpers, literal heads, and any path
 * segment or string literal naming `constructor`, `prototype` or starting with `__` — those
 * only ever serve to climb from data into prototypes (the runtime blocks that too; this is
 * the second wall).
 */
import { isReservedName, STATE_KEYS } from "./definition.js";
import { JsonTextLexer } from "./json-text-lexer.js";

export interface Loc {
  start: { line: number; column: number };
}
export interface Expr {
  type: string;
  loc?: Loc;
  parts?: string[];
  original?: unknown;
  data?: boolean;
  depth?: number;
  value?: unknown;
  path?: Expr;
  params?: Expr[];
  hash?: { pairs: unknown[] };
}
export interface Stmt extends Expr {
  program?: ProgramNode;
  inverse?: ProgramNode;
  escaped?: boolean;
  strip?: { open: boolean; close: boolean };
}
export interface ProgramNode {
  type: "Program";
  body: Stmt[];
}

/** What a template may refer to: the input's declared names and the steps that ran before. */
export interface TemplateScope {
  /** Property names of `input`, or null when the schema allows any. */
  inputNames: ReadonlySet<string> | null;
  /** Earlier steps → their extracted variable names. */
  steps: ReadonlyMap<string, ReadonlySet<string>>;
}

export type TemplateMode = "text" | "json-text";

export const OUTPUT_HELPERS = { scalar: "__scalar", jsonString: "__jstr" } as const;
const VALUE_HELPERS = new Map([
  ["json", 1],
  ["lookup", 2],
]);
const BLOCK_HELPERS = new Set(["if", "unless", "each", "with"]);
const DATA_NAMES = new Set(["root", "index", "key", "first", "last"]);

interface Walk {
  mode: TemplateMode;
  scope: TemplateScope;
  problems: string[];
  /** Inside #each / #with the context is no longer {input, state}. */
  rebound: boolean;
  json: JsonTextLexer;
}

function where(node: Expr): string {
  return node.loc ? `line ${node.loc.start.line}, column ${node.loc.start.column + 1}` : "somewhere";
}

function checkPathParts(path: Expr, w: Walk): void {
  const parts = path.parts ?? [];
  if (parts.some(isReservedName)) {
    w.problems.push(`${where(path)}: the path ${String(path.original)} is not allowed`);
    return;
  }
  if (path.data === true) {
    if (!DATA_NAMES.has(parts[0] ?? ""))
      w.problems.push(`${where(path)}: unknown data variable @${parts[0] ?? ""}`);
    if (parts[0] === "root") checkScope(parts.slice(1), path, w);
    return;
  }
  if (!w.rebound && path.depth === 0) checkScope(parts, path, w);
}

function checkScope(parts: string[], node: Expr, w: Walk): void {
  const [head, first, second] = parts;
  if (head === undefined) return;
  if (head === "input") {
    const names = w.scope.inputNames;
    if (first !== undefined && names !== null && !names.has(first)) {
      w.problems.push(`${where(node)}: input.${first} is not a property of input_schema`);
    }
  } else if (head === "state") {
    if (first === undefined) return;
    const vars = w.scope.steps.get(first);
    if (vars === undefined) w.problems.push(`${where(node)}: state.${first} names no earlier step`);
    else if (second !== undefined && !vars.has(second) && !STATE_KEYS.has(second)) {
      w.problems.push(`${where(node)}: step ${first} extracts no variable ${second}`);
    }
  } else {
    w.problems.push(`${where(node)}: unknown variable ${head} (templates see input and state)`);
  }
}

function checkExpr(e: Expr, w: Walk): void {
  switch (e.type) {
    case "PathExpression":
      checkPathParts(e, w);
      return;
    case "SubExpression":
      checkCall(e, w);
      return;
    case "StringLiteral":
      if (typeof e.value === "string" && isReservedName(e.value)) {
        w.problems.push(`${where(e)}: the string "${e.value}" is not allowed in a template`);
      }
      return;
    case "NumberLiteral":
    case "BooleanLiteral":
    case "NullLiteral":
    case "UndefinedLiteral":
      return;
    default:
      w.problems.push(`${where(e)}: unsupported expression ${e.type}`);
  }
}

function helperName(e: Expr): string | null {
  const p = e.path;
  if (p?.type !== "PathExpression" || p.data === true || p.depth !== 0 || p.parts?.length !== 1) return null;
  return p.parts[0] ?? null;
}

/** A helper call (`json x`, `lookup x "k"`) as a mustache or a sub-expression. */
function checkCall(e: Expr, w: Walk): void {
  const name = helperName(e);
  const arity = name === null ? undefined : VALUE_HELPERS.get(name);
  if (e.hash !== undefined && e.hash.pairs.length > 0)
    w.problems.push(`${where(e)}: hash arguments are not supported`);
  if (arity === undefined) {
    const shown = e.path?.type === "PathExpression" ? String(e.path.original) : "a literal";
    w.problems.push(`${where(e)}: unknown helper ${shown} (known: json, lookup, if, unless, each, with)`);
  } else if ((e.params ?? []).length !== arity) {
    w.problems.push(`${where(e)}: ${name} takes ${arity} argument${arity > 1 ? "s" : ""}`);
  }
  for (const p of e.params ?? []) checkExpr(p, w);
}

function outputNode(helper: string, inner: Expr, m: Stmt): Stmt {
  const path: Expr = {
    type: "PathExpression",
    data: false,
    depth: 0,
    parts: [helper],
    original: helper,
    loc: m.loc,
  };
  return {
    type: "MustacheStatement",
    path,
    params: [inner],
    hash: undefined,
    escaped: true,
    strip: m.strip,
    loc: m.loc,
  };
}

function asSubExpression(m: Stmt): Expr {
  return { type: "SubExpression", path: m.path, params: m.params, hash: undefined, loc: m.loc };
}

/** Checks a mustache and returns what replaces it. */
function mustache(m: Stmt, w: Walk): Stmt {
  const path = m.path;
  if (path?.type !== "PathExpression") {
    w.problems.push(`${where(m)}: a literal cannot stand at the head of {{…}}`);
    return m;
  }
  const name = helperName(m);
  const isCall =
    (m.params ?? []).length > 0 || (name !== null && (VALUE_HELPERS.has(name) || BLOCK_HELPERS.has(name)));
  if (isCall) {
    if (name !== null && BLOCK_HELPERS.has(name))
      w.problems.push(`${where(m)}: ${name} must be used as a block {{#${name}}}`);
    else checkCall(m, w);
  } else {
    checkPathParts(path, w);
    if (!w.rebound && path.data !== true && (path.parts ?? []).length === 0) {
      w.problems.push(`${where(m)}: {{this}} prints the whole context; name a value under input or state`);
    }
  }
  const value = isCall ? asSubExpression(m) : path;
  if (w.mode === "text") return name === "json" ? m : outputNode(OUTPUT_HELPERS.scalar, value, m);
  if (w.json.inString) {
    if (w.json.escape) w.problems.push(`${where(m)}: {{…}} must not follow a backslash inside a JSON string`);
    return outputNode(OUTPUT_HELPERS.jsonString, value, m);
  }
  if (name !== "json") {
    w.problems.push(`${where(m)}: outside a JSON string only {{json …}} may be used (it emits a JSON value)`);
  }
  const problem = w.json.jsonValue();
  if (problem !== null && name === "json") w.problems.push(`${where(m)}: ${problem}`);
  return m;
}

function content(text: string, node: Stmt, w: Walk): void {
  if (w.mode !== "json-text") return;
  const problem = w.json.feed(text);
  if (problem !== null) w.problems.push(`${where(node)}: ${problem}`);
}

function block(b: Stmt, w: Walk): void {
  const name = helperName(b);
  if (w.mode === "json-text") {
    w.problems.push(
      `${where(b)}: block helpers are not allowed in a string body template (use a JSON body template)`,
    );
    return;
  }
  if (name === null || !BLOCK_HELPERS.has(name)) {
    w.problems.push(`${where(b)}: unknown block helper (known: if, unless, each, with)`);
    return;
  }
  if (b.hash !== undefined && b.hash.pairs.length > 0)
    w.problems.push(`${where(b)}: hash arguments are not supported`);
  if ((b.params ?? []).length !== 1) w.problems.push(`${where(b)}: #${name} takes one argument`);
  for (const p of b.params ?? []) checkExpr(p, w);
  const inner = { ...w, rebound: w.rebound || name === "each" || name === "with" };
  if (b.program) program(b.program, inner);
  // The {{else}} branch runs in the outer context.
  if (b.inverse) program(b.inverse, w);
}

function program(p: ProgramNode, w: Walk): void {
  p.body = p.body.map((s) => {
    switch (s.type) {
      case "ContentStatement":
        content(typeof s.value === "string" ? s.value : "", s, w);
        return s;
      case "CommentStatement":
        return s;
      case "MustacheStatement":
        return mustache(s, w);
      case "BlockStatement":
        block(s, w);
        return s;
      default:
        w.problems.push(`${where(s)}: ${s.type} is not supported (no partials or decorators)`);
        return s;
    }
  });
}

/** Checks `ast` in place and rewrites its output statements; returns every problem found. */
export function checkTemplateAst(ast: ProgramNode, mode: TemplateMode, scope: TemplateScope): string[] {
  const json = new JsonTextLexer();
  const w: Walk = { mode, scope, problems: [], rebound: false, json };
  program(ast, w);
  if (mode === "json-text" && json.inString) w.problems.push("the template ends inside a JSON string");
  return w.problems;
}
