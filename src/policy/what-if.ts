/**
 * One recorded call decided again under two definitions of its context (DESIGN §3 "What-if
 * over history"). Pure, like `evaluate()`, which it calls: there is no second engine. Only
 * the static constraints are decided (rate limits depend on traffic, not on the call).
 *
 * A decision that may depend on a value the trail redacted is "undecidable": the answer says
 * so instead of guessing what the real value would have decided.
 */

import type { SecurityContext } from "./context-schema.js";
import { evaluate, type PolicyDecision, type ToolInfo } from "./evaluate.js";
import { type RedactedKinds, redactedKinds } from "./recorded-call.js";
import { matchToolPattern } from "./tool-patterns.js";

export interface RecordedCall {
  toolName: string;
  /** The recorded, redacted arguments (`recordedArguments`). */
  arguments: unknown;
  /** The tool's registration now; absent for a tool no longer (or never) registered. */
  tool?: ToolInfo;
  /** The session's `allowed_tool_patterns`, when the call was made in a session. */
  sessionToolPatterns?: readonly string[];
  /** The tool's upstream hosts depend on arguments the trail does not keep (the explorer). */
  hostsUnknown?: boolean;
}

export type Redecision =
  | { kind: "decided"; from: PolicyDecision; to: PolicyDecision }
  | { kind: "undecidable"; under: "current" | "candidate"; reason: string };

/** The decision under one definition, as the live path makes it after lookup. */
export function decide(ctx: SecurityContext, call: RecordedCall): PolicyDecision {
  return evaluate(
    ctx,
    { toolName: call.toolName, arguments: call.arguments, ...(call.tool ? { tool: call.tool } : {}) },
    {
      phase: call.tool ? "post-lookup" : "pre-lookup",
      ...(call.sessionToolPatterns ? { sessionToolPatterns: call.sessionToolPatterns } : {}),
    },
  );
}

/**
 * Why the decision may depend on a redacted value, or null. Every capability the evaluation
 * looked at up to the deciding one (all matching ones for a rejection) is considered: one
 * whose constraint reads a redacted kind of value might have decided otherwise.
 */
function redactedDependency(
  ctx: SecurityContext,
  call: RecordedCall,
  decision: PolicyDecision,
  kinds: RedactedKinds,
): string | null {
  // The deny list and the session's patterns decide on the tool name alone.
  if (decision.capabilityIndex === null && decision.code === "TOOL_DENIED") return null;
  const last =
    decision.decision === "reject" ? ctx.capabilities.length - 1 : (decision.capabilityIndex ?? -1);
  for (let i = 0; i <= last; i++) {
    const c = ctx.capabilities[i];
    if (c === undefined || !matchToolPattern(c.tool_pattern, call.toolName)) continue;
    if (kinds.paths && c.path_allowlist != null)
      return `capabilities[${i}].path_allowlist reads a path argument the audit trail redacted`;
    if (kinds.urls && c.domain_allowlist != null)
      return `capabilities[${i}].domain_allowlist reads a URL argument the audit trail redacted`;
    if (call.hostsUnknown && c.domain_allowlist != null)
      return `capabilities[${i}].domain_allowlist reads upstream hosts the audit trail does not keep`;
    if (kinds.subcommand && c.subcommand_allowlist != null)
      return `capabilities[${i}].subcommand_allowlist reads a subcommand the audit trail redacted`;
  }
  return null;
}

export function redecide(
  current: SecurityContext,
  candidate: SecurityContext,
  call: RecordedCall,
): Redecision {
  const kinds = redactedKinds(call.arguments);
  const from = decide(current, call);
  const to = decide(candidate, call);
  for (const [under, ctx, decision] of [
    ["current", current, from],
    ["candidate", candidate, to],
  ] as const) {
    const reason = redactedDependency(ctx, call, decision, kinds);
    if (reason !== null) return { kind: "undecidable", under, reason };
  }
  return { kind: "decided", from, to };
}
