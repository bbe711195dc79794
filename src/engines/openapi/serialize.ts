import { isPlainRecord, type Primitive, scalarText } from "./param-values.js";
import type { OperationParameter } from "./types.js";

/** A value that cannot be put on the wire in this parameter's style; the message is safe to show. */
export class SerializeError extends Error {}

type Shape =
  | { kind: "scalar"; value: Primitive }
  | { kind: "list"; items: Primitive[] }
  | { kind: "map"; entries: [string, Primitive][] };

/**
 * Percent-encodes everything outside RFC 3986 unreserved characters (and `!'()*`): a value can
 * never add `/`, `?`, `#`, `&`, `=` or `%`-escapes of its own to the URL. Lone surrogates throw.
 */
function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new SerializeError("contains an unpaired surrogate");
  }
}

function shapeOf(param: OperationParameter, value: unknown): Shape {
  // A parameter described by `content` carries one serialized document.
  if (param.contentType !== undefined) return { kind: "scalar", value: JSON.stringify(value) };
  if (Array.isArray(value)) return { kind: "list", items: value as Primitive[] };
  if (isPlainRecord(value)) return { kind: "map", entries: Object.entries(value) as [string, Primitive][] };
  return { kind: "scalar", value: value as Primitive };
}

function pairs(entries: [string, Primitive][], explode: boolean): string {
  return explode
    ? entries.map(([k, v]) => `${enc(k)}=${enc(scalarText(v))}`).join(",")
    : entries.flatMap(([k, v]) => [enc(k), enc(scalarText(v))]).join(",");
}

/** A path parameter (styles simple, label, matrix), already percent-encoded. */
export function pathValue(param: OperationParameter, value: unknown): string {
  const shape = shapeOf(param, value);
  const encodedList = (sep: string) =>
    shape.kind === "list" ? shape.items.map((i) => enc(scalarText(i))).join(sep) : "";
  switch (param.style) {
    case "simple":
      if (shape.kind === "scalar") return enc(scalarText(shape.value));
      return shape.kind === "list" ? encodedList(",") : pairs(shape.entries, param.explode);
    case "label":
      if (shape.kind === "scalar") return `.${enc(scalarText(shape.value))}`;
      if (shape.kind === "list") return `.${encodedList(param.explode ? "." : ",")}`;
      return `.${pairs(shape.entries, param.explode).replaceAll(",", param.explode ? "." : ",")}`;
    case "matrix": {
      const name = enc(param.name);
      if (shape.kind === "scalar") return `;${name}=${enc(scalarText(shape.value))}`;
      if (shape.kind === "list") {
        return param.explode
          ? shape.items.map((i) => `;${name}=${enc(scalarText(i))}`).join("")
          : `;${name}=${encodedList(",")}`;
      }
      return param.explode
        ? shape.entries.map(([k, v]) => `;${enc(k)}=${enc(scalarText(v))}`).join("")
        : `;${name}=${pairs(shape.entries, false)}`;
    }
    default:
      throw new SerializeError(`path style ${JSON.stringify(param.style)} is not supported`);
  }
}

/** `name=value` pairs of a query parameter (form, spaceDelimited, pipeDelimited, deepObject). */
export function queryPairs(param: OperationParameter, value: unknown): string[] {
  const shape = shapeOf(param, value);
  const name = enc(param.name);
  if (shape.kind === "scalar") return [`${name}=${enc(scalarText(shape.value))}`];
  if (shape.kind === "list") {
    const items = shape.items.map((i) => enc(scalarText(i)));
    if (param.explode) return items.map((item) => `${name}=${item}`);
    const sep = param.style === "spaceDelimited" ? "%20" : param.style === "pipeDelimited" ? "|" : ",";
    return [`${name}=${items.join(sep)}`];
  }
  if (param.style === "deepObject")
    return shape.entries.map(([k, v]) => `${name}[${enc(k)}]=${enc(scalarText(v))}`);
  if (param.explode) return shape.entries.map(([k, v]) => `${enc(k)}=${enc(scalarText(v))}`);
  return [`${name}=${pairs(shape.entries, false)}`];
}

// Printable ASCII and tab only: CR/LF would split the header, other bytes are read differently
// by different HTTP stacks.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** A header parameter value (style simple). */
export function headerValue(param: OperationParameter, value: unknown): string {
  const shape = shapeOf(param, value);
  const text =
    shape.kind === "scalar"
      ? scalarText(shape.value)
      : shape.kind === "list"
        ? shape.items.map(scalarText).join(",")
        : shape.entries
            .map(([k, v]) => (param.explode ? `${k}=${scalarText(v)}` : `${k},${scalarText(v)}`))
            .join(",");
  if (!HEADER_VALUE.test(text)) throw new SerializeError("a header value must be printable ASCII");
  return text;
}

/** One `name=value` cookie pair (style form), the value percent-encoded. */
export function cookiePair(param: OperationParameter, value: unknown): string {
  const shape = shapeOf(param, value);
  if (shape.kind === "map") throw new SerializeError("object cookie values are not supported");
  const text =
    shape.kind === "scalar"
      ? enc(scalarText(shape.value))
      : shape.items.map((i) => enc(scalarText(i))).join(",");
  return `${param.name}=${text}`;
}
