/**
 * RFC 9485 I-Regexp parser. The pattern is validated against the I-Regexp grammar and turned
 * into a small tree; it is never handed to the host's RegExp engine, so none of that engine's
 * extra syntax (backreferences, lookaround, lazy quantifiers, flags) is reachable, and matching
 * (iregexp-match.ts) runs in time linear in the input.
 */

import { JSONPATH_LIMITS, JsonPathLimitError } from "./limits.js";

/*
 * Anchors. RFC 9485's grammar lists `^` and `$` among the NormalChars (literals, as in XSD),
 * but its own ECMAScript mapping (§5.3) passes them through, where they anchor, and the
 * JSONPath Compliance Test Suite expects that reading ("functions, match, explicit caret /
 * dollar"). We follow the suite: `^` matches at the start of the input and `$` at its end,
 * exactly as the §5.3 mapping behaves. A literal `^` is written `\^` and a literal `$` `[$]`.
 */

/** A character class: code point ranges (pairs) and Unicode category tests, maybe negated. */
export interface CharSet {
  readonly negated: boolean;
  readonly ranges: readonly number[];
  readonly categories: readonly { readonly re: RegExp; readonly negated: boolean }[];
}

export type RegexNode =
  | { readonly t: "set"; readonly set: CharSet }
  /** `^` / `$`: start / end of the input (see the note on anchors above). */
  | { readonly t: "start" | "end" }
  | { readonly t: "seq"; readonly items: readonly RegexNode[] }
  | { readonly t: "alt"; readonly alts: readonly RegexNode[] }
  | { readonly t: "rep"; readonly body: RegexNode; readonly min: number; readonly max: number };

// RFC 9485 §3 IsCategory. Each becomes a fixed one-character RegExp built from this list only.
const CATEGORY_NAMES = [
  ..."L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po".split(" "),
  ..."Z Zs Zl Zp S Sm Sc Sk So C Cc Cf Cn Co".split(" "),
];
const CATEGORIES: ReadonlyMap<string, RegExp> = new Map(
  CATEGORY_NAMES.map((name) => [name, new RegExp(`^\\p{${name}}$`, "u")]),
);

/** SingleCharEsc: the characters that may follow `\` to stand for themselves (plus n, r, t). */
const SINGLE_ESCAPES = new Set([..."()*+-.?[\\]^{|}"].map((c) => c.codePointAt(0)));

/** Marks a pattern that is not a valid I-Regexp (RFC 9535: match/search then yield false). */
class InvalidPattern extends Error {}

const DOT: CharSet = { negated: true, ranges: [0x0a, 0x0a, 0x0d, 0x0d], categories: [] };

function isSurrogate(cp: number): boolean {
  return cp >= 0xd800 && cp <= 0xdfff;
}

/** RFC 9485 NormalChar: anything but the metacharacters `()*+.?[\]{|}` (and surrogates). */
function isNormalChar(cp: number): boolean {
  if (isSurrogate(cp)) return false;
  return !(
    (cp >= 0x28 && cp <= 0x2b) ||
    cp === 0x2e ||
    cp === 0x3f ||
    (cp >= 0x5b && cp <= 0x5d) ||
    (cp >= 0x7b && cp <= 0x7d)
  );
}

