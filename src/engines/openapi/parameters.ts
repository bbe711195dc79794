import type { PlainJson } from "../../seal/json.js";
import { HTTP_TOKEN } from "./security.js";
import { type PathSegment, type ProblemList, shown } from "./spec-path.js";
import type { JsonSchema, MediaTypeInfo, OperationParameter, ParameterLocation } from "./types.js";

type Json = PlainJson | undefined;

export function isRecord(value: Json): value is { [key: string]: PlainJson } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const LOCATIONS = new Set<string>(["path", "query", "header", "cookie"]);
// The serialization styles OpenAPI defines per location; anything else could not be sent.
const STYLES: Record<ParameterLocation, readonly string[]> = {
  path: ["simple", "label", "matrix"],
  query: ["form", "spaceDelimited", "pipeDelimited", "deepObject"],
  header: ["simple"],
  cookie: ["form"],
};
// OpenAPI: header parameters with these names "SHALL be ignored" — the gateway sets them.
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);

export function schemaOf(value: Json): JsonSchema | undefined {
  return isRecord(value) || typeof value === "boolean" ? value : undefined;
}

/** A `content` map: media type → schema. */
export function readContent(
  value: Json,
  at: PathSegment[],
  problems: ProblemList,
): Record<string, MediaTypeInfo> {
  const out: Record<string, MediaTypeInfo> = {};
  if (value === undefined) return out;
  if (!isRecord(value)) {
    problems.add(at, "content must be an object of media types");
    return out;
  }
  for (const [mediaType, media] of Object.entries(value)) {
    if (!isRecord(media)) {
      problems.add([...at, mediaType], "a media type entry must be an object");
      continue;
    }
    out[mediaType] = { schema: schemaOf(media.schema) };
  }
  return out;
}

function readParameter(value: Json, at: PathSegment[], problems: ProblemList): OperationParameter | null {
  if (!isRecord(value)) {
    problems.add(at, "a parameter must be an object");
    return null;
  }
  const { name, in: location } = value;
  let ok = true;
  if (typeof name !== "string" || name === "") {
    problems.add([...at, "name"], "a parameter needs a non-empty name");
    ok = false;
  }
  if (typeof location !== "string" || !LOCATIONS.has(location)) {
    problems.add([...at, "in"], 'a parameter needs in: "path", "query", "header" or "cookie"');
    ok = false;
  }
  if (!ok) return null;
  const where = location as ParameterLocation;
  const paramName = name as string;
  if ((where === "header" || where === "cookie") && !HTTP_TOKEN.test(paramName)) {
    problems.add([...at, "name"], `${where} parameter name ${shown(paramName)} is not a valid token`);
    return null;
  }
  let schema = schemaOf(value.schema);
  let contentType: string | undefined;
  if (value.content !== undefined) {
    const content = readContent(value.content, [...at, "content"], problems);
    const types = Object.keys(content);
    if (types.length !== 1)
      problems.add([...at, "content"], "a parameter's content must hold exactly one media type");
    contentType = types[0];
    schema = contentType === undefined ? undefined : content[contentType]?.schema;
  }
  const style = typeof value.style === "string" ? value.style : (STYLES[where][0] as string);
  if (!STYLES[where].includes(style)) {
    problems.add([...at, "style"], `style ${shown(style)} is not defined for ${where} parameters`);
    return null;
  }
  return {
    name: paramName,
    in: where,
    required: where === "path" || value.required === true,
    schema,
    contentType,
    style,
    explode: typeof value.explode === "boolean" ? value.explode : style === "form",
    deprecated: value.deprecated === true,
    description: typeof value.description === "string" ? value.description : undefined,
  };
}

/** A `parameters` list; duplicates (same name and location) within one list are problems. */
export function readParameterList(
  value: Json,
  at: PathSegment[],
  problems: ProblemList,
): OperationParameter[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(at, "parameters must be an array");
    return [];
  }
  const out: OperationParameter[] = [];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const param = readParameter(item, [...at, i], problems);
    if (param === null) return;
    if (param.in === "header" && IGNORED_HEADERS.has(param.name.toLowerCase())) return;
    const key = `${param.in}:${param.in === "header" ? param.name.toLowerCase() : param.name}`;
    if (seen.has(key)) {
      problems.add([...at, i], `duplicate ${param.in} parameter ${shown(param.name)}`);
      return;
    }
    seen.add(key);
    out.push(param);
  });
  return out;
}

/** Path-item parameters overridden by operation parameters with the same name and location. */
export function mergeParameters(
  pathLevel: readonly OperationParameter[],
  operationLevel: readonly OperationParameter[],
): OperationParameter[] {
  const key = (p: OperationParameter) => `${p.in}:${p.in === "header" ? p.name.toLowerCase() : p.name}`;
  const overridden = new Set(operationLevel.map(key));
  return [...pathLevel.filter((p) => !overridden.has(key(p))), ...operationLevel];
}
