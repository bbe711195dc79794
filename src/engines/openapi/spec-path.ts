import type { SpecProblem } from "./types.js";

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Problem paths quote document keys; a hostile spec must not be able to forge a long or
// multi-line path, so quoted keys are escaped and cut.
const MAX_KEY_IN_PATH = 120;

function quoteKey(key: string): string {
  const cut = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key;
  return `['${JSON.stringify(cut).slice(1, -1).replace(/'/g, "\\'")}']`;
}

/** `$.paths['/pets'].get.parameters[0]`: RFC 9535 shorthand names where allowed, brackets otherwise. */
export function jsonPath(segments: readonly PathSegment[]): string {
  let out = "$";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += IDENTIFIER.test(segment) ? `.${segment}` : quoteKey(segment);
  }
  return out;
}

/** Collects problems; `at` takes path segments so callers never build path strings by hand. */
export class ProblemList {
  readonly items: SpecProblem[] = [];

  add(segments: readonly PathSegment[], message: string): void {
    this.items.push({ path: jsonPath(segments), message });
  }

  get size(): number {
    return this.items.length;
  }
}

/** A short, single-line rendering of a spec-provided string for messages. */
export function shown(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
