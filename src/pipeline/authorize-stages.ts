import { GatewayError } from "../errors.js";
import { authorizeCall, recordedCall, redeemApproval } from "./authorize.js";
import {
  auditRequestId,
  type CallOutcome,
  need,
  type PipelineDeps,
  type RunState,
  settleRowsBefore,
  via,
} from "./call.js";

/**
 * The authorization stages of `run`, in DESIGN §3's order: the decision on the tool name and
 * arguments before any lookup (a denied caller learns nothing about which tools exist), the
 * lookup, then the constraints that need the tool's registration, then — only once the call
 * will run — the approval is used up.
 */

export type StageFn = (s: RunState) => Promise<CallOutcome | undefined>;

function pending(s: RunState, approvalId: string, expiresAt: number): CallOutcome {
  return {
    status: "pending",
    approvalId,
    expiresAt,
    requestId: s.call.env.requestId,
    callId: s.call.callId,
  };
}

/** The call's common audit columns once the signer is known. */
export function callEventBase(s: RunState) {
  const { auth, env, callId } = s.call;
  return {
    tenantId: auth.tenantId,
    executionId: auth.executionId,
    callId,
    agentId: auth.claims.sub,
    toolName: env.toolName,
    requestId: auditRequestId(env.requestId),
  };
}

export function authorizeBeforeLookup(deps: PipelineDeps): StageFn {
  return async function authorize(s) {
    const { facts, auth } = s.call;
    const pre = await authorizeCall(deps.authz, facts, "pre-lookup");
    if (pre.kind === "pending") return pending(s, pre.approvalId, pre.expiresAt);
    s.pre = pre;
    const row = deps.audit.write({
      ...callEventBase(s),
      eventType: "ToolCallAuthorized",
      decision: "allow",
      stage: "authorize",
      code: null,
      payload: {
        rule: pre.rule,
        arguments_digest: facts.argumentsDigest,
        binding: auth.binding,
        approval_id: pre.approvalId,
        ...recordedCall(facts),
        ...via(s.call.source),
      },
    });
    // Awaited before any effect and before the answer (RunState.rowsBefore); handled here so
    // a call that ends early cannot leave it as an unhandled rejection.
    row.written.catch(() => undefined);
    s.rowsBefore = row;
    return undefined;
  };
}

export function lookupTool(deps: PipelineDeps): StageFn {
  return async function lookup(s) {
    const { auth, env } = s.call;
    const read = await s.call.facts.reads?.tool;
    const tool = read ? read.tool : await deps.tools.lookup(auth.tenantId, env.toolName);
    if (!tool)
      throw new GatewayError("TOOL_NOT_FOUND", `no tool named ${JSON.stringify(env.toolName)}`, {
        reason: "tool_not_found",
      });
    s.tool = tool;
    return undefined;
  };
}

export function authorizeAfterLookup(deps: PipelineDeps): StageFn {
  return async function authorizeWithTool(s) {
    const { facts, auth } = s.call;
    const tool = need(s.tool, "the tool");
    const pre = need(s.pre, "the decision before lookup");
    const info = tool.infoFor ? await tool.infoFor(facts.args, auth.tenantId) : tool.info;
    const post = await authorizeCall(deps.authz, facts, "post-lookup", info, {
      context: pre.context,
      approvalId: pre.approvalId,
    });
    if (post.kind === "pending") return pending(s, post.approvalId, post.expiresAt);
    s.post = post;
    return undefined;
  };
}

/** A number that would reach the tool with another value than the one signed is refused. */
export function checkArguments(): StageFn {
  return async function losslessArguments(s) {
    if (s.call.lossyArguments)
      throw new GatewayError(
        "INVALID_ARGUMENTS",
        "an argument number cannot be passed on without changing its value",
        { reason: "lossy_number" },
      );
    return undefined;
  };
}

/** Uses the approval up right before the tool runs, so a call refused earlier does not burn it. */
export function redeem(deps: PipelineDeps): StageFn {
  return async function redeemApprovalStage(s) {
    const post = need(s.post, "the decision after lookup");
    if (post.approvalId) {
      // Using the approval up is an effect: the row before it must have committed.
      const failure = await settleRowsBefore(s);
      if (failure) throw failure;
      await redeemApproval(deps.authz, s.call.facts, post.approvalId, post.rule);
    }
    return undefined;
  };
}
