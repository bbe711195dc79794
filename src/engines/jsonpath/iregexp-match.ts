/**
 * Backtracking-free I-Regexp matching: the pattern tree becomes a Thompson NFA that is run as a
 * set of states over the input, one code point at a time. Time is O(states × input length) for
 * any pattern, so `(a+)+b` and friends cannot blow up; the automaton's size and the total steps
 * are both capped (limits.ts).
 */

import type { CharSet, RegexNode } from "./iregexp-parse.js";
import { parseIRegexp } from "./iregexp-parse.js";
import { type Budget, JSONPATH_LIMITS, JsonPathLimitError } from "./limits.js";

const CHAR = 0;
const SPLIT = 1;
const MATCH = 2;
const AT_START = 3;
const AT_END = 4;

interface Nfa {
  readonly start: number;
  readonly kind: readonly number[];
  readonly set: readonly (CharSet | null)[];
  readonly out1: readonly number[];
  readonly out2: readonly number[];
}

class NfaBuilder {
  readonly kind: number[] = [];
  readonly set: (CharSet | null)[] = [];
  readonly out1: number[] = [];
  readonly out2: number[] = [];
  /** States, plus one per copy of an empty repeated body, which adds none. */
  private cost = 0;

  add(kind: number, set: CharSet | null, out1: number, out2: number): number {
    this.charge();
    this.kind.push(kind);
    this.set.push(set);
    this.out1.push(out1);
    this.out2.push(out2);
    return this.kind.length - 1;
  }

  private charge(): void {
    if (++this.cost > JSONPATH_LIMITS.maxRegexStates) {
      throw new JsonPathLimitError(
        "regex",
        JSONPATH_LIMITS.maxRegexStates,
        `regular expression needs more than ${JSONPATH_LIMITS.maxRegexStates} automaton states`,
      );
    }
  }

  /** Compiles `node` so that it continues to state `next`; returns its entry state. */
  compile(node: RegexNode, next: number): number {
    switch (node.t) {
      case "set":
        return this.add(CHAR, node.set, next, -1);
      case "start":
        return this.add(AT_START, null, next, -1);
      case "end":
        return this.add(AT_END, null, next, -1);
      case "seq": {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--)
          entry = this.compile(node.items[i] as RegexNode, entry);
        return entry;
      }
      case "alt": {
        let entry = this.compile(node.alts[node.alts.length - 1] as RegexNode, next);
        for (let i = node.alts.length - 2; i >= 0; i--) {
          entry = this.add(SPLIT, null, this.compile(node.alts[i] as RegexNode, next), entry);
        }
        return entry;
      }
      case "rep":
        return this.repeat(node.body, node.min, node.max, next);
    }
  }

  private repeat(body: RegexNode, min: number, max: number, next: number): number {
    let entry = next;
    if (max === Number.POSITIVE_INFINITY) {
      const loop = this.add(SPLIT, null, -1, next);
      this.out1[loop] = this.compile(body, loop);
      entry = loop;
    } else {
      for (let k = 0; k < max - min; k++) entry = this.add(SPLIT, null, this.copy(body, entry), next);
    }
    for (let k = 0; k < min; k++) entry = this.copy(body, entry);
    return entry;
  }

  /** One copy of a repeated body; a copy that adds no state (`(){1000000}`) still costs one. */
  private copy(body: RegexNode, next: number): number {
    const before = this.kind.length;
    const entry = this.compile(body, next);
    if (this.kind.length === before) this.charge();
    return entry;
  }
}

function compileNfa(tree: RegexNode): Nfa {
  const b = new NfaBuilder();
  const accept = b.add(MATCH, null, -1, -1);
  const start = b.compile(tree, accept);
  return { start, kind: b.kind, set: b.set, out1: b.out1, out2: b.out2 };
}

function inSet(set: CharSet, cp: number): boolean {
  let hit = false;
  const r = set.ranges;
  for (let i = 0; i < r.length && !hit; i += 2) hit = cp >= (r[i] as number) && cp <= (r[i + 1] as number);
  if (!hit && set.categories.length > 0) {
    const ch = String.fromCodePoint(cp);
    hit = set.categories.some((c) => c.re.test(ch) !== c.negated);
  }
  return hit !== set.negated;
}

/** Runs the NFA over `input`: whole input (`anchored`, for match()) or any substring (search()). */
function run(nfa: Nfa, input: string, anchored: boolean, budget: Budget): boolean {
  const n = nfa.kind.length;
  const mark = new Int32Array(n).fill(-1);
  let cur: number[] = [];
  let nxt: number[] = [];
  let generation = 0;
  let matched = false;
  const stack: number[] = [];
  // Follows the empty edges (SPLIT, anchors that hold at `at`); `mark` stops empty loops such
  // as `(a*)*` from cycling.
  const addState = (list: number[], s: number, at: number) => {
    stack.push(s);
    for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
      if (mark[x] === generation) continue;
      mark[x] = generation;
      const k = nfa.kind[x];
      if (k === SPLIT) stack.push(nfa.out2[x] as number, nfa.out1[x] as number);
      else if (k === MATCH) matched = true;
      else if (k === AT_START) {
        if (at === 0) stack.push(nfa.out1[x] as number);
      } else if (k === AT_END) {
        if (at === input.length) stack.push(nfa.out1[x] as number);
      } else list.push(x);
    }
  };
  addState(cur, nfa.start, 0);
  for (let i = 0; i < input.length; ) {
    if (matched && !anchored) return true;
    const cp = input.codePointAt(i) ?? 0;
    i += cp > 0xffff ? 2 : 1;
    budget.regex(cur.length + 1);
    generation++;
    matched = false;
    nxt.length = 0;
    for (const s of cur) {
      if (inSet(nfa.set[s] as CharSet, cp)) addState(nxt, nfa.out1[s] as number, i);
    }
    if (!anchored) addState(nxt, nfa.start, i);
    [cur, nxt] = [nxt, cur];
    if (cur.length === 0 && !matched) return false;
  }
  return matched;
}

// Compiled patterns by text; literal patterns repeat for every node a filter visits.
const CACHE_SIZE = 256;
const CACHE_MAX_PATTERN = 1024;
const cache = new Map<string, Nfa | null>();

function compiled(pattern: string): Nfa | null {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  const tree = parseIRegexp(pattern);
  const nfa = tree === null ? null : compileNfa(tree);
  if (pattern.length <= CACHE_MAX_PATTERN) {
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(pattern, nfa);
  }
  return nfa;
}

/**
 * RFC 9535 match() (`whole`) / search(): false for a pattern that is not a valid I-Regexp.
 * Throws JsonPathLimitError when the pattern or the work exceeds the limits.
 */
export function iregexpTest(pattern: string, input: string, whole: boolean, budget: Budget): boolean {
  const nfa = compiled(pattern);
  if (nfa === null) return false;
  return run(nfa, input, whole, budget);
}
