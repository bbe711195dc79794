/**
 * The SEAL v1 canonical form (DESIGN §2 "Signed bytes"): keys sorted by code point at every
 * depth, no whitespace, minimal string escaping, numbers as their literal text. It is
 * byte-identical to Python's `json.dumps(sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)`, which is what the reference SDKs sign.
 */
import { hasPlainPrototype, JsonNumber } from "./json.js";

/** Deeper input is a bug (or a cycle) in the caller; parsed bodies are capped far lower. */
const MAX_CANONICAL_DEPTH = 1024;

/** Escapes for the characters that must not appear raw: U+0000–U+001F, `"` and `\`. */
const ESCAPES: string[] = [];
for (let c = 0; c < 0x20; c++) ESCAPES[c] = `\\u${c.toString(16).padStart(4, "0")}`;
ESCAPES[0x08] = "\\b";
ESCAPES[0x09] = "\\t";
ESCAPES[0x0a] = "\\n";
ESCAPES[0x0c] = "\\f";
ESCAPES[0x0d] = "\\r";
ESCAPES[0x22] = '\\"';
ESCAPES[0x5c] = "\\\\";

/**
 * UTF-8 of `{"payload":…,"security_token":…,"timestamp":N}` — the bytes an envelope's
 * signature covers. `payload` is normally the tree from `parseJson`, whose `JsonNumber`s
 * are written as the literals the client signed.
 */
export function canonicalBytes(
  payload: unknown,
  securityToken: string,
  timestampSeconds: number,
): Uint8Array {
  if (typeof securityToken !== "string") throw new TypeError("security token must be a string");
  if (!Number.isSafeInteger(timestampSeconds)) throw new TypeError("timestamp must be an integer");
  const text = `{"payload":${canonicalJson(payload)},"security_token":${quote(securityToken)},"timestamp":${timestampSeconds}}`;
  const buf = Buffer.from(text, "utf8");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Canonical JSON text of a value, for signatures and audit hashes. Accepts parsed trees
 * (`JsonNumber` → its literal) and ordinary values: finite numbers as `JSON.stringify`
 * writes them, bigints as decimal digits, plain or null-prototype objects, arrays.
 * Object members whose value is `undefined` are left out (as `JSON.stringify` does).
 * Throws `TypeError` for anything without one unambiguous JSON form — `undefined` in an
 * array, non-finite numbers, lone surrogates, class instances, functions, symbols —
 * rather than silently hashing or signing something else.
 */
export function canonicalJson(value: unknown): string {
  return emit(value, 0);
}

function emit(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("non-finite number has no JSON form");
      return String(value);
    case "bigint":
      return value.toString();
    case "object":
      if (value === null) return "null";
      if (value instanceof JsonNumber) return value.raw;
      if (depth >= MAX_CANONICAL_DEPTH) throw new TypeError("value nested too deeply (or cyclic)");
      if (Array.isArray(value)) return emitArray(value, depth + 1);
      return emitObject(value, depth + 1);
    default:
      throw new TypeError(`${typeof value} has no JSON form`);
  }
}

function emitArray(items: unknown[], depth: number): string {
  let out = "[";
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) throw new TypeError("undefined array element has no JSON form");
    if (i > 0) out += ",";
    out += emit(item, depth);
  }
  return `${out}]`;
}

function emitObject(obj: object, depth: number): string {
  if (!hasPlainPrototype(obj)) throw new TypeError("only plain objects have a canonical form");
  const record = obj as Record<string, unknown>;
  const keys = sortKeys(Object.keys(record));
  let out = "{";
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) out += ",";
    first = false;
    out += `${quote(key)}:${emit(item, depth)}`;
  }
  return `${out}}`;
}

/**
 * Code-point order. The default sort compares UTF-16 units, which puts an astral character
 * (a surrogate pair, 0xD800…) before U+E000–U+FFFF; Python orders by code point. The cheap
 * default sort is exact whenever no key holds a surrogate.
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length < 2) return keys;
  for (const key of keys) {
    if (hasSurrogate(key)) return keys.sort(compareCodePoints);
  }
  return keys.length > 16 ? keys.sort() : insertionSort(keys);
}

/** Objects in a tool call have a handful of keys; this beats `Array.prototype.sort` there. */
function insertionSort(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if ((s.charCodeAt(i) & 0xf800) === 0xd800) return true;
  }
  return false;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000–U+FFFF so unit order agrees with code-point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** A JSON string with minimal escaping; everything else, DEL and U+0080 upward, stays raw. */
function quote(s: string): string {
  let out = '"';
  let chunk = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) {
      out += s.slice(chunk, i) + (ESCAPES[c] as string);
      chunk = i + 1;
    } else if ((c & 0xf800) === 0xd800) {
      // A lone surrogate has no UTF-8 form; encoding would swap in U+FFFD and sign that.
      const next = s.charCodeAt(i + 1);
      if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) {
        throw new TypeError("lone surrogate has no UTF-8 form");
      }
      i++;
    }
  }
  return `${out}${s.slice(chunk)}"`;
}
