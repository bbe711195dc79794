/**
 * Parameter templates render to text; the operation's schema says what type the upstream
 * expects, and buildRequest checks types without coercing (`"5"` is not an integer). So the
 * text is read as the declared type here — only when it is exactly a literal of that type;
 * anything else stays text and is refused by buildRequest's type check.
 */
import type { OperationParameter } from "../openapi/types.js";

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

function declaredTypes(param: OperationParameter | undefined): string[] {
  const schema = param?.schema;
  if (typeof schema !== "object") return [];
  const t = schema.type;
  if (typeof t === "string") return [t];
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : [];
}

function parseJsonArray(text: string): unknown[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The value to pass to buildRequest for rendered `text`. Empty text for a parameter that is
 * not a string means "not given" (an optional input left out), so the parameter is omitted.
 */
export function parameterValue(text: string, param: OperationParameter | undefined): unknown {
  const types = declaredTypes(param);
  if (types.length === 0 || types.includes("string")) return text;
  if (text === "") return undefined;
  if (types.includes("integer") && INTEGER.test(text) && Number.isSafeInteger(Number(text)))
    return Number(text);
  if (types.includes("number") && NUMBER.test(text) && Number.isFinite(Number(text))) return Number(text);
  if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true";
  if (types.includes("array") && text.startsWith("[")) return parseJsonArray(text) ?? text;
  return text;
}
