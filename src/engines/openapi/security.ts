import type { PlainJson } from "../../seal/json.js";
import { type PathSegment, type ProblemList, shown } from "./spec-path.js";
import type { CredentialInjection, SecurityRequirement, SecurityScheme } from "./types.js";

type Json = PlainJson | undefined;

function isRecord(value: Json): value is { [key: string]: PlainJson } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 9110 token: what a header or cookie name may contain (no separators, no CR/LF). */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const TYPES = new Set<SecurityScheme["type"]>(["http", "apiKey", "oauth2", "openIdConnect", "mutualTLS"]);

function injectionFor(
  scheme: { [key: string]: PlainJson },
  type: SecurityScheme["type"],
  at: PathSegment[],
  problems: ProblemList,
): CredentialInjection {
  switch (type) {
    case "http": {
      const name = typeof scheme.scheme === "string" ? scheme.scheme.toLowerCase() : undefined;
      if (name === undefined) problems.add([...at, "scheme"], "an http security scheme needs a scheme");
      if (name === "bearer") return { kind: "bearer" };
      if (name === "basic") return { kind: "basic" };
      return { kind: "unsupported", reason: `http scheme ${shown(name ?? "")} is not supported` };
    }
    case "apiKey": {
      const where = scheme.in;
      if (where !== "header" && where !== "query" && where !== "cookie") {
        problems.add([...at, "in"], 'an apiKey scheme needs in: "header", "query" or "cookie"');
        return { kind: "unsupported", reason: "invalid apiKey location" };
      }
      // The name becomes a header, cookie or query name verbatim: refuse anything that could
      // break out of it (CR/LF, separators) when the injector writes it.
      if (typeof scheme.name !== "string" || !HTTP_TOKEN.test(scheme.name)) {
        problems.add([...at, "name"], "an apiKey scheme needs a name made of token characters");
        return { kind: "unsupported", reason: "invalid apiKey name" };
      }
      return { kind: "apiKey", in: where, name: scheme.name };
    }
    // The gateway does not run OAuth flows: it resolves a token through a credential path
    // and sends it the way these schemes carry one, as a bearer token.
    case "oauth2":
    case "openIdConnect":
      return { kind: "bearer" };
    case "mutualTLS":
      return { kind: "unsupported", reason: "mutualTLS is not supported" };
  }
}

/** `components.securitySchemes` (already dereferenced), every problem reported. */
export function readSecuritySchemes(value: Json, problems: ProblemList): Map<string, SecurityScheme> {
  const at: PathSegment[] = ["components", "securitySchemes"];
  const out = new Map<string, SecurityScheme>();
  if (value === undefined) return out;
  if (!isRecord(value)) {
    problems.add(at, "must be an object");
    return out;
  }
  for (const [name, scheme] of Object.entries(value)) {
    const where = [...at, name];
    if (!isRecord(scheme)) {
      problems.add(where, "a security scheme must be an object");
      continue;
    }
    const type = scheme.type;
    if (typeof type !== "string" || !TYPES.has(type as SecurityScheme["type"])) {
      problems.add([...where, "type"], `unknown security scheme type ${shown(String(type))}`);
      continue;
    }
    const kind = type as SecurityScheme["type"];
    out.set(name, {
      name,
      type: kind,
      scheme: typeof scheme.scheme === "string" ? scheme.scheme.toLowerCase() : undefined,
      bearerFormat: typeof scheme.bearerFormat === "string" ? scheme.bearerFormat : undefined,
      description: typeof scheme.description === "string" ? scheme.description : undefined,
      injection: injectionFor(scheme, kind, where, problems),
    });
  }
  return out;
}

/** A `security` list; every scheme it names must exist in `components.securitySchemes`. */
export function readSecurity(
  value: Json,
  at: PathSegment[],
  schemes: ReadonlyMap<string, SecurityScheme>,
  problems: ProblemList,
): SecurityRequirement[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.add(at, "must be an array of security requirements");
    return [];
  }
  const out: SecurityRequirement[] = [];
  value.forEach((requirement, i) => {
    if (!isRecord(requirement)) {
      problems.add([...at, i], "a security requirement must be an object");
      return;
    }
    const entry: SecurityRequirement = {};
    for (const [name, scopes] of Object.entries(requirement)) {
      if (!schemes.has(name)) problems.add([...at, i, name], `security scheme ${shown(name)} is not defined`);
      if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string")) {
        problems.add([...at, i, name], "scopes must be an array of strings");
        continue;
      }
      entry[name] = scopes as string[];
    }
    out.push(entry);
  });
  return out;
}