function single(cp: number): CharSet {
  return { negated: false, ranges: [cp, cp], categories: [] };
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly cps: readonly number[]) {}

  parse(): RegexNode {
    const node = this.alternation();
    if (this.i !== this.cps.length) throw new InvalidPattern();
    return node;
  }

  private peek(): number | undefined {
    return this.cps[this.i];
  }

  private alternation(): RegexNode {
    const alts = [this.branch()];
    while (this.peek() === 0x7c) {
      this.i++;
      alts.push(this.branch());
    }
    return alts.length === 1 ? (alts[0] as RegexNode) : { t: "alt", alts };
  }

  private branch(): RegexNode {
    const items: RegexNode[] = [];
    for (let c = this.peek(); c !== undefined && c !== 0x7c && c !== 0x29; c = this.peek()) {
      const atom = this.atom();
      // An anchor cannot be repeated (ECMAScript's "nothing to repeat").
      items.push(atom.t === "start" || atom.t === "end" ? atom : this.quantified(atom));
    }
    return items.length === 1 ? (items[0] as RegexNode) : { t: "seq", items };
  }

  private atom(): RegexNode {
    const c = this.peek();
    if (c === undefined) throw new InvalidPattern();
    if (c === 0x28) {
      if (++this.depth > JSONPATH_LIMITS.maxRegexDepth) {
        throw new JsonPathLimitError(
          "regex",
          JSONPATH_LIMITS.maxRegexDepth,
          "regular expression nested too deeply",
        );
      }
      this.i++;
      const inner = this.alternation();
      if (this.peek() !== 0x29) throw new InvalidPattern();
      this.i++;
      this.depth--;
      return inner;
    }
    if (c === 0x2e) {
      this.i++;
      return { t: "set", set: DOT };
    }
    if (c === 0x5e || c === 0x24) {
      this.i++;
      return { t: c === 0x5e ? "start" : "end" };
    }
    if (c === 0x5b) return { t: "set", set: this.charClassExpr() };
    if (c === 0x5c) return { t: "set", set: this.escape() };
    if (!isNormalChar(c)) throw new InvalidPattern();
    this.i++;
    return { t: "set", set: single(c) };
  }

  private quantified(body: RegexNode): RegexNode {
    const c = this.peek();
    if (c === 0x2a || c === 0x2b || c === 0x3f) {
      this.i++;
      return { t: "rep", body, min: c === 0x2b ? 1 : 0, max: c === 0x3f ? 1 : Number.POSITIVE_INFINITY };
    }
    if (c !== 0x7b) return body;
    this.i++;
    const min = this.digits();
    let max = min;
    if (this.peek() === 0x2c) {
      this.i++;
      max = this.peek() === 0x7d ? Number.POSITIVE_INFINITY : this.digits();
    }
    if (this.peek() !== 0x7d || min > max) throw new InvalidPattern();
    this.i++;
    return { t: "rep", body, min, max };
  }

  private digits(): number {
    let text = "";
    for (let c = this.peek(); c !== undefined && c >= 0x30 && c <= 0x39; c = this.peek()) {
      text += String.fromCodePoint(c);
      this.i++;
    }
    if (text === "") throw new InvalidPattern();
    return Number(text);
  }

  /** After `\`: a SingleCharEsc, or (`\p{..}` / `\P{..}`) a category escape. */
  private escape(): CharSet {
    this.i++;
    const e = this.peek();
    if (e === undefined) throw new InvalidPattern();
    this.i++;
    if (e === 0x6e) return single(0x0a);
    if (e === 0x72) return single(0x0d);
    if (e === 0x74) return single(0x09);
    if (SINGLE_ESCAPES.has(e)) return single(e);
    if (e !== 0x70 && e !== 0x50) throw new InvalidPattern();
    if (this.peek() !== 0x7b) throw new InvalidPattern();
    this.i++;
    let name = "";
    for (let c = this.peek(); c !== undefined && c !== 0x7d && name.length < 3; c = this.peek()) {
      name += String.fromCodePoint(c);
      this.i++;
    }
    const re = CATEGORIES.get(name);
    if (re === undefined || this.peek() !== 0x7d) throw new InvalidPattern();
    this.i++;
    return { negated: false, ranges: [], categories: [{ re, negated: e === 0x50 }] };
  }

  /** charClassExpr: `[` [`^`] ( `-` / CCE1 ) *CCE1 [ `-` ] `]`. */
  private charClassExpr(): CharSet {
    this.i++;
    const negated = this.peek() === 0x5e;
    if (negated) this.i++;
    const ranges: number[] = [];
    const categories: { re: RegExp; negated: boolean }[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new InvalidPattern();
      if (c === 0x5d && !first) break;
      if (c === 0x2d) {
        // `-` stands for itself only first or last in the class.
        this.i++;
        if (!first && this.peek() !== 0x5d) throw new InvalidPattern();
        ranges.push(0x2d, 0x2d);
      } else if (c === 0x5c && (this.cps[this.i + 1] === 0x70 || this.cps[this.i + 1] === 0x50)) {
        categories.push(...this.escape().categories);
      } else {
        const lo = this.classChar();
        let hi = lo;
        if (this.peek() === 0x2d && this.cps[this.i + 1] !== 0x5d) {
          this.i++;
          hi = this.classChar();
          if (hi < lo) throw new InvalidPattern();
        }
        ranges.push(lo, hi);
      }
      first = false;
    }
    this.i++;
    return { negated, ranges, categories };
  }

  /** CCchar: any character but `-[\]`, or a SingleCharEsc. */
  private classChar(): number {
    const c = this.peek();
    if (c === undefined || c === 0x2d || c === 0x5b || c === 0x5d || isSurrogate(c))
      throw new InvalidPattern();
    if (c !== 0x5c) {
      this.i++;
      return c;
    }
    const set = this.escape();
    const lo = set.ranges[0];
    if (lo === undefined) throw new InvalidPattern();
    return lo;
  }
}

/** The pattern's tree, or null when it is not a valid I-Regexp. */
export function parseIRegexp(pattern: string): RegexNode | null {
  const cps: number[] = [];
  for (let i = 0; i < pattern.length; ) {
    const cp = pattern.codePointAt(i) ?? 0;
    cps.push(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  try {
    return new Parser(cps).parse();
  } catch (err) {
    if (err instanceof InvalidPattern) return null;
    throw err;
  }
}
