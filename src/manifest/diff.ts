import { jsonPath, type PathSegment } from "../engines/openapi/spec-path.js";

/** Paths (`steps[0].query_params.status`) where two JSON values differ; arrays of unequal length at the array. */
export function diffPaths(desired: unknown, live: unknown, at: PathSegment[] = []): string[] {
  const here = () => [jsonPath(at).replace(/^\$\.?/, "")];
  if (Array.isArray(desired) && Array.isArray(live)) {
    if (desired.length !== live.length) return here();
    return desired.flatMap((d, i) => diffPaths(d, live[i], [...at, i]));
  }
  if (isPlainObject(desired) && isPlainObject(live)) {
    const keys = [...new Set([...Object.keys(desired), ...Object.keys(live)])].sort();
    return keys.flatMap((k) => diffPaths(desired[k], live[k], [...at, k]));
  }
  return Object.is(desired, live) ? [] : here();
}

/** The changed fields among `fields` only (what the manifest sets). */
export function diffFields(
  desired: Record<string, unknown>,
  live: Record<string, unknown>,
  fields: readonly string[],
): string[] {
  return fields.flatMap((f) => diffPaths(desired[f], live[f], [f]));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
