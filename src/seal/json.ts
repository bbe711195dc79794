/**
 * Strict, literal-preserving JSON parser for SEAL request bodies (DESIGN §2).
 *
 * The signature covers numbers exactly as the client wrote them, so numbers come back as
 * `JsonNumber` holding the literal text; `JSON.parse` would turn `1.0` into `1` and round
 * `18446744073709551616`, and the canonical bytes would no longer match what was signed.
 * Everything a lenient parser lets through and another component might read differently
 * (duplicate keys, lone surrogates, invalid UTF-8, a BOM, trailing commas) is rejected, so
 * the document that is verified is the only document anyone can act on.
 *
 * Objects inherit from nothing but one frozen, empty, null-prototype object: keys such as
 * `__proto__`, `constructor` and `prototype` are ordinary own data properties, no key can
 * reach `Object.prototype`, and `"toString" in obj` is false unless the client sent that key.
 * Property access, `Object.keys`, `for…in`, spread, `JSON.stringify` and zod's
 * `z.object`/`z.record` all work on them; calls to inherited methods (`obj.hasOwnProperty(…)`)
 * do not — use `Object.hasOwn`. (`Object.create(null)` would do the same, but V8 keeps such
 * objects in slow dictionary mode: `Object.keys` on them is ~10× slower, on every call.)
 */
export type JsonParseReason = "malformed_json" | "too_deep";

/** An expected parse failure; `message` is safe to show (it never quotes the input). */
export class JsonParseError extends Error {
  readonly reason: JsonParseReason;
  /** Offset of the failure: UTF-16 units into the decoded text, or bytes for invalid UTF-8. */
  readonly position: number;

  constructor(reason: JsonParseReason, message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = "JsonParseError";
    this.reason = reason;
    this.position = position;
  }
}

/** A number literal as it appeared in the input, with its IEEE-754 value. */
export class JsonNumber {
  readonly raw: string;
  readonly value: number;

  constructor(raw: string, value: number) {
    this.raw = raw;
    this.value = value;
  }

  /**
   * True when serializing `value` as JavaScript does (`JSON.stringify`) denotes the same
   * decimal number as `raw` (`1.0`, `1e+16`, `0.1` do; `18446744073709551616` does not).
   * Code that forwards a plain number must refuse the call when this is false, or it acts
   * on a value other than the one that was signed.
   */
  get roundTrips(): boolean {
    return decimalKey(this.raw) === decimalKey(String(this.value));
  }

  /** Lets `JSON.stringify` serialize a parsed tree (with the same rounding as `value`). */
  toJSON(): number {
    return this.value;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type PlainJson = null | boolean | string | number | PlainJson[] | { [key: string]: PlainJson };

export interface JsonParseOptions {
  /** Deepest allowed nesting of objects and arrays (a bare scalar is depth 0). */
  maxDepth?: number;
}

export type JsonParseResult = { ok: true; value: JsonValue } | { ok: false; error: JsonParseError };

export const DEFAULT_MAX_DEPTH = 64;
/** A hard ceiling so a configured depth can never exhaust the call stack. */
export const MAX_DEPTH_LIMIT = 1024;
/** Longer literals are refused: nobody signs a 4 KB number, and `Number()` on one is wasted work. */
export const MAX_NUMBER_LENGTH = 4096;

const EMPTY_PROTOTYPE: object = Object.freeze(Object.create(null));

function newObject<T>(): { [key: string]: T } {
  return Object.create(EMPTY_PROTOTYPE);
}

/** True for `{}` literals, null-prototype objects and objects from this parser or `toPlain`. */
export function hasPlainPrototype(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === EMPTY_PROTOTYPE || proto === Object.prototype || proto === null;
}

// fatal: invalid UTF-8 (including encoded surrogates and overlongs) throws instead of
// becoming U+FFFD; ignoreBOM: a BOM is kept, so the grammar rejects it as a stray character.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Parses a raw request body. Throws `JsonParseError`. */
export function parseJson(bytes: Uint8Array, options?: JsonParseOptions): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonParseError("malformed_json", "invalid UTF-8", invalidUtf8Offset(bytes));
  }
  return parseStrict(text, options);
}

