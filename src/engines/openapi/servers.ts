import { GatewayError } from "../../errors.js";
import { hostFromUrl } from "../../policy/domains.js";
import type { PlainJson } from "../../seal/json.js";
import { type PathSegment, type ProblemList, shown } from "./spec-path.js";
import type { IndexedSpec, ResolvedServer, SpecOperation } from "./types.js";

type Json = PlainJson | undefined;

function isRecord(value: Json): value is { [key: string]: PlainJson } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Why an absolute URL cannot be an upstream base, or null when it can. */
export function baseUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must be an http or https URL";
  if (parsed.username !== "" || parsed.password !== "") return "must not contain credentials";
  if (parsed.search !== "" || parsed.hash !== "") return "must not have a query or fragment";
  const host = hostFromUrl(url);
  return host.ok ? null : host.reason;
}

function substitute(
  template: string,
  variables: Json,
  at: PathSegment[],
  problems: ProblemList,
): string | undefined {
  const defaults = new Map<string, string>();
  if (variables !== undefined && !isRecord(variables))
    problems.add([...at, "variables"], "must be an object");
  for (const [name, variable] of Object.entries(isRecord(variables) ? variables : {})) {
    const where = [...at, "variables", name];
    if (!isRecord(variable) || typeof variable.default !== "string") {
      problems.add(where, "a server variable needs a string default");
      continue;
    }
    const allowed = variable.enum;
    if (allowed !== undefined && (!Array.isArray(allowed) || !allowed.includes(variable.default))) {
      problems.add(where, "the default must be one of the variable's enum values");
    }
    defaults.set(name, variable.default);
  }
  let ok = true;
  const url = template.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    const value = defaults.get(name);
    if (value === undefined) {
      problems.add([...at, "url"], `server variable ${shown(name)} is not declared`);
      ok = false;
      return "";
    }
    return value;
  });
  return ok ? url : undefined;
}

/**
 * Reads a `servers` list, variables replaced by their defaults. Relative URLs are resolved
 * against `sourceUrl` when the spec was fetched from one, else kept relative (a base URL must
 * then be configured). Returns undefined when the field is absent or empty, so callers inherit.
 */
export function readServers(
  value: Json,
  at: PathSegment[],
  problems: ProblemList,
  sourceUrl: string | undefined,
): ResolvedServer[] | undefined {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (!Array.isArray(value)) {
    problems.add(at, "must be an array of servers");
    return undefined;
  }
  const out: ResolvedServer[] = [];
  value.forEach((server, i) => {
    const where = [...at, i];
    if (!isRecord(server) || typeof server.url !== "string") {
      problems.add(where, "a server needs a string url");
      return;
    }
    const substituted = substitute(server.url, server.variables, where, problems);
    if (substituted === undefined) return;
    let url = substituted;
    if (!ABSOLUTE.test(url) && sourceUrl !== undefined) {
      try {
        url = new URL(url, sourceUrl).href;
      } catch {
        problems.add([...where, "url"], `server URL ${shown(url)} cannot be resolved against source_url`);
        return;
      }
    }
    if (ABSOLUTE.test(url)) {
      const why = baseUrlProblem(url);
      if (why !== null) {
        problems.add([...where, "url"], `server URL ${shown(url)} ${why}`);
        return;
      }
    }
    const description = typeof server.description === "string" ? server.description : undefined;
    out.push({ url, template: server.url, description });
  });
  return out;
}

/**
 * The base URL a call to `op` goes to: the configured override, else the operation's first
 * server. A relative server URL (the spec was given inline) needs the override.
 */
export function resolveServerUrl(spec: IndexedSpec, op: SpecOperation, baseUrlOverride?: string): string {
  const candidate = baseUrlOverride ?? op.servers[0]?.url ?? spec.servers[0]?.url;
  if (candidate === undefined || !ABSOLUTE.test(candidate)) {
    throw new GatewayError("EXECUTION_FAILED", "the spec has no absolute server URL and no base_url is set", {
      reason: "no_server_url",
    });
  }
  const why = baseUrlProblem(candidate);
  if (why !== null) {
    throw new GatewayError("EXECUTION_FAILED", `the upstream base URL ${why}`, { reason: "bad_base_url" });
  }
  return candidate;
}

/** Lowercase host names of every absolute server in the spec: the default `allowed_hosts`. */
export function hostsOf(spec: IndexedSpec): string[] {
  const hosts = new Set<string>();
  for (const server of [...spec.servers, ...spec.operations.flatMap((op) => op.servers)]) {
    if (!ABSOLUTE.test(server.url)) continue;
    const host = hostFromUrl(server.url);
    if (host.ok) hosts.add(host.host);
  }
  return [...hosts].sort();
}
