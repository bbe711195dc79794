import type { ExprType, FunctionName } from "./ast.js";

export interface FunctionSignature {
  readonly params: readonly ExprType[];
  readonly result: ExprType;
}

/**
 * RFC 9535 §2.4 function extensions. A Map, not an object literal, so a name such as
 * `constructor` or `__proto__` can never resolve to something inherited.
 */
const SIGNATURES: ReadonlyMap<string, FunctionSignature> = new Map<FunctionName, FunctionSignature>([
  ["length", { params: ["value"], result: "value" }],
  ["count", { params: ["nodes"], result: "value" }],
  ["match", { params: ["value", "value"], result: "logical" }],
  ["search", { params: ["value", "value"], result: "logical" }],
  ["value", { params: ["nodes"], result: "value" }],
]);

export function lookupFunction(name: string): FunctionSignature | undefined {
  return SIGNATURES.get(name);
}

export function isFunctionName(name: string): name is FunctionName {
  return SIGNATURES.has(name);
}