/** Parses a string under the same rules (lone surrogates in the string itself included). */
export function parseStrict(text: string, options?: JsonParseOptions): JsonValue {
  return new Parser(text, depthOption(options)).document();
}

/** `parseJson`/`parseStrict` returning a result value instead of throwing. */
export function tryParseJson(input: Uint8Array | string, options?: JsonParseOptions): JsonParseResult {
  try {
    const value = typeof input === "string" ? parseStrict(input, options) : parseJson(input, options);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof JsonParseError) return { ok: false, error: err };
    throw err;
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber)
  );
}

export class LossyNumberError extends Error {
  readonly raw: string;
  constructor(raw: string) {
    super("a number cannot be represented without changing its value");
    this.name = "LossyNumberError";
    this.raw = raw;
  }
}

/**
 * Converts a parsed tree to ordinary JSON values (JS numbers; objects built like the parser's).
 * Numbers are rounded as `JSON.parse` would; with `rejectLossyNumbers` a number whose value
 * differs from its literal (see `JsonNumber.roundTrips`) throws `LossyNumberError` instead.
 */
export function toPlain(value: JsonValue, options?: { rejectLossyNumbers?: boolean }): PlainJson {
  return plain(value, options?.rejectLossyNumbers === true);
}

function plain(value: JsonValue, strict: boolean): PlainJson {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof JsonNumber) {
    if (strict && !value.roundTrips) throw new LossyNumberError(value.raw);
    return value.value;
  }
  if (Array.isArray(value)) return value.map((item) => plain(item, strict));
  const out = newObject<PlainJson>();
  for (const key of Object.keys(value)) {
    out[key] = plain(value[key] as JsonValue, strict);
  }
  return out;
}

function depthOption(options: JsonParseOptions | undefined): number {
  const depth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`maxDepth must be an integer from 1 to ${MAX_DEPTH_LIMIT}`);
  }
  return depth;
}

/** Only runs after the decoder refused the input, to say where. */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}

/**
 * Normal form of a decimal literal (sign, significant digits, exponent) so two spellings
 * of one number compare equal: `1.0`, `1`, `10e-1` → `1e0`. Zero has no sign.
 */
function decimalKey(literal: string): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (match === null) return `?${literal}`;
  const frac = match[3] ?? "";
  let digits = (match[2] ?? "") + frac;
  let exponent = Number(match[4] ?? "0") - frac.length;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 0x30) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 0x30) end--;
  if (start === end) return "0";
  exponent += digits.length - end;
  digits = digits.slice(start, end);
  return `${match[1]}${digits}e${exponent}`;
}

