import type { LeafKind } from "./schema-walk.js";

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/**
 * Turns a text value (from the environment or an `env:VAR` reference) into the type the
 * schema expects at that key. Messages describe the expected form, never the text, which may
 * be a secret.
 */
export function coerceText(text: string, kind: LeafKind): Coerced {
  const trimmed = text.trim();
  switch (kind) {
    case "string":
      return { ok: true, value: text };
    case "number":
      return NUMBER.test(trimmed)
        ? { ok: true, value: Number(trimmed) }
        : { ok: false, message: "expected a number" };
    case "boolean": {
      const lower = trimmed.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, message: "expected true or false" };
    }
    case "list":
      return {
        ok: true,
        value:
          trimmed === ""
            ? []
            : trimmed
                .split(",")
                .map((item) => item.trim())
                .filter((item) => item !== ""),
      };
    case "json":
      try {
        return { ok: true, value: JSON.parse(trimmed) as unknown };
      } catch {
        return { ok: false, message: "expected JSON (this key takes a list of objects or an object)" };
      }
  }
}
