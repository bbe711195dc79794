/**
 * The lexical layer of RFC 9535: a cursor over the query text that reads the grammar's tokens
 * (blank space, string literals, integers, numbers, member names, function names). Tokens are
 * read in place because the grammar's whitespace rules depend on context (`$.a` may not hold
 * blanks, `$[ 'a' ]` may), which a separate token stream would lose.
 */

/** A syntax error: `position` is the 0-based offset in the query text. */
export class JsonPathSyntaxError extends Error {
  readonly position: number;

  constructor(position: number, message: string) {
    super(message);
    this.name = "JsonPathSyntaxError";
    this.position = position;
  }
}

// Fixed, anchored (sticky) and free of nested quantifiers: they scan in linear time.
const INT_RE = /-?(?:0|[1-9][0-9]*)/y;
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const MEMBER_NAME_RE = /[A-Za-z_\u0080-\uD7FF\uE000-\u{10FFFF}][A-Za-z0-9_\u0080-\uD7FF\uE000-\u{10FFFF}]*/uy;
const FUNCTION_NAME_RE = /[a-z][a-z0-9_]*/y;
const HEX4_RE = /[0-9A-Fa-f]{4}/y;

const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ["b", "\b"],
  ["f", "\f"],
  ["n", "\n"],
  ["r", "\r"],
  ["t", "\t"],
  ["/", "/"],
  ["\\", "\\"],
]);

export class Cursor {
  pos = 0;
  private depth = 0;

  constructor(
    readonly src: string,
    private readonly maxDepth: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.src.length;
  }

  peek(offset = 0): string {
    return this.src.charAt(this.pos + offset);
  }

  /** Consumes `token` if the text continues with it. */
  eat(token: string): boolean {
    if (!this.src.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }

  expect(token: string, what: string): void {
    if (!this.eat(token)) this.fail(`expected ${what}`);
  }

  /** RFC 9535 `S`: any run of space, tab, LF, CR. Returns whether anything was skipped. */
  skipBlank(): boolean {
    const start = this.pos;
    for (;;) {
      const c = this.src.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
    return this.pos > start;
  }

  fail(message: string, position = this.pos): never {
    const found =
      position < this.src.length ? ` near ${describeChar(this.src, position)}` : " at end of input";
    throw new JsonPathSyntaxError(position, `${message}${found}`);
  }

  /** Nesting guard: filters, parentheses and calls recurse, so their depth is bounded. */
  enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
  }

  leave(): void {
    this.depth--;
  }

  private sticky(re: RegExp): string | null {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (m === null) return null;
    this.pos += m[0].length;
    return m[0];
  }

  /** RFC 9535 `int`, bounded to the I-JSON exact range ±(2^53−1). */
  readInt(): number | null {
    const start = this.pos;
    const text = this.sticky(INT_RE);
    if (text === null) return null;
    if (text === "-0") this.fail("'-0' is not a valid integer", start);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) this.fail("integer outside the range ±(2^53−1)", start);
    return value;
  }

  readNumber(): number | null {
    const text = this.sticky(NUMBER_RE);
    return text === null ? null : Number(text);
  }

  readMemberName(): string | null {
    return this.sticky(MEMBER_NAME_RE);
  }

  readFunctionName(): string | null {
    return this.sticky(FUNCTION_NAME_RE);
  }

  /** RFC 9535 `string-literal`, single or double quoted; the cursor is on the quote. */
  readStringLiteral(): string {
    const quote = this.peek();
    const start = this.pos;
    this.pos++;
    let out = "";
    for (;;) {
      if (this.done) this.fail("unterminated string literal", start);
      const c = this.src.charCodeAt(this.pos);
      const ch = this.src.charAt(this.pos);
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch === "\\") {
        out += this.readEscape(quote);
      } else if (c < 0x20) {
        this.fail("control characters must be escaped in string literals");
      } else if (c >= 0xd800 && c <= 0xdfff) {
        out += this.readSurrogatePair();
      } else {
        out += ch;
        this.pos++;
      }
    }
  }

  private readSurrogatePair(): string {
    const hi = this.src.charCodeAt(this.pos);
    const lo = this.src.charCodeAt(this.pos + 1);
    if (hi > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff)) this.fail("unpaired surrogate");
    this.pos += 2;
    return this.src.slice(this.pos - 2, this.pos);
  }

  private readEscape(quote: string): string {
    const at = this.pos;
    this.pos++;
    const e = this.peek();
    this.pos++;
    if (e === quote) return quote;
    const simple = SIMPLE_ESCAPES.get(e);
    if (simple !== undefined) return simple;
    if (e !== "u") this.fail("invalid escape sequence", at);
    const unit = this.readHex4(at);
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail("unpaired low surrogate escape", at);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (!this.eat("\\u")) this.fail("high surrogate escape must be followed by a low surrogate", at);
    const low = this.readHex4(at);
    if (low < 0xdc00 || low > 0xdfff)
      this.fail("high surrogate escape must be followed by a low surrogate", at);
    return String.fromCharCode(unit, low);
  }

  private readHex4(at: number): number {
    const hex = this.sticky(HEX4_RE);
    if (hex === null) this.fail("\\u must be followed by four hex digits", at);
    return Number.parseInt(hex, 16);
  }
}

/** A short, printable description of the character at `position` (never the whole input). */
function describeChar(src: string, position: number): string {
  const cp = src.codePointAt(position) ?? 0;
  if (cp >= 0x21 && cp <= 0x7e) return `'${String.fromCodePoint(cp)}'`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}
