/**
 * Extractors: each variable is a JSONPath over the step's response body. A singular query
 * (RFC 9535 §2.3.5.1: names and indexes only) yields that value or null; any other query
 * yields the array of all matches (possibly empty), so a variable's shape never depends on
 * how many matches one response happened to have.
 */
import { GatewayError } from "../../errors.js";
import { type CompiledPath, JsonPathLimitError, queryJsonPath } from "../jsonpath/jsonpath.js";
import { nullObject, type SafeJson } from "./safe-json.js";

const MAX_MATCHES = 10_000;

export function extractVariables(
  step: string,
  extractors: readonly { name: string; path: CompiledPath }[],
  body: SafeJson,
): { [name: string]: SafeJson } {
  const out = nullObject<SafeJson>();
  for (const { name, path } of extractors) {
    let values: unknown[];
    try {
      values = queryJsonPath(path, body, { maxResults: MAX_MATCHES }).values;
    } catch (err) {
      if (!(err instanceof JsonPathLimitError)) throw err;
      throw new GatewayError(
        "EXECUTION_FAILED",
        `extractor ${name} of step ${step} exceeded a JSONPath limit`,
        {
          reason: "extractor_limit",
          step,
          variable: name,
        },
      );
    }
    out[name] = path.singular ? ((values[0] as SafeJson | undefined) ?? null) : (values as SafeJson[]);
  }
  return out;
}
