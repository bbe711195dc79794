import { type Document, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { tryParseJson } from "../../seal/json.js";
import { MAX_SPEC_DEPTH, type TreeResult, toJsonTree } from "./json-tree.js";

export const DEFAULT_MAX_SPEC_BYTES = 16 * 1024 * 1024;
// Every alias is counted against the size of what it points to (yaml's own guard), so a
// "billion laughs" document fails while it is still small; the byte budget of `toJsonTree`
// is the second line.
const MAX_YAML_ALIAS_COUNT = 100;
const MAX_YAML_PROBLEMS = 20;

export interface SpecSource {
  /** An object, or JSON text. */
  inline_json?: unknown;
  inline_yaml?: string;
  /** A fetched document, JSON or YAML (told apart by its first character). */
  text?: string;
  /** Largest accepted spec in bytes (text as UTF-8; objects as their JSON size). */
  maxBytes?: number;
}

function problem(message: string, path = "$"): TreeResult {
  return { ok: false, problems: [{ path, message }] };
}

function tooLarge(text: string, maxBytes: number): boolean {
  // Cheap bound first: UTF-8 needs at least one byte and at most three per UTF-16 unit.
  if (text.length > maxBytes) return true;
  return text.length * 3 > maxBytes && Buffer.byteLength(text, "utf8") > maxBytes;
}

function fromJsonText(text: string, maxBytes: number): TreeResult {
  if (tooLarge(text, maxBytes)) return problem(`the spec is larger than ${maxBytes} bytes`);
  // The gateway's strict parser: duplicate keys, lone surrogates and over-deep nesting are
  // refused, so two readers can never disagree about which document was registered.
  const parsed = tryParseJson(text, { maxDepth: MAX_SPEC_DEPTH });
  if (!parsed.ok) return problem(`invalid JSON: ${parsed.error.message}`);
  return toJsonTree(parsed.value, maxBytes);
}

/**
 * Duplicate and non-scalar keys, in one pass with a set per mapping. (yaml's own `uniqueKeys`
 * compares every pair of keys: seconds on a spec whose `components.schemas` has a thousand.)
 */
function keyProblems(doc: Document, lines: LineCounter): string[] {
  const found: string[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const at = lines.linePos(map.range?.[0] ?? 0).line;
        if (!isScalar(pair.key)) {
          found.push(`a mapping key must be a plain scalar (mapping at line ${at})`);
          continue;
        }
        const name = String(pair.key.value);
        if (seen.has(name))
          found.push(`duplicate key ${JSON.stringify(name.slice(0, 80))} (mapping at line ${at})`);
        seen.add(name);
      }
      if (found.length >= MAX_YAML_PROBLEMS) return visit.BREAK;
      return undefined;
    },
  });
  return found;
}

function fromYamlText(text: string, maxBytes: number): TreeResult {
  if (tooLarge(text, maxBytes)) return problem(`the spec is larger than ${maxBytes} bytes`);
  const lines = new LineCounter();
  // Core schema with known-tag resolution off: `!!binary`, `!!timestamp`, `!!set` and any
  // custom tag stay unresolved and are refused below instead of becoming non-JSON values.
  const doc = parseDocument(text, {
    schema: "core",
    resolveKnownTags: false,
    uniqueKeys: false,
    merge: false,
    prettyErrors: false,
    strict: true,
    lineCounter: lines,
  });
  const issues = [...doc.errors, ...doc.warnings].map(
    // The parser's message names the construct and position; it never quotes the document.
    (issue) => `invalid YAML: ${issue.message.split("\n", 1)[0] ?? issue.code}`,
  );
  if (issues.length === 0) issues.push(...keyProblems(doc, lines).map((m) => `invalid YAML: ${m}`));
  if (issues.length > 0) {
    return {
      ok: false,
      problems: issues.slice(0, MAX_YAML_PROBLEMS).map((message) => ({ path: "$", message })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch {
    return problem("invalid YAML: aliases expand too far (refused as a resource-exhaustion attempt)");
  }
  return toJsonTree(value, maxBytes);
}

function looksLikeJson(text: string): boolean {
  return /^\s*[{[]/.test(text);
}

/** Turns whichever source was given into a plain JSON tree, or the problems that stop it. */
export function parseSpecSource(source: SpecSource): TreeResult {
  const maxBytes = source.maxBytes ?? DEFAULT_MAX_SPEC_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) return problem("maxBytes must be a positive integer");
  const given = [source.inline_json, source.inline_yaml, source.text].filter((v) => v !== undefined);
  if (given.length !== 1) return problem("give exactly one of inline_json, inline_yaml or text");

  if (source.inline_yaml !== undefined) {
    if (typeof source.inline_yaml !== "string") return problem("inline_yaml must be a string");
    return fromYamlText(source.inline_yaml, maxBytes);
  }
  if (source.text !== undefined) {
    if (typeof source.text !== "string") return problem("text must be a string");
    // A fetched file may start with a byte-order mark; the strict JSON parser refuses one.
    const text = source.text.startsWith("\uFEFF") ? source.text.slice(1) : source.text;
    return looksLikeJson(text) ? fromJsonText(text, maxBytes) : fromYamlText(text, maxBytes);
  }
  const json = source.inline_json;
  if (typeof json === "string") return fromJsonText(json, maxBytes);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return problem("inline_json must be an object or a JSON string");
  }
  return toJsonTree(json, maxBytes);
}
