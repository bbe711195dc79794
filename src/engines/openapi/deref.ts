import type { PlainJson } from "../../seal/json.js";
import { parseLocalRef } from "./json-pointer.js";
import { type PathSegment, type ProblemList, shown } from "./spec-path.js";

/**
 * Values whose content is data, not spec structure: a `$ref` inside an example or a default
 * is literal text (a JSON Schema shown as an example, say) and must not be resolved.
 */
const LITERAL_KEYS = new Set(["example", "default", "const", "enum", "value"]);
/** Keys whose object value is a map of user-chosen names (so `default` there is a name). */
const MAP_KEYS = new Set([
  "paths",
  "webhooks",
  "schemas",
  "responses",
  "parameters",
  "examples",
  "requestBodies",
  "headers",
  "securitySchemes",
  "links",
  "pathItems",
  "properties",
  "patternProperties",
  "dependentSchemas",
  "$defs",
  "definitions",
  "content",
  "encoding",
  "variables",
  "mapping",
]);

type Container = PlainJson[] | { [key: string]: PlainJson };

/** A path as a linked list: cheap to extend per node, turned into segments only for a problem. */
type Trail = { parent: Trail; key: PathSegment } | null;

function segments(trail: Trail): PathSegment[] {
  const out: PathSegment[] = [];
  for (let t = trail; t !== null; t = t.parent) out.push(t.key);
  return out.reverse();
}

interface Pending {
  raw: Container;
  out: Container;
  trail: Trail;
  /** >0 while inside a name-keyed map (callbacks nest two levels of names). */
  mapDepth: number;
}

function isContainer(value: PlainJson | undefined): value is Container {
  return typeof value === "object" && value !== null;
}

function refOf(value: Container): string | undefined {
  if (Array.isArray(value)) return undefined;
  const ref = value.$ref;
  return typeof ref === "string" ? ref : undefined;
}

const IGNORED_SIBLINGS = new Set(["$ref", "summary", "description"]);

/**
 * Replaces every local `$ref` by the value it points to, without recursion (a long chain of
 * references cannot exhaust the stack) and without copying a target twice: each container of
 * the document is materialized once and shared by every reference to it, so a recursive schema
 * becomes a cyclic object graph of the same size as the document (it neither loops nor grows).
 * Problems (remote, malformed or dangling references, reference loops that never reach a value)
 * are reported at the `$ref` that caused them.
 *
 * In 3.1 a `$ref` with sibling keywords (other than `summary`/`description`) becomes
 * `{...siblings, allOf: [target, ...siblingAllOf]}`, which is what JSON Schema 2020-12 means
 * by it; in 3.0 the siblings are ignored, as that version specifies.
 */
export function dereference(
  root: { [key: string]: PlainJson },
  problems: ProblemList,
  options: { siblingsAllowed: boolean },
): { [key: string]: PlainJson } {
  const memo = new Map<Container, Container>();
  const stack: Pending[] = [];

  const schedule = (raw: Container, trail: Trail, mapDepth: number): Container => {
    const known = memo.get(raw);
    if (known !== undefined) return known;
    const out: Container = Array.isArray(raw) ? [] : {};
    memo.set(raw, out);
    stack.push({ raw, out, trail, mapDepth });
    return out;
  };

  /** Follows a chain of references to the first value that is not itself a reference. */
  const follow = (start: Container, trail: Trail): { value: PlainJson; trail: Trail } => {
    let current: Container = start;
    let currentTrail = trail;
    const seen = new Set<Container>();
    for (;;) {
      const ref = refOf(current);
      if (ref === undefined) return { value: current, trail: currentTrail };
      const at = [...segments(currentTrail), "$ref"];
      if (seen.has(current)) {
        problems.add(at, `$ref ${shown(ref)} loops without reaching a value`);
        return { value: {}, trail };
      }
      seen.add(current);
      const parsed = parseLocalRef(ref);
      if (!parsed.ok) {
        problems.add(at, `${parsed.message}: ${shown(ref)}`);
        return { value: {}, trail };
      }
      const target = locate(root, parsed.tokens);
      if (target === undefined) {
        problems.add(at, `$ref target ${shown(ref)} does not exist`);
        return { value: {}, trail };
      }
      if (!isContainer(target.value)) return target;
      current = target.value;
      currentTrail = target.trail;
    }
  };

  const materialize = (value: PlainJson, trail: Trail, mapDepth: number): PlainJson => {
    if (!isContainer(value)) return value;
    if (refOf(value) === undefined) return schedule(value, trail, mapDepth);
    const target = follow(value, trail);
    const resolved = isContainer(target.value)
      ? schedule(target.value, target.trail, mapDepth)
      : target.value;
    if (!options.siblingsAllowed || Array.isArray(value)) return resolved;
    if (!Object.keys(value).some((key) => !IGNORED_SIBLINGS.has(key))) return resolved;
    const { $ref: _ref, summary: _summary, description: _description, allOf, ...rest } = value;
    const merged = schedule(rest, trail, 0) as { [key: string]: PlainJson };
    const more = Array.isArray(allOf)
      ? allOf.map((item, i) => materialize(item, { parent: { parent: trail, key: "allOf" }, key: i }, 0))
      : [];
    // Set before the stack fills `merged`: `rest` has no allOf key, so it is never overwritten.
    merged.allOf = [resolved, ...more];
    return merged;
  };

  const out = schedule(root, null, 0) as { [key: string]: PlainJson };
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { raw, out: target, trail, mapDepth } = item;
    if (Array.isArray(raw)) {
      const list = target as PlainJson[];
      raw.forEach((child, i) => {
        list.push(materialize(child, { parent: trail, key: i }, 0));
      });
      continue;
    }
    const record = target as { [key: string]: PlainJson };
    for (const [key, child] of Object.entries(raw)) {
      const literal =
        mapDepth === 0 &&
        (LITERAL_KEYS.has(key) || key.startsWith("x-") || (key === "examples" && Array.isArray(child)));
      if (literal) {
        record[key] = child;
        continue;
      }
      const childMapDepth =
        mapDepth > 0
          ? mapDepth - 1
          : key === "callbacks"
            ? 2
            : MAP_KEYS.has(key) && !Array.isArray(child)
              ? 1
              : 0;
      record[key] = materialize(child, { parent: trail, key }, childMapDepth);
    }
  }
  return out;
}

/** Resolves pointer tokens against the raw document, returning the value and where it is. */
function locate(root: PlainJson, tokens: readonly string[]): { value: PlainJson; trail: Trail } | undefined {
  let node: PlainJson = root;
  let trail: Trail = null;
  for (const token of tokens) {
    if (!isContainer(node)) return undefined;
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return undefined;
      node = node[Number(token)] as PlainJson;
      trail = { parent: trail, key: Number(token) };
    } else {
      // Own properties only: `#/__proto__` or `#/constructor` must never reach an inherited value.
      if (!Object.hasOwn(node, token)) return undefined;
      node = node[token] as PlainJson;
      trail = { parent: trail, key: token };
    }
  }
  return { value: node, trail };
}
