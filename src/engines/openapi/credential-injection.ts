import { GatewayError } from "../../errors.js";
import type { OutgoingRequest } from "./credential.js";
import type { CredentialInjection, IndexedSpec, SpecOperation } from "./types.js";

/**
 * Where a credential goes on a request, from the operation's OpenAPI security requirements
 * (DESIGN §4): the first requirement whose schemes the gateway can all fill; with no
 * requirement, `Authorization: Bearer`. A requirement the gateway cannot fill (http digest,
 * mutualTLS) fails closed: the call is refused rather than sent without its credential.
 */

export type Injectable = Exclude<CredentialInjection, { kind: "unsupported" }>;

export type InjectionPlan = { ok: true; targets: Injectable[] } | { ok: false; message: string };

const DEFAULT_PLAN: InjectionPlan = { ok: true, targets: [{ kind: "bearer" }] };

export function planInjection(spec: IndexedSpec, op: SpecOperation): InjectionPlan {
  // `{}` means "anonymous allowed": the tool has a credential, so a named scheme is preferred.
  const requirements = op.security.filter((r) => Object.keys(r).length > 0);
  if (requirements.length === 0) return DEFAULT_PLAN;
  const refused: string[] = [];
  for (const requirement of requirements) {
    const targets: Injectable[] = [];
    for (const name of Object.keys(requirement)) {
      const injection = spec.securitySchemes.get(name)?.injection;
      if (injection === undefined || injection.kind === "unsupported") {
        refused.push(name);
        break;
      }
      targets.push(injection);
    }
    if (targets.length === Object.keys(requirement).length) return { ok: true, targets };
  }
  return {
    ok: false,
    message: `the operation's security schemes cannot carry a credential (${refused.slice(0, 5).join(", ")})`,
  };
}

function unusable(message: string): GatewayError {
  return new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason: "unusable_value" });
}

// Printable ASCII without leading or trailing blanks: anything else is either rejected by HTTP
// stacks or silently altered (trimmed, re-encoded), and CR/LF would start a new header.
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
// RFC 6265 cookie-octet: no blanks, quotes, commas, semicolons or backslashes.
const COOKIE_SAFE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Why this value cannot be placed as planned, or null. Never includes the value. */
export function placementProblem(targets: readonly Injectable[], value: string): string | null {
  for (const t of targets) {
    if ((t.kind === "bearer" || (t.kind === "apiKey" && t.in === "header")) && !HEADER_SAFE.test(value))
      return "the secret cannot be sent in an HTTP header (it must be printable ASCII without surrounding blanks)";
    if (t.kind === "apiKey" && t.in === "cookie" && !COOKIE_SAFE.test(value))
      return "the secret cannot be sent in a cookie (blank, quote, comma, semicolon or backslash)";
    if (t.kind === "basic" && (!value.includes(":") || hasControl(value)))
      return "an http basic secret must be 'user:password' without control characters";
  }
  return null;
}

function setQuery(url: URL, name: string, value: string): void {
  // Edited as text: re-serializing through URLSearchParams would re-encode the other parameters
  // (`%20` → `+`), which some upstreams read differently.
  const kept = url.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "" && safeDecode(pair.split("=", 1)[0] ?? "") !== name);
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  url.search = `?${kept.join("&")}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    return s;
  }
}

function setCookie(headers: Record<string, string>, name: string, value: string): void {
  // A caller-supplied cookie of the same name is dropped: the credential is the only one sent.
  const kept = (headers.cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c !== "" && c.split("=", 1)[0]?.trim() !== name);
  kept.push(`${name}=${value}`);
  headers.cookie = kept.join("; ");
}

/** Puts the value on the request; placementProblem was checked for these targets. */
export function inject(targets: readonly Injectable[], value: string, req: OutgoingRequest): void {
  for (const t of targets) {
    switch (t.kind) {
      case "bearer":
        req.headers.authorization = `Bearer ${value}`;
        break;
      case "basic":
        req.headers.authorization = `Basic ${Buffer.from(value, "utf8").toString("base64")}`;
        break;
      case "apiKey":
        if (t.in === "header") req.headers[t.name.toLowerCase()] = value;
        else if (t.in === "query") setQuery(req.url, t.name, value);
        else setCookie(req.headers, t.name, value);
        break;
    }
  }
}

/** Plans and checks, or throws 4010: nothing is sent when the credential cannot be placed. */
export function checkedPlan(spec: IndexedSpec, op: SpecOperation, value: string | null): Injectable[] {
  const plan = planInjection(spec, op);
  if (!plan.ok)
    throw new GatewayError("CREDENTIAL_UNAVAILABLE", plan.message, { reason: "unsupported_scheme" });
  if (value !== null) {
    const problem = placementProblem(plan.targets, value);
    if (problem) throw unusable(problem);
  }
  return plan.targets;
}
