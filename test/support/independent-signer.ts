/**
 * A second, independent SEAL v1 signer and verifier, written from the RFC's "signed bytes"
 * rules (DESIGN §2) and sharing no code with src/. Tests use it to check the gateway's
 * canonicalizer and the SDK against something that was not derived from either: a bug
 * copied into both would otherwise pass unnoticed.
 *
 * Deliberately different techniques from src/: objects are Maps, keys are ordered by
 * comparing their UTF-8 bytes, strings are decoded with JSON.parse, keys come from
 * node:crypto. It trusts its input to be valid JSON; strictness is the parser's job, not this.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";

class NumberLiteral {
  constructor(readonly text: string) {}
}
type Tree = null | boolean | string | NumberLiteral | Tree[] | Map<string, Tree>;

const TOKEN =
  /[ \t\n\r]*(?:([{}[\]:,])|("(?:[^"\\]|\\.)*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))/y;

/** Reads JSON text into a tree that keeps every number's literal text. */
export function readLiteralJson(text: string): Tree {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) {
      if (/^[ \t\n\r]*$/.test(text.slice(at))) break;
      throw new Error(`independent reader: unexpected text at ${at}`);
    }
    tokens.push(m[0].trim());
  }
  let i = 0;
  const next = (): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error("independent reader: unexpected end");
    return t;
  };
  const value = (): Tree => {
    const t = next();
    if (t === "{") {
      const map = new Map<string, Tree>();
      if (tokens[i] === "}") {
        i++;
        return map;
      }
      for (;;) {
        const key = JSON.parse(next()) as string;
        if (next() !== ":") throw new Error("independent reader: expected ':'");
        map.set(key, value());
        if (next() === "}") return map;
      }
    }
    if (t === "[") {
      const list: Tree[] = [];
      if (tokens[i] === "]") {
        i++;
        return list;
      }
      for (;;) {
        list.push(value());
        if (next() === "]") return list;
      }
    }
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (t === "true" || t === "false" || t === "null") return JSON.parse(t) as boolean | null;
    return new NumberLiteral(t);
  };
  const result = value();
  if (i !== tokens.length) throw new Error("independent reader: trailing tokens");
  return result;
}

function escapeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (cp < 0x20) out += `\\u00${cp < 0x10 ? "0" : ""}${cp.toString(16)}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) throw new Error("independent signer: lone surrogate");
    else out += ch;
  }
  return `${out}"`;
}

function emit(tree: Tree): string {
  if (tree === null) return "null";
  if (tree === true) return "true";
  if (tree === false) return "false";
  if (typeof tree === "string") return escapeString(tree);
  if (tree instanceof NumberLiteral) return tree.text;
  if (Array.isArray(tree)) return `[${tree.map(emit).join(",")}]`;
  const keys = [...tree.keys()].sort((a, b) =>
    Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")),
  );
  return `{${keys.map((k) => `${escapeString(k)}:${emit(tree.get(k) as Tree)}`).join(",")}}`;
}

/** Canonical text of arbitrary JSON text, literals kept. */
export function independentCanonical(jsonText: string): string {
  return emit(readLiteralJson(jsonText));
}

export function timestampSeconds(timestamp: string | number): number {
  if (typeof timestamp === "number") return timestamp;
  const millis = Date.parse(timestamp);
  if (Number.isNaN(millis)) throw new Error("independent signer: bad timestamp");
  return Math.floor(millis / 1000);
}

/** The signed text for (payload JSON text, token, timestamp). */
export function independentSignedText(
  payloadJson: string,
  token: string,
  timestamp: string | number,
): string {
  return `{"payload":${independentCanonical(payloadJson)},"security_token":${escapeString(token)},"timestamp":${timestampSeconds(timestamp)}}`;
}

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export function independentKeyPair(): { publicKeyB64: string; privateKeyB64: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_ED25519.length);
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_ED25519.length);
  return { publicKeyB64: pub.toString("base64"), privateKeyB64: seed.toString("base64") };
}

export function privateKeyFromSeed(seedB64: string) {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, Buffer.from(seedB64, "base64")]),
    format: "der",
    type: "pkcs8",
  });
}

export function publicKeyFromRaw(publicKeyB64: string) {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKeyB64, "base64")]),
    format: "der",
    type: "spki",
  });
}

export interface IndependentSignInput {
  securityToken: string;
  /** JSON text (kept verbatim in the body: its order, spacing and literals), or a JS value. */
  payload: string | { json: unknown };
  timestamp: string | number;
  privateKeyB64: string;
}

/** A request body as a Python-style client writes it (`", "` and `": "` separators). */
export function independentSign(input: IndependentSignInput): {
  body: string;
  signedText: string;
  signatureB64: string;
} {
  const payloadJson = typeof input.payload === "string" ? input.payload : JSON.stringify(input.payload.json);
  const signedText = independentSignedText(payloadJson, input.securityToken, input.timestamp);
  const signatureB64 = sign(
    null,
    Buffer.from(signedText, "utf8"),
    privateKeyFromSeed(input.privateKeyB64),
  ).toString("base64");
  const body =
    `{"protocol": "seal/v1", "security_token": ${JSON.stringify(input.securityToken)}, ` +
    `"signature": "${signatureB64}", "payload": ${payloadJson}, "timestamp": ${JSON.stringify(input.timestamp)}}`;
  return { body, signedText, signatureB64 };
}

/** Verifies a request body the way the RFC describes, with nothing from src/. */
export function independentVerify(body: string, publicKeyB64: string): { ok: boolean; signedText: string } {
  const tree = readLiteralJson(body);
  if (!(tree instanceof Map)) throw new Error("independent verifier: body is not an object");
  const token = tree.get("security_token");
  const signature = tree.get("signature");
  const timestamp = tree.get("timestamp");
  if (typeof token !== "string" || typeof signature !== "string") {
    throw new Error("independent verifier: missing fields");
  }
  const seconds =
    timestamp instanceof NumberLiteral
      ? Number(timestamp.text)
      : timestampSeconds(typeof timestamp === "string" ? timestamp : "");
  const signedText = `{"payload":${emit(tree.get("payload") ?? null)},"security_token":${escapeString(token)},"timestamp":${seconds}}`;
  const ok = verify(
    null,
    Buffer.from(signedText, "utf8"),
    publicKeyFromRaw(publicKeyB64),
    Buffer.from(signature, "base64"),
  );
  return { ok, signedText };
}
