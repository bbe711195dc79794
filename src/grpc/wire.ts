/**
 * A strict reading of the protobuf wire format before decoding: protobufjs skips a field sent
 * with the wrong wire type (a number where a string belongs) and reads past truncated lengths
 * leniently, so a request of the wrong types would run with fields silently empty. Here every
 * field must be one the message declares, with its declared wire type, and every length must
 * fit; nested messages are read the same way. Unknown fields are refused too: the request
 * would otherwise run without something its sender meant.
 */

interface FieldDescriptor {
  name: string;
  number: number;
  type: string;
  typeName: string;
}
export interface MessageDescriptor {
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  name: string;
}
export type Lookup = (typeName: string, scope: MessageDescriptor) => MessageDescriptor | undefined;

const LENGTH_DELIMITED = new Set(["TYPE_STRING", "TYPE_BYTES", "TYPE_MESSAGE"]);
const MAX_NESTING = 32;

function varint(buf: Uint8Array, at: number): [number, number] | null {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    const b = buf[at + i];
    if (b === undefined) return null;
    if (i < 7) value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  return null;
}

/** Null when the bytes are a well-formed `type`; else the first problem. */
export function wireProblem(
  buf: Uint8Array,
  type: MessageDescriptor,
  lookup: Lookup,
  depth = 0,
): string | null {
  if (depth > MAX_NESTING) return "messages nest too deep";
  let at = 0;
  while (at < buf.length) {
    const tag = varint(buf, at);
    if (!tag) return "truncated field tag";
    at = tag[1];
    const number = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    const field = type.field.find((f) => f.number === number);
    if (!field) return `unknown field ${number} in ${type.name}`;
    const expected = LENGTH_DELIMITED.has(field.type) ? 2 : 0;
    if (wire !== expected) return `field ${field.name} has the wrong type`;
    if (wire === 0) {
      const v = varint(buf, at);
      if (!v) return `field ${field.name} is truncated`;
      at = v[1];
      continue;
    }
    const len = varint(buf, at);
    if (!len || len[1] + len[0] > buf.length) return `field ${field.name} is truncated`;
    const body = buf.subarray(len[1], len[1] + len[0]);
    at = len[1] + len[0];
    if (field.type === "TYPE_STRING" && !isUtf8(body)) return `field ${field.name} is not UTF-8`;
    if (field.type === "TYPE_MESSAGE") {
      const inner = lookup(field.typeName, type);
      if (!inner) return `field ${field.name} has no known type`;
      const problem = wireProblem(body, inner, lookup, depth + 1);
      if (problem) return problem;
    }
  }
  return null;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
function isUtf8(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
