import { coerceText } from "./coerce.js";
import type { Problem } from "./problems.js";
import { dottedPath } from "./problems.js";
import type { LeafKind } from "./schema-walk.js";
import type { PlainRecord } from "./tree.js";
import { defineKey, isPlainRecord } from "./tree.js";

const REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

export interface Interpolated {
  value: unknown;
  problems: Problem[];
  /** Every value read from the environment, so callers can keep them out of messages. */
  secrets: string[];
}

/**
 * Replaces every string that is exactly `env:NAME` with that variable's value, converted to
 * the type of the key it lands on (`port: env:PORT` gives a number). A missing variable is a
 * problem naming the variable, never a value.
 */
export function interpolate(
  root: unknown,
  env: NodeJS.ProcessEnv,
  kindAt: (dotted: string) => LeafKind | undefined,
): Interpolated {
  const problems: Problem[] = [];
  const secrets: string[] = [];

  const visit = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === "string") {
      const match = REFERENCE.exec(value);
      const name = match?.[1];
      if (name === undefined) return value;
      const dotted = dottedPath(path);
      const text = env[name];
      if (text === undefined) {
        problems.push({ path: dotted, message: `environment variable ${name} is not set`, source: value });
        return undefined;
      }
      secrets.push(text);
      const coerced = coerceText(text, kindAt(dotted) ?? "string");
      if (!coerced.ok) {
        problems.push({ path: dotted, message: coerced.message, source: value });
        return undefined;
      }
      return coerced.value;
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (isPlainRecord(value)) {
      const copy: PlainRecord = {};
      for (const [key, child] of Object.entries(value)) defineKey(copy, key, visit(child, [...path, key]));
      return copy;
    }
    return value;
  };

  return { value: visit(root, []), problems, secrets };
}
