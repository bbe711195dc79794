/**
 * Least privilege from evidence (DESIGN §3): the narrowest context that still allows every
 * call the current context allowed in a window. Pure; fed one recorded call at a time so a
 * long window is streamed, and bounded by the number of (tool, capability) pairs seen.
 *
 * - One capability per tool called (exact name), in the order of first use; a tool allowed
 *   by two capabilities of the current context gets one for each, in their order, so that
 *   approvals and rate limits stay those of the capability that allowed each call.
 * - `path_allowlist`: the paths observed (arguments and the tool's mounts), exact; once
 *   SIBLINGS_FOR_DIRECTORY distinct paths share a directory, `dir/**` instead — only where the
 *   current allowlist already covers `dir/**` (or had no path constraint), so it never widens.
 * - `domain_allowlist`: the hosts observed (URL arguments and the tool's upstreams), exact.
 * - `subcommand_allowlist` narrowed to the subcommands observed; everything else of the
 *   capability (command_allowlist, approval, rate_limit, max_response_size,
 *   delegated_credentials) is kept as it is.
 * - `visible_tools`: the tools called that the current context shows.
 * - An earlier capability requiring approval that also matches the tool is kept whole in front
 *   of the one that allowed it: what the current context escalates is never simply allowed.
 *
 * Where a list cannot be narrowed safely (a value was redacted, a value is not expressible
 * as an exact entry, too many distinct values) the current capability's list is kept, and a
 * note says so. Each note explains one generalisation or one thing kept.
 */

import { scanArguments } from "./arguments.js";
import {
  type Capability,
  MAX_CAPABILITIES,
  MAX_LIST_ENTRIES,
  type SecurityContext,
} from "./context-schema.js";
import { domainPatternProblem, hostFromUpstream, hostFromUrl } from "./domains.js";
import { pathGlobProblem } from "./glob.js";
import { normalizePath } from "./paths.js";
import { firstMatchingPattern, matchToolPattern, toolPatternProblem } from "./tool-patterns.js";
import { type RecordedCall, redecide } from "./what-if.js";

/** Distinct sibling paths under one directory that make the suggestion `dir/**`. */
export const SIBLINGS_FOR_DIRECTORY = 3;

interface Group {
  toolName: string;
  capabilityIndex: number;
  calls: number;
  paths: Set<string>;
  hosts: Set<string>;
  subcommands: Set<string>;
  /** Why the current capability's list is kept instead of a narrowed one. */
  keepPaths: string | null;
  keepDomains: string | null;
  keepSubcommands: string | null;
}

export interface Suggestion {
  context: SecurityContext;
  based_on: number;
  notes: string[];
}

const calls = (n: number) => `${n} call${n === 1 ? "" : "s"}`;

function exactPath(path: string): boolean {
  return pathGlobProblem(path) === null && !path.includes("*");
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** Whether `dir/**` is within one of the current globs (no constraint covers everything). */
function covered(dir: string, current: readonly string[] | null | undefined): boolean {
  if (current == null) return true;
  return current.some((glob) => {
    if (glob === "/**") return true;
    if (!glob.endsWith("/**")) return false;
    const prefix = glob.slice(0, -3);
    return !prefix.includes("*") && (dir === prefix || dir.startsWith(`${prefix}/`));
  });
}

export class SuggestionBuilder {
  private readonly groups = new Map<string, Group>();
  private readonly toolOrder = new Map<string, number>();
  private basedOn = 0;
  private rejected = 0;
  private undecidable = 0;
  /** Tools with a call that could not be decided: they keep the current capabilities. */
  private readonly copied = new Set<string>();

  constructor(private readonly current: SecurityContext) {}

  add(call: RecordedCall): void {
    const again = redecide(this.current, this.current, call);
    if (again.kind === "undecidable") {
      // Whether it was allowed, and by which capability, depends on a value the trail does
      // not keep: the tool gets every current capability that matches it, unchanged.
      this.undecidable++;
      if (!this.toolOrder.has(call.toolName)) this.toolOrder.set(call.toolName, this.toolOrder.size);
      this.copied.add(call.toolName);
      return;
    }
    const decision = again.from;
    if (decision.decision === "reject" || decision.capabilityIndex === null) {
      this.rejected++;
      return;
    }
    this.basedOn++;
    const key = `${call.toolName}\u0000${decision.capabilityIndex}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      if (!this.toolOrder.has(call.toolName)) this.toolOrder.set(call.toolName, this.toolOrder.size);
      group = {
        toolName: call.toolName,
        capabilityIndex: decision.capabilityIndex,
        calls: 0,
        paths: new Set(),
        hosts: new Set(),
        subcommands: new Set(),
        keepPaths: null,
        keepDomains: null,
        keepSubcommands: null,
      };
      this.groups.set(key, group);
    }
    group.calls++;
    const scan = scanArguments(call.arguments);
    const paths = [...scan.paths.map((f) => f.value), ...(call.tool?.mounts ?? [])];
    for (const raw of paths) {
      const normalized = raw === undefined ? null : normalizePath(raw);
      if (normalized === null || !normalized.ok) {
        // Allowed only because no path constraint applied: any path_allowlist would refuse it.
        group.keepPaths ??= "a call carried a path no path_allowlist admits";
        continue;
      }
      if (!exactPath(normalized.path))
        group.keepPaths ??= `path ${JSON.stringify(normalized.path)} cannot be written as an exact entry`;
      else if (group.paths.size < MAX_LIST_ENTRIES) group.paths.add(normalized.path);
      else group.keepPaths ??= `more than ${MAX_LIST_ENTRIES} distinct paths`;
    }
    const hosts = [
      ...scan.urls.map((f) => (f.value === undefined ? null : hostFromUrl(f.value))),
      ...(call.tool?.upstreamHosts ?? []).map(hostFromUpstream),
    ];
    for (const host of hosts) {
      if (host === null || !host.ok) {
        // Allowed only because no domain constraint applied: any domain_allowlist would refuse it.
        group.keepDomains ??= "a call carried a URL whose host no domain_allowlist admits";
        continue;
      }
      if (domainPatternProblem(host.host) !== null)
        group.keepDomains ??= `host ${JSON.stringify(host.host)} cannot be written as a domain entry`;
      else if (group.hosts.size < MAX_LIST_ENTRIES) group.hosts.add(host.host);
      else group.keepDomains ??= `more than ${MAX_LIST_ENTRIES} distinct hosts`;
    }
    const sub = call.tool?.subcommand;
    if (sub !== undefined && group.subcommands.size < MAX_LIST_ENTRIES) group.subcommands.add(sub);
    else if (sub !== undefined)
      group.keepSubcommands ??= `more than ${MAX_LIST_ENTRIES} distinct subcommands`;
  }

  private narrowPaths(group: Group, cap: Capability, notes: string[], where: string) {
    if (group.keepPaths !== null) {
      notes.push(`${where}: path_allowlist kept as it is: ${group.keepPaths}`);
      return cap.path_allowlist;
    }
    const byParent = new Map<string, string[]>();
    for (const path of group.paths) {
      const parent = parentOf(path);
      byParent.set(parent, [...(byParent.get(parent) ?? []), path]);
    }
    const out: string[] = [];
    const dirs: string[] = [];
    for (const [parent, siblings] of byParent) {
      if (siblings.length >= SIBLINGS_FOR_DIRECTORY && covered(parent, cap.path_allowlist)) {
        const glob = parent === "/" ? "/**" : `${parent}/**`;
        dirs.push(parent);
        out.push(glob);
        notes.push(
          `${where}: ${siblings.length} paths observed under ${parent} (at least ${SIBLINGS_FOR_DIRECTORY} siblings): ${glob}`,
        );
      } else out.push(...siblings);
    }
    // An exact path below a directory already suggested as `dir/**` adds nothing.
    const kept = out.filter(
      (p) => p.endsWith("/**") || !dirs.some((d) => p.startsWith(d === "/" ? "/" : `${d}/`)),
    );
    return kept.sort();
  }

  build(): Suggestion {
    const notes: string[] = [];
    const ordered: Group[] = [...this.groups.values()].filter((g) => !this.copied.has(g.toolName));
    const copy = (toolName: string, capabilityIndex: number, why: string): Group => ({
      toolName,
      capabilityIndex,
      calls: 0,
      paths: new Set(),
      hosts: new Set(),
      subcommands: new Set(),
      keepPaths: why,
      keepDomains: why,
      keepSubcommands: why,
    });
    for (const toolName of this.copied) {
      this.current.capabilities.forEach((cap, capabilityIndex) => {
        if (matchToolPattern(cap.tool_pattern, toolName))
          ordered.push(copy(toolName, capabilityIndex, "a call of this tool had a redacted argument"));
      });
    }
    // A call that passes an earlier capability requiring approval is escalated by the current
    // context even where a later one would allow it: that earlier capability stays whole in
    // front of the later one, or the suggestion would allow without approval what needed one.
    for (const group of [...ordered]) {
      if (this.current.capabilities[group.capabilityIndex]?.approval === "required") continue;
      for (let j = 0; j < group.capabilityIndex; j++) {
        const earlier = this.current.capabilities[j];
        if (earlier?.approval !== "required" || !matchToolPattern(earlier.tool_pattern, group.toolName))
          continue;
        const why = `capabilities[${j}] requires approval and comes before the capability that allowed these calls`;
        const existing = ordered.find((g) => g.toolName === group.toolName && g.capabilityIndex === j);
        if (existing) {
          existing.keepPaths = why;
          existing.keepDomains = why;
          existing.keepSubcommands = why;
        } else ordered.push(copy(group.toolName, j, why));
      }
    }
    ordered.sort(
      (a, b) =>
        (this.toolOrder.get(a.toolName) ?? 0) - (this.toolOrder.get(b.toolName) ?? 0) ||
        a.capabilityIndex - b.capabilityIndex,
    );
    if (ordered.length > MAX_CAPABILITIES)
      notes.push(
        `${ordered.length} tool and capability pairs were used; only the first ${MAX_CAPABILITIES} fit in a context`,
      );
    const capabilities: Capability[] = [];
    for (const group of ordered.slice(0, MAX_CAPABILITIES)) {
      const cap = this.current.capabilities[group.capabilityIndex] as Capability;
      const where = `capabilities[${capabilities.length}] (${group.toolName}, from capabilities[${group.capabilityIndex}]${group.calls > 0 ? `, ${group.calls} calls` : ""})`;
      const exactName = toolPatternProblem(group.toolName) === null && !group.toolName.includes("*");
      if (!exactName)
        notes.push(`${where}: tool_pattern kept as it is: the tool name is not an exact pattern`);
      const out: Capability = { tool_pattern: exactName ? group.toolName : cap.tool_pattern };
      out.path_allowlist = this.narrowPaths(group, cap, notes, where);
      if (group.keepDomains !== null) {
        notes.push(`${where}: domain_allowlist kept as it is: ${group.keepDomains}`);
        out.domain_allowlist = cap.domain_allowlist;
      } else out.domain_allowlist = [...group.hosts];
      if (cap.command_allowlist != null) out.command_allowlist = cap.command_allowlist;
      if (cap.subcommand_allowlist != null) {
        if (group.keepSubcommands !== null) {
          notes.push(`${where}: subcommand_allowlist kept as it is: ${group.keepSubcommands}`);
          out.subcommand_allowlist = cap.subcommand_allowlist;
        } else out.subcommand_allowlist = [...group.subcommands].sort();
      }
      for (const field of ["rate_limit", "max_response_size", "approval", "delegated_credentials"] as const) {
        if (cap[field] != null) (out as Record<string, unknown>)[field] = cap[field];
      }
      if (out.path_allowlist == null) delete out.path_allowlist;
      if (out.domain_allowlist == null) delete out.domain_allowlist;
      capabilities.push(out);
    }
    const shownBefore = this.current.visible_tools ?? this.current.capabilities.map((c) => c.tool_pattern);
    const visible = [...this.toolOrder.keys()].filter(
      (name) =>
        toolPatternProblem(name) === null &&
        !name.includes("*") &&
        firstMatchingPattern(shownBefore, name) >= 0,
    );
    if (this.rejected > 0) notes.push(`${calls(this.rejected)} the current context rejects left out`);
    if (this.undecidable > 0)
      notes.push(
        `${calls(this.undecidable)} could not be decided again (redacted arguments): their tools keep the current capabilities`,
      );
    const context: SecurityContext = {
      name: this.current.name,
      description: `Suggested from ${calls(this.basedOn)} allowed by ${this.current.name}`,
      ...(this.current.deny_list != null ? { deny_list: this.current.deny_list } : {}),
      capabilities,
      visible_tools: visible,
      ...(this.current.revoke_after_denials != null
        ? { revoke_after_denials: this.current.revoke_after_denials }
        : {}),
    };
    return { context, based_on: this.basedOn, notes };
  }
}
