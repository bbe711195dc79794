/**
 * Request body templates, in two forms:
 * - a JSON object or array whose string leaves are templates. The structure is fixed by the
 *   definition; a value can only ever fill a leaf. A leaf that is exactly `{{json x}}` becomes
 *   the JSON value of x (number, object…); any other leaf becomes a string. Keys are literal.
 * - a template string whose output is JSON text (`json-text` mode, see template-ast.ts): every
 *   plain `{{…}}` inside a string literal, JSON-escaped; `{{json …}}` between tokens. The
 *   output is re-parsed strictly (duplicate keys, lone surrogates refused).
 */
import { LossyNumberError, toPlain, tryParseJson } from "../../seal/json.js";
import type { PathSegment } from "../openapi/spec-path.js";
import {
  type CompiledTemplate,
  compileTemplate,
  isLiteralTemplate,
  type TemplateContext,
  TemplateRenderError,
  type TemplateScope,
} from "./templates.js";

type BodyNode =
  | { kind: "literal"; value: unknown }
  | { kind: "text"; template: CompiledTemplate }
  | { kind: "value"; template: CompiledTemplate }
  | { kind: "array"; items: BodyNode[] }
  | { kind: "object"; entries: [string, BodyNode][] };

export type CompiledBody =
  | { kind: "json-text"; template: CompiledTemplate }
  | { kind: "structure"; root: BodyNode };

export interface BodyProblem {
  at: PathSegment[];
  message: string;
}

const MAX_BODY_DEPTH = 64;
const WHOLE_JSON_LEAF = /^\{\{\s*json\s[^{}]*\}\}$/;

function compileNode(
  value: unknown,
  at: PathSegment[],
  scope: TemplateScope,
  problems: BodyProblem[],
): BodyNode {
  if (typeof value === "string") {
    if (isLiteralTemplate(value)) return { kind: "literal", value };
    const compiled = compileTemplate(value, "text", scope);
    if (!compiled.ok) {
      for (const message of compiled.problems) problems.push({ at, message });
      return { kind: "literal", value };
    }
    return { kind: WHOLE_JSON_LEAF.test(value) ? "value" : "text", template: compiled.template };
  }
  if (Array.isArray(value))
    return { kind: "array", items: value.map((v, i) => compileNode(v, [...at, i], scope, problems)) };
  if (typeof value === "object" && value !== null) {
    const entries: [string, BodyNode][] = [];
    for (const [key, v] of Object.entries(value)) {
      if (!isLiteralTemplate(key))
        problems.push({ at: [...at, key], message: "object keys are not templated" });
      entries.push([key, compileNode(v, [...at, key], scope, problems)]);
    }
    return { kind: "object", entries };
  }
  return { kind: "literal", value };
}

export function compileBody(
  body: unknown,
  scope: TemplateScope,
): { ok: true; body: CompiledBody } | { ok: false; problems: BodyProblem[] } {
  const problems: BodyProblem[] = [];
  if (typeof body === "string") {
    const compiled = compileTemplate(body, "json-text", scope);
    if (compiled.ok) return { ok: true, body: { kind: "json-text", template: compiled.template } };
    return { ok: false, problems: compiled.problems.map((message) => ({ at: [], message })) };
  }
  const root = compileNode(body, [], scope, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, body: { kind: "structure", root } };
}

function renderNode(node: BodyNode, ctx: TemplateContext): unknown {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "text":
      return node.template.render(ctx);
    case "value":
      // The output is JSON.stringify's, so it parses back to exactly that value.
      return JSON.parse(node.template.render(ctx));
    case "array":
      return node.items.map((item) => renderNode(item, ctx));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, child] of node.entries) out[key] = renderNode(child, ctx);
      return out;
    }
  }
}

/** The body as a JSON value; throws TemplateRenderError when it cannot be produced. */
export function renderBody(body: CompiledBody, ctx: TemplateContext): unknown {
  if (body.kind === "structure") return renderNode(body.root, ctx);
  const parsed = tryParseJson(body.template.render(ctx), { maxDepth: MAX_BODY_DEPTH });
  if (!parsed.ok)
    throw new TemplateRenderError(`the rendered body is not valid JSON (${parsed.error.reason})`);
  try {
    return toPlain(parsed.value, { rejectLossyNumbers: true });
  } catch (err) {
    if (err instanceof LossyNumberError)
      throw new TemplateRenderError("the rendered body has a number that loses precision");
    throw err;
  }
}
