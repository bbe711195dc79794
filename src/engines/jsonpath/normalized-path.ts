/** RFC 9535 §2.7 normalized paths: `$['a'][0]`. */

import type { Budget } from "./limits.js";

/** A node of a result nodelist; the parent chain is its location, built only when asked for. */
export interface PathNode {
  readonly value: unknown;
  readonly parent: PathNode | null;
  readonly key: string | number | null;
}

/**
 * The node's normalized path. Paths are charged to the budget by their length: on a deeply
 * nested document `$..*` returns n nodes whose paths add up to n²/2 segments.
 */
export function normalizedPath(node: PathNode, budget: Budget): string {
  let depth = 0;
  for (let n: PathNode | null = node; n !== null && n.key !== null; n = n.parent) depth++;
  budget.visit(depth);
  const parts: string[] = [];
  for (let n: PathNode | null = node; n !== null && n.key !== null; n = n.parent) {
    parts.push(typeof n.key === "number" ? `[${n.key}]` : `['${escapeName(n.key)}']`);
  }
  parts.push("$");
  return parts.reverse().join("");
}

function escapeName(name: string): string {
  if (!needsEscape(name)) return name;
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const next = name.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += name.slice(i, i + 2);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate has no literal spelling in a normalized path; keep it visible.
      out += `\\u${c.toString(16)}`;
    } else {
      out += escapeUnit(c);
    }
  }
  return out;
}

function needsEscape(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x27 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

function escapeUnit(c: number): string {
  switch (c) {
    case 0x27:
      return "\\'";
    case 0x5c:
      return "\\\\";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    default:
      return c < 0x20 ? `\\u${c.toString(16).padStart(4, "0")}` : String.fromCharCode(c);
  }
}
