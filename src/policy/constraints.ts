/**
 * The constraint checks of one capability (DESIGN §3). Each returns null when it passes or
 * the failure with its code. A check that needs the tool's registration (upstream hosts,
 * mounts, command, subcommand) is skipped in the pre-lookup phase and run after lookup.
 */

import type { ArgumentScan, FoundValue } from "./arguments.js";
import { tokenAllowed } from "./commands.js";
import type { Capability } from "./context-schema.js";
import { type HostResult, hostAllowed, hostFromUpstream, hostFromUrl } from "./domains.js";
import { checkPath, type NormalizedPath, normalizePath, pathAllowed } from "./paths.js";

export type Phase = "pre-lookup" | "post-lookup";

/** What the registry knows about the tool; absent before lookup. */
export interface ToolInfo {
  kind: "workflow" | "cli" | "explorer" | "native";
  /** Hosts the tool sends requests to (workflows and the explorer). */
  upstreamHosts?: readonly string[];
  /** Paths the tool's container mounts (CLI tools). */
  mounts?: readonly string[];
  /** The CLI tool's base command, as it appears in argv. */
  command?: string;
  /** The subcommand this call runs, as it appears in argv. */
  subcommand?: string;
}

export interface ConstraintFailure {
  code: "PATH_DENIED" | "DOMAIN_DENIED" | "COMMAND_DENIED";
  reason: string;
}

const SHOWN_CHARS = 100;

/** A caller-supplied value, quoted and cut short, for a reason string. */
export function shown(value: string): string {
  return JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value);
}

// Several capabilities may check the same argument: normalize and parse each value once.
const normalizedCache = new WeakMap<FoundValue, NormalizedPath>();
const hostCache = new WeakMap<FoundValue, HostResult>();

function cached<T>(
  cache: WeakMap<FoundValue, T>,
  found: FoundValue,
  value: string,
  compute: (v: string) => T,
): T {
  let result = cache.get(found);
  if (result === undefined) {
    result = compute(value);
    cache.set(found, result);
  }
  return result;
}

function argumentName(found: FoundValue): string {
  const at = found.at.length > 120 ? `…${found.at.slice(-120)}` : found.at;
  return `argument ${at === "" ? "(root)" : at}`;
}

function checkPaths(
  allowlist: readonly string[],
  scan: ArgumentScan,
  tool: ToolInfo | undefined,
  phase: Phase,
) {
  if (scan.incomplete !== null) return `${scan.incomplete}; their paths cannot be checked`;
  for (const found of scan.paths) {
    if (found.value === undefined) return `${argumentName(found)} ${found.problem ?? "is unusable"}`;
    const normalized = cached(normalizedCache, found, found.value, normalizePath);
    if (!normalized.ok) return `path ${shown(found.value)} in ${argumentName(found)} ${normalized.reason}`;
    if (!pathAllowed(allowlist, normalized.path)) {
      return `path ${shown(found.value)} in ${argumentName(found)} is not in path_allowlist`;
    }
  }
  if (phase === "post-lookup") {
    const mounts = tool?.mounts ?? [];
    for (let i = 0; i < mounts.length; i++) {
      // Mount paths come from the tool's registration: named by position, not shown.
      if (!checkPath(allowlist, mounts[i] ?? "").ok) return `mount ${i} of the tool is not in path_allowlist`;
    }
  }
  return null;
}

function checkDomains(
  allowlist: readonly string[],
  scan: ArgumentScan,
  tool: ToolInfo | undefined,
  phase: Phase,
) {
  if (scan.incomplete !== null) return `${scan.incomplete}; their URLs cannot be checked`;
  for (const found of scan.urls) {
    if (found.value === undefined) return `${argumentName(found)} ${found.problem ?? "is unusable"}`;
    const host = cached(hostCache, found, found.value, hostFromUrl);
    if (!host.ok) return `URL ${shown(found.value)} in ${argumentName(found)} ${host.reason}`;
    if (!hostAllowed(allowlist, host.host)) {
      return `host ${shown(host.host)} of ${argumentName(found)} is not in domain_allowlist`;
    }
  }
  if (phase === "post-lookup") {
    const hosts = tool?.upstreamHosts ?? [];
    for (let i = 0; i < hosts.length; i++) {
      const host = hostFromUpstream(hosts[i] ?? "");
      if (!host.ok || !hostAllowed(allowlist, host.host))
        return `upstream host ${i} of the tool is not in domain_allowlist`;
    }
  }
  return null;
}

/**
 * A value the allowlist needs but the call lacks fails: a CLI call with no subcommand
 * would run `<image> <args…>`, making its first argument the subcommand nobody checked.
 */
function checkToken(
  field: "command" | "subcommand",
  allowlist: readonly string[],
  tool: ToolInfo | undefined,
) {
  if (tool === undefined || tool.kind !== "cli")
    return `${field}_allowlist applies only to CLI tools and this tool is not one`;
  const token = tool[field];
  if (token === undefined) return `the call has no ${field} to check against ${field}_allowlist`;
  if (!tokenAllowed(allowlist, token)) return `${field} ${shown(token)} is not in ${field}_allowlist`;
  return null;
}

/** The first failing constraint of `capability`, in the order path, domain, command, subcommand. */
export function checkCapability(
  capability: Capability,
  scan: () => ArgumentScan,
  tool: ToolInfo | undefined,
  phase: Phase,
): ConstraintFailure | null {
  if (capability.path_allowlist != null) {
    const reason = checkPaths(capability.path_allowlist, scan(), tool, phase);
    if (reason !== null) return { code: "PATH_DENIED", reason };
  }
  if (capability.domain_allowlist != null) {
    const reason = checkDomains(capability.domain_allowlist, scan(), tool, phase);
    if (reason !== null) return { code: "DOMAIN_DENIED", reason };
  }
  if (phase === "pre-lookup") return null;
  for (const field of ["command", "subcommand"] as const) {
    const allowlist = capability[`${field}_allowlist`];
    if (allowlist == null) continue;
    const reason = checkToken(field, allowlist, tool);
    if (reason !== null) return { code: "COMMAND_DENIED", reason };
  }
  return null;
}

/** Whether the capability has constraints that only the post-lookup phase can check. */
export function hasDeferredConstraints(capability: Capability): boolean {
  return (
    capability.path_allowlist != null ||
    capability.domain_allowlist != null ||
    capability.command_allowlist != null ||
    capability.subcommand_allowlist != null
  );
}
