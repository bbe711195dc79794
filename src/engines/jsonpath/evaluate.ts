/**
 * RFC 9535 §2.3 and §2.5 semantics: segments applied in order to a nodelist, each selector
 * producing nodes in document order. Every node produced or walked is charged to the budget.
 */

import type { QueryAst, Segment, Selector } from "./ast.js";
import { evalLogical } from "./evaluate-filter.js";
import type { Budget } from "./limits.js";
import type { PathNode } from "./normalized-path.js";
import { element, isJsonObject, member, NOTHING } from "./values.js";

export class Evaluator {
  constructor(
    readonly root: unknown,
    readonly budget: Budget,
  ) {}

  /**
   * Runs `query` from the root or from `current`. With `track`, result nodes keep their parent
   * chain so normalized paths can be built; filter sub-queries do not need it.
   */
  nodes(query: QueryAst, current: PathNode, track: boolean): PathNode[] {
    const start: PathNode = query.root === "$" ? { value: this.root, parent: null, key: null } : current;
    let list: PathNode[] = [start];
    for (const segment of query.segments) {
      if (list.length === 0) break;
      list = this.segment(segment, list, track);
    }
    return list;
  }

  /** A singular query's value, or NOTHING; no nodelist is built. */
  singular(query: QueryAst, current: unknown): unknown {
    let v = query.root === "$" ? this.root : current;
    for (const segment of query.segments) {
      const selector = segment.selectors[0];
      if (selector === undefined) return NOTHING;
      this.budget.visit();
      if (selector.kind === "name") v = member(v, selector.name);
      else if (selector.kind === "index") v = element(v, selector.index);
      else return NOTHING;
      if (v === NOTHING) return NOTHING;
    }
    return v;
  }

  private segment(segment: Segment, input: PathNode[], track: boolean): PathNode[] {
    const out: PathNode[] = [];
    for (const node of input) {
      if (segment.descendant) this.descend(node, segment.selectors, out, track);
      else this.select(node, segment.selectors, out, track);
    }
    return out;
  }

  /** Visits `node` and its descendants, parents before children, arrays in order. */
  private descend(node: PathNode, selectors: readonly Selector[], out: PathNode[], track: boolean): void {
    // An explicit stack: a deeply nested document cannot exhaust the call stack. Only arrays and
    // objects are pushed: no selector selects anything from a primitive.
    const stack: PathNode[] = [node];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      this.select(n, selectors, out, track);
      const v = n.value;
      if (Array.isArray(v)) {
        this.budget.visit(v.length);
        for (let i = v.length - 1; i >= 0; i--) {
          const c: unknown = v[i];
          if (typeof c === "object" && c !== null) stack.push(this.child(n, i, c, track));
        }
      } else if (isJsonObject(v)) {
        const keys = Object.keys(v);
        this.budget.visit(keys.length);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i] as string;
          const c = v[k];
          if (typeof c === "object" && c !== null) stack.push(this.child(n, k, c, track));
        }
      }
    }
  }

  private children(node: PathNode, track: boolean): PathNode[] {
    const v = node.value;
    const out: PathNode[] = [];
    if (Array.isArray(v)) {
      this.budget.visit(v.length);
      for (let i = 0; i < v.length; i++) out.push(this.child(node, i, v[i], track));
    } else if (isJsonObject(v)) {
      const keys = Object.keys(v);
      this.budget.visit(keys.length);
      for (const k of keys) out.push(this.child(node, k, v[k], track));
    }
    return out;
  }

  private child(parent: PathNode, key: string | number, value: unknown, track: boolean): PathNode {
    return track ? { value, parent, key } : { value, parent: null, key: null };
  }

  private select(node: PathNode, selectors: readonly Selector[], out: PathNode[], track: boolean): void {
    const v = node.value;
    for (const sel of selectors) {
      switch (sel.kind) {
        case "name": {
          const m = member(v, sel.name);
          if (m !== NOTHING) this.emit(out, this.child(node, sel.name, m, track));
          break;
        }
        case "index": {
          if (!Array.isArray(v)) break;
          const i = sel.index < 0 ? v.length + sel.index : sel.index;
          if (i >= 0 && i < v.length) this.emit(out, this.child(node, i, v[i], track));
          break;
        }
        case "wildcard":
          for (const c of this.children(node, track)) out.push(c);
          break;
        case "slice":
          if (Array.isArray(v)) this.slice(node, v, sel, out, track);
          break;
        case "filter":
          for (const c of this.children(node, track)) if (evalLogical(this, sel.expr, c)) out.push(c);
          break;
      }
    }
  }

  private emit(out: PathNode[], node: PathNode): void {
    this.budget.visit();
    out.push(node);
  }

  /** RFC 9535 §2.3.4.2.2 slice bounds. */
  private slice(
    node: PathNode,
    v: readonly unknown[],
    sel: Extract<Selector, { kind: "slice" }>,
    out: PathNode[],
    track: boolean,
  ): void {
    const len = v.length;
    const step = sel.step ?? 1;
    if (step === 0) return;
    const norm = (i: number) => (i >= 0 ? i : len + i);
    if (step > 0) {
      const lower = Math.min(Math.max(norm(sel.start ?? 0), 0), len);
      const upper = Math.min(Math.max(norm(sel.end ?? len), 0), len);
      for (let i = lower; i < upper; i += step) this.emit(out, this.child(node, i, v[i], track));
    } else {
      const upper = Math.min(Math.max(norm(sel.start ?? len - 1), -1), len - 1);
      const lower = Math.min(Math.max(norm(sel.end ?? -len - 1), -1), len - 1);
      for (let i = upper; lower < i; i += step) this.emit(out, this.child(node, i, v[i], track));
    }
  }
}
