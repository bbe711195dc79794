/**
 * Handlebars for workflow templates, in an isolated environment with only our helpers.
 *
 * Defences, in layers: the AST check (template-ast.ts) refuses prototype-shaped paths,
 * unknown helpers, partials and decorators at registration; the compiler runs with
 * `knownHelpersOnly` and `strict`; the runtime denies prototype properties and methods; and
 * the data itself is a null-prototype clone (safe-json.ts), so there is no prototype to reach.
 * Every printed value passes through `__scalar` (text) or `__jstr` (inside a JSON string),
 * which refuse undefined and structured values instead of printing `[object Object]`.
 */
import Handlebars from "handlebars";
import {
  checkTemplateAst,
  OUTPUT_HELPERS,
  type ProgramNode,
  type TemplateMode,
  type TemplateScope,
} from "./template-ast.js";

export type { TemplateMode, TemplateScope } from "./template-ast.js";

/** Rendered text larger than this is refused: a template must not amplify its input. */
export const MAX_RENDERED_LENGTH = 1 << 20;

/** A render failure; `message` is written here and never contains data values. */
export class TemplateRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateRenderError";
  }
}

export interface TemplateContext {
  input: unknown;
  state: unknown;
}

export interface CompiledTemplate {
  readonly source: string;
  readonly mode: TemplateMode;
  render(context: TemplateContext): string;
}

export type CompileTemplateResult =
  | { ok: true; template: CompiledTemplate }
  | { ok: false; problems: string[] };

function scalarText(value: unknown): string {
  if (value === undefined) throw new TemplateRenderError("a template refers to a value that is not set");
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new TemplateRenderError("a plain {{…}} printed an object or array; use {{json …}}");
}

const env = Handlebars.create();
env.unregisterHelper("log");
env.unregisterDecorator("inline");
env.registerHelper("json", (value: unknown) => {
  if (value === undefined) throw new TemplateRenderError("{{json …}} refers to a value that is not set");
  return JSON.stringify(value);
});
env.registerHelper(OUTPUT_HELPERS.scalar, (value: unknown) => scalarText(value));
env.registerHelper(OUTPUT_HELPERS.jsonString, (value: unknown) =>
  JSON.stringify(scalarText(value)).slice(1, -1),
);

const COMPILE_OPTIONS = {
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: {
    json: true,
    lookup: true,
    if: true,
    unless: true,
    each: true,
    with: true,
    log: false,
    [OUTPUT_HELPERS.scalar]: true,
    [OUTPUT_HELPERS.jsonString]: true,
  },
  noEscape: true,
  preventIndent: true,
  explicitPartialContext: true,
} as const;

const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
  allowCallsToHelperMissing: false,
};

function handlebarsMessage(err: unknown): string {
  // Parser messages quote the template (operator-written, not data): keep the position line
  // and the "Expecting …" line, not the excerpt in between.
  const lines = (err instanceof Error ? err.message : "invalid template").split("\n");
  const first = lines[0] ?? "invalid template";
  const last = lines.length > 1 ? ` ${lines.at(-1)}` : "";
  return `${first}${last}`.slice(0, 300);
}

function parseHint(source: string): string {
  return source.includes("}}}") && !source.includes("{{{")
    ? " (write `}} }`: `}}}` closes a triple-stash {{{…}}})"
    : "";
}

/**
 * Parses, checks and compiles a template. `text` templates produce a string (parameters,
 * headers, string leaves of a JSON body); `json-text` templates produce JSON text in which
 * every plain `{{…}}` sits inside a string literal.
 */
export function compileTemplate(
  source: string,
  mode: TemplateMode,
  scope: TemplateScope,
): CompileTemplateResult {
  let ast: ProgramNode;
  try {
    ast = env.parse(source) as unknown as ProgramNode;
  } catch (err) {
    return { ok: false, problems: [`does not parse: ${handlebarsMessage(err)}${parseHint(source)}`] };
  }
  const problems = checkTemplateAst(ast, mode, scope);
  if (problems.length > 0) return { ok: false, problems };
  const program = ast as unknown as hbs.AST.Program;
  try {
    // Handlebars compiles lazily; precompiling now surfaces compiler errors at registration.
    env.precompile(program, COMPILE_OPTIONS);
  } catch (err) {
    return { ok: false, problems: [`does not compile: ${handlebarsMessage(err)}`] };
  }
  const fn = env.compile(program, COMPILE_OPTIONS);
  return {
    ok: true,
    template: {
      source,
      mode,
      render(context) {
        let out: string;
        try {
          out = fn(context, RUNTIME_OPTIONS);
        } catch (err) {
          if (err instanceof TemplateRenderError) throw err;
          throw new TemplateRenderError(
            "a template refers to a value that is not set (or reads a field of a non-object)",
          );
        }
        if (out.length > MAX_RENDERED_LENGTH)
          throw new TemplateRenderError("the rendered template is too large");
        return out;
      },
    },
  };
}

/** True when `source` contains no Handlebars syntax at all (a literal value). */
export function isLiteralTemplate(source: string): boolean {
  return !source.includes("{{");
}
