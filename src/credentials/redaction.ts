import { GatewayError } from "../errors.js";

/**
 * Removes credential values from anything that leaves the gateway (DESIGN §4): upstream
 * bodies, explorer slices, results, error text and audit payloads. An upstream that reflects
 * the Authorization header, a token inside a URL it returns, or a JSON encoder that escapes
 * characters differently must not hand the secret to the caller.
 */

export const REDACTED = "[REDACTED]";

export type Scrubber = <T>(value: T) => T;

// Below this length a partial base64 run is too likely to occur by chance in ordinary text.
const MIN_PARTIAL = 8;

/**
 * Base64 of the value as it appears inside a longer encoded run: preceded by 0, 1 or 2 bytes
 * and followed by anything. Only the characters that depend on the value's bytes alone are
 * kept, so `Basic base64("user:" + password)` still gives the password away to a search.
 */
function embeddedBase64(bytes: Buffer): string[] {
  const out: string[] = [];
  for (const lead of [0, 1, 2]) {
    const total = lead + bytes.length;
    const encoded = Buffer.concat([Buffer.alloc(lead), bytes]).toString("base64");
    const start = [0, 2, 3][lead] ?? 0;
    const rest = total % 3;
    const end = Math.floor(total / 3) * 4 + rest;
    const middle = encoded.slice(start, end);
    if (middle.length >= MIN_PARTIAL) out.push(middle, middle.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return out;
}

function jsonEscapedForms(s: string): string[] {
  const minimal = JSON.stringify(s).slice(1, -1);
  const slashes = minimal.replaceAll("/", "\\/");
  const ascii = minimal.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  const upper = ascii.replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\u${hex.toUpperCase()}`);
  return [minimal, slashes, ascii, upper];
}

/** The secret and the encoded forms in which an upstream may reflect it, longest first. */
export function secretNeedles(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (s === "") continue;
    const bytes = Buffer.from(s, "utf8");
    const forms = [
      s,
      bytes.toString("base64"),
      bytes.toString("base64").replace(/=+$/, ""),
      bytes.toString("base64url"),
      encodeURIComponent(s),
      new URLSearchParams({ v: s }).toString().slice(2),
      ...jsonEscapedForms(s),
      ...embeddedBase64(bytes),
    ];
    for (const form of forms) if (form !== "") out.add(form);
  }
  // Longest first, so a secret's encoded form is not broken up by a shorter match.
  return [...out].sort((a, b) => b.length - a.length);
}

const JSON_ESCAPE = /\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g;
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;

function jsonUnescape(s: string): string {
  return s.replace(JSON_ESCAPE, (_m, e: string) =>
    e.length === 5 ? String.fromCharCode(Number.parseInt(e.slice(1), 16)) : (SIMPLE_ESCAPES[e] ?? e),
  );
}

function percentDecode(s: string): string {
  return s.replace(PERCENT_RUN, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * Undoes JSON escapes, percent-encoding and form encoding, repeatedly (layers nest), so a
 * value split across escapes — `a\u0062c`, `%61bc` — is seen whole.
 */
function normalized(s: string): string {
  let out = s;
  for (let round = 0; round < 4; round++) {
    const next = percentDecode(jsonUnescape(out));
    if (next === out) break;
    out = next;
  }
  return out;
}

/** A function replacing every secret (and encoded form) in strings, keys and numbers of a value. */
export function secretScrubber(secrets: readonly string[]): Scrubber {
  const list = secretNeedles(secrets);
  if (list.length === 0) return (value) => value;
  const replaceAll = (s: string) => {
    let out = s;
    for (const needle of list) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return out;
  };
  const holdsSecret = (s: string) => list.some((needle) => s.includes(needle));
  const text = (s: string): string => {
    const out = replaceAll(s);
    if (!out.includes("\\") && !out.includes("%") && !out.includes("+")) return out;
    // Split across escapes: the decoded text is shown instead, only when it held a secret.
    const decoded = normalized(out);
    if (holdsSecret(decoded)) return replaceAll(decoded);
    const formDecoded = normalized(out.replaceAll("+", " "));
    return holdsSecret(formDecoded) ? replaceAll(formDecoded) : out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return text(value);
    // A numeric secret echoed as a JSON number is still the secret.
    if (typeof value === "number" || typeof value === "bigint")
      return holdsSecret(String(value)) ? REDACTED : value;
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

/**
 * Per-call collection of every value resolved for the call, so the pipeline can scrub the
 * final answer, error text and audit payloads whichever engine produced them. It lives only as
 * long as the call.
 */
export class SecretSink {
  private readonly values = new Set<string>();
  private scrubber: Scrubber | null = null;

  add(values: readonly string[]): void {
    for (const v of values) {
      if (v === "" || this.values.has(v)) continue;
      this.values.add(v);
      this.scrubber = null;
    }
  }

  get size(): number {
    return this.values.size;
  }

  scrub<T>(value: T): T {
    if (this.values.size === 0) return value;
    this.scrubber ??= secretScrubber([...this.values]);
    return this.scrubber(value);
  }

  /** The same error with its message and details scrubbed (code and status unchanged). */
  scrubError(err: GatewayError): GatewayError {
    if (this.values.size === 0) return err;
    const message = this.scrub(err.message);
    const details = this.scrub(err.details);
    if (message === err.message && JSON.stringify(details) === JSON.stringify(err.details)) return err;
    return new GatewayError(
      err.code,
      message,
      { ...details, reason: String(details.reason) },
      err.retryAfter,
    );
  }
}
