import { GatewayError } from "../errors.js";
import {
  isJsonObject,
  JsonNumber,
  type JsonObject,
  JsonParseError,
  type JsonValue,
  parseJson,
} from "./json.js";

/**
 * Step 2 of DESIGN §2: the strict parse and the shape of a SEAL v1 envelope. The body is
 * parsed exactly once; the signature is later checked over canonical bytes built from this
 * same tree, so what is verified is what is acted on.
 */

export interface Envelope {
  securityToken: string;
  /** The signature field as sent (decoded in the signature step: 1001 on bad encoding). */
  signature: string;
  /** The payload with number literals preserved, for the canonical bytes. */
  payload: JsonObject;
  timestampSeconds: number;
  requestId: string | number | null;
  toolName: string;
  /** `params.arguments` (literal-preserving tree). */
  arguments: JsonObject;
  /** `params._meta`, if sent. */
  meta: JsonObject | null;
}

const TOP_LEVEL = new Set(["protocol", "security_token", "signature", "payload", "timestamp"]);
const MAX_TOKEN_LENGTH = 16_384;
const MAX_TOOL_NAME = 256;
const MAX_REQUEST_ID = 256;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const malformed = (reason: string, message: string) =>
  new GatewayError("MALFORMED_ENVELOPE", message, { reason });
const badField = (name: string, message: string) => malformed(`bad_field:${name}`, message);

/** RFC 3339 date-time → Unix seconds (floor); null when not a valid instant. */
export function rfc3339ToSeconds(s: string): number | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, , z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(se);
  // Years below 1000 are never fresh; refusing them also avoids Date.UTC's 0–99 → 19xx rule.
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
    return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  let offset = 0;
  if (!z) {
    const offH = Number(oh);
    const offM = Number(om);
    if (offH > 23 || offM > 59) return null;
    offset = (sign === "-" ? -1 : 1) * (offH * 3600 + offM * 60);
  }
  // A leap second (":60") counts as the following second, as Python and JS do after parsing.
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) + (second === 60 ? 1000 : 0);
  return Math.floor(ms / 1000) - offset;
}

function parseTimestamp(v: JsonValue | undefined): number {
  if (typeof v === "string") {
    const s = rfc3339ToSeconds(v);
    if (s === null) throw badField("timestamp", "timestamp is not an RFC 3339 date-time");
    return s;
  }
  if (v instanceof JsonNumber) {
    if (!/^(0|[1-9]\d{0,11})$/.test(v.raw))
      throw badField("timestamp", "timestamp must be integer Unix seconds");
    return v.value;
  }
  throw badField("timestamp", "timestamp must be an RFC 3339 string or integer Unix seconds");
}

/** Best-effort payload.id for the error body, even when the envelope is otherwise invalid. */
export function requestIdOf(doc: JsonValue | undefined): string | number | null {
  if (!isJsonObject(doc) || !isJsonObject(doc.payload)) return null;
  return validRequestId(doc.payload.id);
}

/**
 * payload.id when it is a usable JSON-RPC id (a string of at most 256 characters or an integer
 * that survives as a number), else null. Only such ids are echoed in answers and written to
 * audit rows: an unauthenticated caller must not get a megabyte of its own text stored, and a
 * rounded big integer would not be the id "as sent".
 */
function validRequestId(id: JsonValue | undefined): string | number | null {
  if (typeof id === "string" && id.length <= MAX_REQUEST_ID) return id;
  if (id instanceof JsonNumber && /^-?\d{1,15}$/.test(id.raw)) return id.value;
  return null;
}

export function parseBody(body: Uint8Array, maxDepth: number): JsonValue {
  try {
    return parseJson(body, { maxDepth });
  } catch (err) {
    if (err instanceof JsonParseError)
      throw malformed(
        err.reason,
        err.reason === "too_deep" ? "JSON nesting is too deep" : `malformed JSON: ${err.message}`,
      );
    throw err;
  }
}

export function envelopeFromDoc(
  doc: JsonValue,
  expectedMethod: "tools/call" | "tools/list" = "tools/call",
): Envelope {
  if (!isJsonObject(doc)) throw malformed("malformed_json", "the envelope must be a JSON object");
  // The name is the caller's text: capped so a huge key is neither echoed nor audited in full.
  for (const key of Object.keys(doc))
    if (!TOP_LEVEL.has(key))
      throw badField(key.slice(0, 64), `unknown envelope field ${JSON.stringify(key.slice(0, 64))}`);
  if (typeof doc.protocol !== "string") throw badField("protocol", "protocol must be a string");
  if (doc.protocol !== "seal/v1") throw malformed("bad_protocol", 'protocol must be "seal/v1"');
  const token = doc.security_token;
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw badField("security_token", "security_token must be a non-empty string (at most 16 KiB)");
  }
  if (typeof doc.signature !== "string" || doc.signature.length === 0 || doc.signature.length > 256) {
    throw badField("signature", "signature must be a base64 string");
  }
  const payload = doc.payload;
  if (!isJsonObject(payload)) throw badField("payload", "payload must be a JSON-RPC object");
  if (payload.jsonrpc !== "2.0") throw badField("payload.jsonrpc", 'payload.jsonrpc must be "2.0"');
  const requestId = validRequestId(payload.id);
  if (requestId === null)
    throw badField("payload.id", "payload.id must be a string (at most 256 characters) or an integer");
  if (typeof payload.method !== "string") throw badField("payload.method", "payload.method must be a string");
  if (payload.method !== expectedMethod)
    throw malformed("bad_method", `payload.method must be ${expectedMethod}`);
  const params = payload.params ?? (expectedMethod === "tools/list" ? Object.create(null) : undefined);
  if (!isJsonObject(params)) throw badField("payload.params", "payload.params must be an object");
  let toolName = "";
  let args: JsonObject = Object.create(null);
  if (expectedMethod === "tools/call") {
    if (typeof params.name !== "string" || params.name.length === 0 || params.name.length > MAX_TOOL_NAME) {
      throw badField(
        "payload.params.name",
        "payload.params.name must be a non-empty string (at most 256 characters)",
      );
    }
    toolName = params.name;
    if (params.arguments !== undefined) {
      if (!isJsonObject(params.arguments))
        throw badField("payload.params.arguments", "payload.params.arguments must be an object");
      args = params.arguments;
    }
  }
  const meta = params._meta;
  if (meta !== undefined && !isJsonObject(meta))
    throw badField("payload.params._meta", "payload.params._meta must be an object");
  return {
    securityToken: token,
    signature: doc.signature,
    payload,
    timestampSeconds: parseTimestamp(doc.timestamp),
    requestId,
    toolName,
    arguments: args,
    meta: meta ?? null,
  };
}
