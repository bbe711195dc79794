export type PointerResult = { ok: true; tokens: string[] } | { ok: false; message: string };

/**
 * Parses a local reference (`#/components/schemas/Pet`) into JSON Pointer tokens (RFC 6901):
 * the fragment is percent-decoded first (RFC 6901 §6), then `~1` → `/` and `~0` → `~`.
 * Anything that does not start with `#` is remote and refused: the gateway never fetches.
 */
export function parseLocalRef(ref: string): PointerResult {
  if (!ref.startsWith("#")) {
    return { ok: false, message: "remote $ref is not supported (only #/… references are resolved)" };
  }
  let pointer: string;
  try {
    pointer = decodeURIComponent(ref.slice(1));
  } catch {
    return { ok: false, message: "$ref has invalid percent-encoding" };
  }
  if (pointer === "") return { ok: true, tokens: [] };
  if (!pointer.startsWith("/")) return { ok: false, message: '$ref fragment must be "" or start with "/"' };
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split("/")) {
    if (/~(?![01])/.test(raw)) return { ok: false, message: '$ref has an invalid "~" escape' };
    tokens.push(raw.replace(/~1/g, "/").replace(/~0/g, "~"));
  }
  return { ok: true, tokens };
}
