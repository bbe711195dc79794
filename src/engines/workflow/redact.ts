/**
 * Removes credential values from upstream data before anything else sees it: an API that
 * echoes the Authorization header (or a token in a URL it returns) must not hand the secret
 * to templates, state, the result, or the caller (DESIGN §4).
 */

export const REDACTED = "[REDACTED]";

/** The secret and the encoded forms in which an upstream may reflect it. */
function needles(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (s === "") continue;
    const bytes = Buffer.from(s, "utf8");
    for (const form of [
      s,
      bytes.toString("base64"),
      bytes.toString("base64").replace(/=+$/, ""),
      bytes.toString("base64url"),
      encodeURIComponent(s),
    ]) {
      if (form !== "") out.add(form);
    }
  }
  // Longest first, so a secret's encoded form is not broken up by a shorter match.
  return [...out].sort((a, b) => b.length - a.length);
}

export type Scrubber = <T>(value: T) => T;

/** A function replacing every secret (and encoded form) in strings and keys of a value. */
export function secretScrubber(secrets: readonly string[]): Scrubber {
  const list = needles(secrets);
  if (list.length === 0) return (value) => value;
  const text = (s: string) => {
    let out = s;
    for (const needle of list) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value === "object" && value !== null) {
      // Null prototype: a key named "__proto__" stays an ordinary key.
      const out = Object.create(null) as Record<string, unknown>;
      for (const key of Object.keys(value)) out[text(key)] = walk((value as Record<string, unknown>)[key]);
      return out;
    }
    return value;
  };
  return <T>(value: T) => walk(value) as T;
}
