import { dereference } from "../engines/openapi/deref.js";
import { ProblemList } from "../engines/openapi/spec-path.js";
import type { PlainJson } from "../seal/json.js";

/**
 * A tool's input schema with every local `$ref` inlined, as MCP `tools/list` shows it: many
 * MCP clients do not resolve references (and a model reads the schema as text). A recursive
 * schema cannot be inlined, so workflows are refused at registration when theirs is one, and a
 * reference graph that would expand beyond MAX_NODES (shared definitions used many times over)
 * is refused the same way rather than sent to clients as megabytes of schema.
 */

export type DereferencedSchema = { ok: true; schema: PlainJson } | { ok: false; message: string };

const MAX_NODES = 20_000;

type Obj = { [key: string]: PlainJson };

function isObj(v: PlainJson): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class CycleError extends Error {}
class TooLargeError extends Error {}

export function dereferenceSchema(schema: PlainJson): DereferencedSchema {
  if (!isObj(schema)) return { ok: true, schema };
  const problems = new ProblemList();
  // dereference() resolves references below the root; a root `$ref` is applied like any $ref
  // with siblings in 2020-12: alongside them, as one more allOf member.
  const { $ref: rootRef, ...rest } = schema;
  const root: Obj =
    rootRef === undefined
      ? schema
      : { ...rest, allOf: [...(Array.isArray(rest.allOf) ? rest.allOf : []), { $ref: rootRef }] };
  const graph = dereference(root, problems, { siblingsAllowed: true });
  const first = problems.items[0];
  if (first) return { ok: false, message: `${first.path}: ${first.message}` };
  // The definitions were only there to be referenced; every reference is now inlined.
  const { $defs: _defs, definitions: _definitions, ...inlined } = graph;
  let nodes = 0;
  const onPath = new Set<object>();
  const copy = (v: PlainJson): PlainJson => {
    if (typeof v !== "object" || v === null) return v;
    if (++nodes > MAX_NODES) throw new TooLargeError();
    if (onPath.has(v)) throw new CycleError();
    onPath.add(v);
    try {
      if (Array.isArray(v)) return v.map(copy);
      const out: Obj = {};
      for (const [k, child] of Object.entries(v)) out[k] = copy(child);
      return out;
    } finally {
      onPath.delete(v);
    }
  };
  try {
    return { ok: true, schema: copy(inlined) };
  } catch (err) {
    if (err instanceof CycleError)
      return {
        ok: false,
        message: "the schema is recursive ($ref cycle): it cannot be shown without $ref to MCP clients",
      };
    if (err instanceof TooLargeError)
      return {
        ok: false,
        message: `the schema expands to more than ${MAX_NODES} nodes once $refs are inlined`,
      };
    throw err;
  }
}
