/**
 * Copies JSON data into objects with no prototype. Templates read `input` and `state`; with
 * nothing above the data there is no `constructor`, `__proto__` or method for a template
 * (or a crafted key such as `"__proto__"`) to reach, whatever the template engine allows.
 */
import { hasPlainPrototype, JsonNumber } from "../../seal/json.js";

export const MAX_SAFE_JSON_DEPTH = 128;

/** Why a value is not JSON data; the message never contains the value. */
export class NotJsonError extends Error {
  constructor(
    message: string,
    readonly reason: "not_json" | "too_deep" | "lossy_number",
  ) {
    super(message);
    this.name = "NotJsonError";
  }
}

export type SafeJson = null | boolean | number | string | SafeJson[] | { [key: string]: SafeJson };

function copy(value: unknown, depth: number): SafeJson {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new NotJsonError("a number is not finite", "not_json");
    return value;
  }
  if (typeof value !== "object") throw new NotJsonError(`a ${typeof value} is not JSON data`, "not_json");
  if (depth >= MAX_SAFE_JSON_DEPTH) throw new NotJsonError("the value nests too deeply", "too_deep");
  if (value instanceof JsonNumber) {
    // The signed literal must be the value acted on (seal/json.ts).
    if (!value.roundTrips) throw new NotJsonError("a number cannot be represented exactly", "lossy_number");
    return value.value;
  }
  if (Array.isArray(value)) {
    const out: SafeJson[] = [];
    for (const item of value) out.push(copy(item, depth + 1));
    return out;
  }
  if (!hasPlainPrototype(value)) throw new NotJsonError("an object is not plain JSON data", "not_json");
  const out = Object.create(null) as { [key: string]: SafeJson };
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** A deep copy of JSON data with null-prototype objects; throws NotJsonError otherwise. */
export function toSafeJson(value: unknown): SafeJson {
  return copy(value, 0);
}

/** A fresh null-prototype object (for `state` and its per-step entries). */
export function nullObject<T>(): { [key: string]: T } {
  return Object.create(null) as { [key: string]: T };
}