const WS_SPACE = 0x20;
const WS_TAB = 0x09;
const WS_LF = 0x0a;
const WS_CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Recursive descent over char codes; recursion is bounded by `maxDepth`. */
class Parser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): JsonValue {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail("unexpected data after the document");
    return value;
  }

  private fail(message: string, at: number = this.pos): never {
    throw new JsonParseError("malformed_json", message, at);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== WS_SPACE && c !== WS_LF && c !== WS_CR && c !== WS_TAB) break;
      pos++;
    }
    this.pos = pos;
  }

  private value(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case QUOTE:
        return this.string();
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x74: // t
        return this.word("true", true);
      case 0x66: // f
        return this.word("false", false);
      case 0x6e: // n
        return this.word("null", null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? "unexpected end of input" : "unexpected character");
    }
  }

  private word<T extends boolean | null>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail("invalid literal");
    this.pos += word.length;
    return value;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) {
      throw new JsonParseError("too_deep", `nesting deeper than ${this.maxDepth}`, this.pos);
    }
    this.pos++;
    this.skipWhitespace();
  }

  private object(depth: number): JsonObject {
    this.enter(depth);
    const out: JsonObject = newObject<JsonValue>();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      const keyAt = this.pos;
      if (this.text.charCodeAt(keyAt) !== QUOTE) this.fail("expected a string key");
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.skipWhitespace();
      const item = this.value(depth);
      // Checked after unescaping, so "a" and "\u0061" collide: a verifier and a consumer
      // that keep different copies of a duplicated key would act on different documents.
      if (out[key] !== undefined) this.fail("duplicate object key", keyAt);
      out[key] = item;
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x7d) return out;
      if (c !== 0x2c) this.fail("expected ',' or '}'", this.pos - 1);
      this.skipWhitespace();
    }
  }

  private array(depth: number): JsonValue[] {
    this.enter(depth);
    const out: JsonValue[] = [];
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected ',' or ']'", this.pos - 1);
      this.skipWhitespace();
    }
  }

  private number(): JsonNumber {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const first = text.charCodeAt(pos);
    if (first === 0x30) {
      pos++;
    } else if (first >= 0x31 && first <= 0x39) {
      pos = this.digits(pos);
    } else {
      this.fail("invalid number", pos);
    }
    if (text.charCodeAt(pos) === 0x2e) {
      const after = this.digits(pos + 1);
      if (after === pos + 1) this.fail("invalid number", after);
      pos = after;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      const after = this.digits(pos);
      if (after === pos) this.fail("invalid number", after);
      pos = after;
    }
    if (pos - start > MAX_NUMBER_LENGTH) this.fail("number literal too long", start);
    const raw = text.slice(start, pos);
    const value = Number(raw);
    // 1e400 is valid grammar but becomes Infinity, which JSON.stringify writes as null: a
    // component re-serializing it would send something other than what was signed.
    if (!Number.isFinite(value)) this.fail("number out of range", start);
    this.pos = pos;
    return new JsonNumber(raw, value);
  }

  private digits(from: number): number {
    let pos = from;
    for (;;) {
      const c = this.text.charCodeAt(pos);
      if (c < 0x30 || c > 0x39 || Number.isNaN(c)) return pos;
      pos++;
    }
  }

  private string(): string {
    const text = this.text;
    const start = this.pos + 1;
    let i = start;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return text.slice(start, i);
      }
      if (c === BACKSLASH || !(c >= 0x20) || (c & 0xf800) === 0xd800) break;
      i++;
    }
    return this.slowString(start, i);
  }

  /** Continues a string from `i`, the first character that is not plain text. */
  private slowString(start: number, from: number): string {
    const text = this.text;
    let out = "";
    let chunk = start;
    let i = from;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return out + text.slice(chunk, i);
      }
      if (c === BACKSLASH) {
        out += text.slice(chunk, i);
        out += this.escape(i);
        i = this.pos;
        chunk = i;
      } else if (!(c >= 0x20)) {
        this.fail(Number.isNaN(c) ? "unterminated string" : "control character in string", i);
      } else if ((c & 0xf800) === 0xd800) {
        // Only reachable from parseStrict: decoded UTF-8 never holds an unpaired surrogate.
        const next = text.charCodeAt(i + 1);
        if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) this.fail("lone surrogate", i);
        i += 2;
      } else {
        i++;
      }
    }
  }

  /** Decodes the escape at `at` (a backslash), leaves `pos` after it. */
  private escape(at: number): string {
    const c = this.text.charCodeAt(at + 1);
    this.pos = at + 2;
    switch (c) {
      case QUOTE:
        return '"';
      case BACKSLASH:
        return "\\";
      case 0x2f:
        return "/";
      case 0x62:
        return "\b";
      case 0x66:
        return "\f";
      case 0x6e:
        return "\n";
      case 0x72:
        return "\r";
      case 0x74:
        return "\t";
      case 0x75:
        return this.unicodeEscape(at);
      default:
        return this.fail("invalid escape", at);
    }
  }

  private unicodeEscape(at: number): string {
    const unit = this.hex4(at + 2);
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail("lone surrogate", at);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const text = this.text;
      if (text.charCodeAt(at + 6) !== BACKSLASH || text.charCodeAt(at + 7) !== 0x75) {
        this.fail("lone surrogate", at);
      }
      const low = this.hex4(at + 8);
      if (low < 0xdc00 || low > 0xdfff) this.fail("lone surrogate", at);
      this.pos = at + 12;
      return String.fromCharCode(unit, low);
    }
    this.pos = at + 6;
    return String.fromCharCode(unit);
  }

  private hex4(from: number): number {
    let unit = 0;
    for (let k = from; k < from + 4; k++) {
      const c = this.text.charCodeAt(k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return this.fail("invalid \\u escape", from - 2);
      unit = (unit << 4) | d;
    }
    return unit;
  }
}
