/**
 * The client's own SEAL v1 canonical form, over ordinary JS values. The SDK writes the
 * request body's payload with this same function, so every number literal in the body is
 * the one that was signed (`JSON.stringify`'s spelling of the number) and the gateway,
 * which signs-checks the literals it received, sees exactly what was signed.
 */
import { SealClientError } from "./errors.js";

const MAX_DEPTH = 64;

/** Sorted-key, whitespace-free JSON text of a plain JSON value. */
export function canonicalize(value: unknown): string {
  return write(value, 0);
}

/** UTF-8 of `{"payload":…,"security_token":…,"timestamp":N}`, the bytes a SEAL signature covers. */
export function signedMessage(payload: unknown, securityToken: string, timestampSeconds: number): Uint8Array {
  return frameSignedMessage(canonicalize(payload), securityToken, timestampSeconds);
}

/** `signedMessage` for a payload already in canonical form (`canonicalize`'s output). */
export function frameSignedMessage(
  payloadText: string,
  securityToken: string,
  timestampSeconds: number,
): Uint8Array {
  if (!Number.isSafeInteger(timestampSeconds)) invalid("timestamp must be integer seconds");
  const text = `{"payload":${payloadText},"security_token":${str(securityToken)},"timestamp":${timestampSeconds}}`;
  return new TextEncoder().encode(text);
}

function invalid(message: string): never {
  throw new SealClientError("invalid_input", message);
}

function write(value: unknown, depth: number): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return str(value);
    case "boolean":
      return String(value);
    case "number":
      // JSON.stringify would quietly write null: the tool would get something not asked for.
      if (!Number.isFinite(value)) invalid("payload holds a non-finite number");
      return JSON.stringify(value);
    case "object":
      break;
    default:
      return invalid(`payload holds a ${typeof value}`);
  }
  if (depth >= MAX_DEPTH) invalid("payload nested too deeply (or cyclic)");
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? invalid("payload array holds undefined") : write(item, depth + 1))).join(",")}]`;
  }
  const withJson = value as { toJSON?: unknown };
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (typeof withJson.toJSON === "function") return write(withJson.toJSON(), depth + 1);
    invalid("payload holds an object that is not plain JSON");
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort(byCodePoint)) {
    const item = record[key];
    if (item !== undefined) parts.push(`${str(key)}:${write(item, depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

/** Python's sort_keys order: by code point, not by UTF-16 unit. */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function str(s: string): string {
  if (typeof s !== "string") invalid("expected a string");
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0xd800 && c <= 0xdfff) invalid("string holds a lone surrogate");
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20) out += ch;
    else out += CONTROL[c] ?? `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

const CONTROL: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };
