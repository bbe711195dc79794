/**
 * The policy decision (DESIGN §3, RFC §5.3): pure, synchronous, no I/O.
 *
 * 1. Deny list first: a matching entry rejects with TOOL_DENIED, whatever the capabilities say.
 * 2. Session `allowed_tool_patterns`, when given: a tool none of them matches is TOOL_DENIED.
 * 3. Capabilities in order: one whose `tool_pattern` matches and whose every non-null
 *    constraint passes decides — allow, or escalate when it has `approval: "required"`.
 * 4. Otherwise reject: the code of the constraint that failed in the last matching
 *    capability, or CONTEXT_DENIED when no capability matched the tool at all.
 *
 * `rate_limit` and `max_response_size` are not decided here: the caller applies those of
 * the returned `capabilityIndex`. The context must have passed `SecurityContext` parsing.
 */

import type { ErrorCode } from "../errors.js";
import { type ArgumentScan, scanArguments } from "./arguments.js";
import {
  type ConstraintFailure,
  checkCapability,
  hasDeferredConstraints,
  type Phase,
  shown,
  type ToolInfo,
} from "./constraints.js";
import type { SecurityContext } from "./context-schema.js";
import { firstMatchingPattern, matchToolPattern } from "./tool-patterns.js";

export type { Phase, ToolInfo } from "./constraints.js";

export interface ToolCall {
  toolName: string;
  /** The call's JSON arguments as received. */
  arguments: unknown;
  /** The registry's view of the tool; only used in the post-lookup phase. */
  tool?: ToolInfo;
}

export interface EvaluateOptions {
  /** Default "post-lookup" (everything checked). */
  phase?: Phase;
  /** The session's `allowed_tool_patterns`; omitted means no session restriction. */
  sessionToolPatterns?: readonly string[];
}

export type DenialCode = Extract<
  ErrorCode,
  "TOOL_DENIED" | "PATH_DENIED" | "DOMAIN_DENIED" | "COMMAND_DENIED" | "CONTEXT_DENIED"
>;

export interface PolicyDecision {
  decision: "allow" | "escalate" | "reject";
  code: DenialCode | null;
  /** `deny_list[i]`, `session.allowed_tool_patterns`, `capabilities[i]` or `default`. */
  rule: string;
  /** Human-readable and safe to show to the caller. */
  reason: string;
  /** The deciding capability (also for a rejection by a failed constraint), else null. */
  capabilityIndex: number | null;
}

function reject(
  code: DenialCode,
  rule: string,
  reason: string,
  capabilityIndex: number | null,
): PolicyDecision {
  return { decision: "reject", code, rule, reason, capabilityIndex };
}

/** Whether the session's patterns admit the tool (`["*"]` admits every tool). */
export function sessionAllows(patterns: readonly string[], toolName: string): boolean {
  return firstMatchingPattern(patterns, toolName) >= 0;
}

export function evaluate(ctx: SecurityContext, call: ToolCall, opts: EvaluateOptions = {}): PolicyDecision {
  const phase = opts.phase ?? "post-lookup";
  const tool = shown(call.toolName);
  const denyList = ctx.deny_list ?? [];
  const denied = firstMatchingPattern(denyList, call.toolName);
  if (denied >= 0) {
    const rule = `deny_list[${denied}]`;
    return reject(
      "TOOL_DENIED",
      rule,
      `tool ${tool} is denied by ${rule} (${shown(denyList[denied] ?? "")})`,
      null,
    );
  }
  if (opts.sessionToolPatterns !== undefined && !sessionAllows(opts.sessionToolPatterns, call.toolName)) {
    return reject(
      "TOOL_DENIED",
      "session.allowed_tool_patterns",
      `tool ${tool} is not in the session's allowed_tool_patterns`,
      null,
    );
  }

  let cached: ArgumentScan | undefined;
  const scan = () => {
    cached ??= scanArguments(call.arguments);
    return cached;
  };
  let lastFailure: { index: number; failure: ConstraintFailure } | null = null;
  for (let index = 0; index < ctx.capabilities.length; index++) {
    const capability = ctx.capabilities[index];
    if (capability === undefined || !matchToolPattern(capability.tool_pattern, call.toolName)) continue;
    const failure = checkCapability(capability, scan, call.tool, phase);
    if (failure !== null) {
      lastFailure = { index, failure };
      continue;
    }
    const rule = `capabilities[${index}]`;
    const pending =
      phase === "pre-lookup" && hasDeferredConstraints(capability)
        ? "; tool constraints are checked after lookup"
        : "";
    if (capability.approval === "required") {
      return {
        decision: "escalate",
        code: null,
        rule,
        reason: `${rule} allows tool ${tool} with approval${pending}`,
        capabilityIndex: index,
      };
    }
    return {
      decision: "allow",
      code: null,
      rule,
      reason: `allowed by ${rule}${pending}`,
      capabilityIndex: index,
    };
  }
  if (lastFailure !== null) {
    const rule = `capabilities[${lastFailure.index}]`;
    return reject(
      lastFailure.failure.code,
      rule,
      `${rule}: ${lastFailure.failure.reason}`,
      lastFailure.index,
    );
  }
  return reject(
    "CONTEXT_DENIED",
    "default",
    `no capability of security context ${shown(ctx.name)} matches tool ${tool}`,
    null,
  );
}

export interface VisibleToolsOptions {
  sessionToolPatterns?: readonly string[];
}

/**
 * The tools to list (`GET /v1/tools`, MCP `tools/list`), in the given order. Never a tool
 * the deny list or the session excludes. With `visible_tools` set, the tools it matches;
 * otherwise the tools some capability's `tool_pattern` matches (constraints depend on the
 * arguments of a call, so they are not considered). Showing is not allowing.
 */
export function visibleTools(
  ctx: SecurityContext,
  toolNames: readonly string[],
  opts: VisibleToolsOptions = {},
): string[] {
  const denyList = ctx.deny_list ?? [];
  const shownPatterns = ctx.visible_tools ?? ctx.capabilities.map((capability) => capability.tool_pattern);
  return toolNames.filter(
    (name) =>
      firstMatchingPattern(denyList, name) < 0 &&
      (opts.sessionToolPatterns === undefined || sessionAllows(opts.sessionToolPatterns, name)) &&
      firstMatchingPattern(shownPatterns, name) >= 0,
  );
}
