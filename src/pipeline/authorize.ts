import type { AuditRecorder, EventInput } from "../audit/recorder.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Capability, SecurityContext } from "../policy/context-schema.js";
import type { ContextCache } from "../policy/contexts.js";
import { countInWindow } from "../policy/counters.js";
import { evaluate, type PolicyDecision, type ToolInfo } from "../policy/evaluate.js";
import { recordedArguments } from "../policy/recorded-call.js";
import type { Envelope } from "../seal/envelope.js";
import type { PlainJson } from "../seal/json.js";
import type { Store } from "../store/types.js";
import type { RegisteredTool } from "../tools/registry.js";
import type { Authenticated } from "./authenticate.js";
import { via } from "./call.js";

/**
 * Step 8–9 of a call: the security context decides allow, escalate or reject (DESIGN §3),
 * before any tool lookup; an allowed call is then counted against its capability's rate
 * limit; an escalated call needs an approval, requested here or redeemed by
 * `params._meta.approval_id`. Every decision is an audit row naming its rule.
 */

export interface AuthorizeDeps {
  store: Store;
  audit: AuditRecorder;
  contexts: ContextCache;
  approvalTtlSeconds: number;
  /**
   * Told after a policy revocation (`revoke_after_denials`) was written, so the session's
   * running CLI containers are killed like an operator's revocation does; best effort.
   */
  onSessionRevoked?: (executionId: string) => Promise<void>;
}

export interface CallFacts {
  auth: Authenticated;
  env: Envelope;
  callId: string;
  argumentsDigest: string;
  /** Plain arguments, for evaluation and the approver's summary. */
  args: { [key: string]: PlainJson };
  nowMs: number;
  /** The transport that carried the call, named in every row this stage writes. */
  transport: string;
  /** The orchestrator acting for the agent, when one is (gRPC). */
  orchestrator?: string;
  /**
   * Rate-limit windows already counted for this call: the capability counted before lookup is
   * not counted again after it.
   */
  countedRateKeys: Set<string>;
  /** Set once the call's first decision row carried the recorded call (`recordedCall`). */
  callRecorded?: boolean;
  /** The reads started as soon as the signature verified (`CallReads`), when admission started them. */
  reads?: CallReads;
}

/**
 * The store reads a call will need, started as soon as its envelope signature verified, so on
 * PostgreSQL their round trips overlap the replay claim's commit and each other instead of
 * following one another. Nothing is decided from them before the stage that needs each: the
 * context is used by authorization (after the replay claim), the tool only by the lookup after
 * an allow — a denied caller's answer never waits for it, so it learns nothing from it. Each
 * promise is already handled: one that is never awaited cannot become an unhandled rejection,
 * and one that is awaited fails its stage as the read itself would have.
 */
export interface CallReads {
  context: Promise<SecurityContext | null>;
  /** The lookup's answer; null when it was not started (no capability names the tool). */
  tool: Promise<{ tool: RegisteredTool | null } | null>;
}

/**
 * The call as the trail keeps it for deciding it again (what-if, suggest): its context and
 * redacted arguments, on the call's first decision row only, so each call is there once.
 */
export function recordedCall(f: CallFacts): { security_context?: string; arguments?: unknown } {
  if (f.callRecorded) return {};
  f.callRecorded = true;
  return { security_context: f.auth.claims.scp, arguments: recordedArguments(f.args) };
}

export interface AllowOutcome {
  kind: "allow";
  context: SecurityContext;
  capability: Capability;
  capabilityIndex: number;
  rule: string;
  approvalId: string | null;
}

export type AuthorizeOutcome = AllowOutcome | { kind: "pending"; approvalId: string; expiresAt: number };

const REJECT_CODES: Record<string, GatewayError["code"]> = {
  TOOL_DENIED: "TOOL_DENIED",
  PATH_DENIED: "PATH_DENIED",
  DOMAIN_DENIED: "DOMAIN_DENIED",
  COMMAND_DENIED: "COMMAND_DENIED",
  CONTEXT_DENIED: "CONTEXT_DENIED",
};

function eventBase(f: CallFacts): Omit<EventInput, "eventType" | "decision" | "code" | "payload"> {
  return {
    tenantId: f.auth.tenantId,
    executionId: f.auth.executionId,
    callId: f.callId,
    agentId: f.auth.claims.sub,
    toolName: f.env.toolName,
    stage: "authorize",
    requestId: f.env.requestId === null ? null : String(f.env.requestId),
  };
}

/** Records a denial, counts it toward `revoke_after_denials`, and returns the error to answer. */
async function deny(
  deps: AuthorizeDeps,
  f: CallFacts,
  ctx: SecurityContext | null,
  err: GatewayError,
  rule: string,
): Promise<GatewayError> {
  await deps.audit.record({
    ...eventBase(f),
    eventType: "PolicyDenied",
    decision: "reject",
    code: err.code,
    payload: {
      rule,
      reason: err.details.reason,
      arguments_digest: f.argumentsDigest,
      binding: f.auth.binding,
      ...recordedCall(f),
      ...via(f),
    },
  });
  const limit = ctx?.revoke_after_denials;
  const session = f.auth.session;
  if (limit && session) {
    const { count } = await countInWindow(
      deps.store,
      `denials|${session.executionId}`,
      limit.per_seconds,
      f.nowMs,
    );
    // The counter is atomic, so exactly one denial per window reaches the count: concurrent
    // denials past it revoke (and record the revocation) once, not once each.
    if (count === limit.count) {
      await deps.audit.record({
        ...eventBase(f),
        eventType: "SessionRevoked",
        decision: null,
        code: null,
        stage: "authorize",
        payload: {
          actor: "policy:revoke_after_denials",
          denials: count,
          per_seconds: limit.per_seconds,
          context: ctx.name,
          ...via(f),
        },
      });
      await deps.store.revokeSession(session.executionId, f.nowMs);
      await deps.onSessionRevoked?.(session.executionId);
    }
  }
  return err;
}

function decisionError(d: PolicyDecision): GatewayError {
  const code = REJECT_CODES[d.code ?? "CONTEXT_DENIED"] ?? "CONTEXT_DENIED";
  return new GatewayError(code, d.reason, { reason: d.reason, rule: d.rule });
}

/** True the first time a call meets a window: the capability counted before lookup is not counted again after. */
function firstCountThisCall(f: CallFacts, key: string): boolean {
  if (f.countedRateKeys.has(key)) return false;
  f.countedRateKeys.add(key);
  return true;
}

/** Evaluates the context; throws the (already audited) GatewayError on reject. */
export async function authorizeCall(
  deps: AuthorizeDeps,
  f: CallFacts,
  phase: "pre-lookup" | "post-lookup",
  tool?: ToolInfo,
  prior?: { context: SecurityContext; approvalId: string | null },
): Promise<AuthorizeOutcome> {
  const { claims } = f.auth;
  // After lookup the call is judged by the same context version as before it: one read per call.
  const ctx = prior?.context ?? (await (f.reads?.context ?? deps.contexts.load(f.auth.tenantId, claims.scp)));
  if (!ctx) {
    const err = new GatewayError(
      "CONTEXT_DENIED",
      `security context ${JSON.stringify(claims.scp)} does not exist`,
      { reason: "unknown_context", rule: "default" },
    );
    throw await deny(deps, f, null, err, "default");
  }
  const decision = evaluate(
    ctx,
    { toolName: f.env.toolName, arguments: f.args, ...(tool ? { tool } : {}) },
    {
      phase,
      ...(f.auth.session ? { sessionToolPatterns: f.auth.session.allowedToolPatterns } : {}),
    },
  );
  if (decision.decision === "reject" || decision.capabilityIndex === null) {
    throw await deny(deps, f, ctx, decisionError(decision), decision.rule);
  }
  const capability = ctx.capabilities[decision.capabilityIndex] as Capability;
  let approvalId = prior?.approvalId ?? null;
  // After lookup another capability may decide; if it needs approval and none was redeemed
  // before lookup, the approval is asked for now — never skipped.
  if (decision.decision === "escalate" && approvalId === null) {
    const redeemed = await redeemOrRequest(deps, f, ctx, decision);
    if (redeemed.kind === "pending") return redeemed;
    approvalId = redeemed.approvalId;
  }
  // After lookup another capability may decide (its constraints need the tool): its limit
  // must hold too, or a tool whose host fails an earlier capability escapes every limit.
  const rateKey = `rate|${f.auth.tenantId}|${claims.sub}|${ctx.name}|${decision.rule}|${capability.tool_pattern}`;
  if (capability.rate_limit && firstCountThisCall(f, rateKey)) {
    const { calls, per_seconds } = capability.rate_limit;
    const { count, retryAfterSeconds } = await countInWindow(deps.store, rateKey, per_seconds, f.nowMs);
    if (count > calls) {
      const err = new GatewayError(
        "RATE_LIMITED",
        `rate limit of ${calls} calls per ${per_seconds} s reached`,
        { reason: "rate_limited", rule: `${decision.rule}.rate_limit` },
        retryAfterSeconds,
      );
      throw await deny(deps, f, ctx, err, `${decision.rule}.rate_limit`);
    }
  }
  return {
    kind: "allow",
    context: ctx,
    capability,
    capabilityIndex: decision.capabilityIndex,
    rule: decision.rule,
    approvalId,
  };
}

function approvalMeta(f: CallFacts): string | null | undefined {
  const v = f.env.meta?.approval_id;
  if (v === undefined) return undefined;
  return typeof v === "string" && v.length <= 128 ? v : null;
}

async function redeemOrRequest(
  deps: AuthorizeDeps,
  f: CallFacts,
  ctx: SecurityContext,
  decision: PolicyDecision,
): Promise<
  { kind: "redeemed"; approvalId: string } | { kind: "pending"; approvalId: string; expiresAt: number }
> {
  const requested = approvalMeta(f);
  const invalid = async (reason: string, message: string, approvalId: string | null) => {
    await deps.audit.record({
      ...eventBase(f),
      eventType: "ApprovalRejected",
      decision: "reject",
      code: "APPROVAL_INVALID",
      stage: "approval",
      payload: {
        approval_id: approvalId,
        reason,
        arguments_digest: f.argumentsDigest,
        ...recordedCall(f),
        ...via(f),
      },
    });
    return new GatewayError("APPROVAL_INVALID", message, {
      reason,
      ...(approvalId ? { approval_id: approvalId } : {}),
    });
  };
  if (requested === null)
    throw await invalid("approval_malformed", "params._meta.approval_id must be a string", null);
  if (requested !== undefined) {
    const row = await deps.store.getApproval(requested);
    if (!row || row.tenantId !== f.auth.tenantId)
      throw await invalid("approval_not_found", "no such approval", requested);
    if (
      row.sub !== f.auth.claims.sub ||
      row.toolName !== f.env.toolName ||
      row.argumentsDigest !== f.argumentsDigest
    ) {
      throw await invalid(
        "approval_mismatch",
        "the approval was granted for another agent, tool or arguments",
        requested,
      );
    }
    if (row.status === "pending" && row.expiresAt > f.nowMs) {
      // Every call records its decision, a re-send while the approver has not decided too.
      await deps.audit.record({
        ...eventBase(f),
        eventType: "ApprovalPending",
        decision: "escalate",
        code: null,
        stage: "approval",
        payload: {
          approval_id: row.id,
          rule: decision.rule,
          arguments_digest: f.argumentsDigest,
          expires_at: new Date(row.expiresAt).toISOString(),
          ...recordedCall(f),
          ...via(f),
        },
      });
      return { kind: "pending", approvalId: row.id, expiresAt: row.expiresAt };
    }
    if (row.status === "denied") throw await invalid("approval_denied", "the approval was denied", requested);
    if (row.status === "used")
      throw await invalid("approval_used", "the approval was already used", requested);
    if (row.expiresAt <= f.nowMs || row.status === "expired")
      throw await invalid("approval_expired", "the approval has expired", requested);
    // Valid; it is used up only when the call is about to run (`redeemApproval`), so a call
    // that fails after this point (unknown tool, post-lookup denial) does not burn it.
    return { kind: "redeemed", approvalId: row.id };
  }
  const id = newId("apr");
  const expiresAt = f.nowMs + deps.approvalTtlSeconds * 1000;
  let summary = JSON.stringify(f.args);
  if (summary.length > 4096) summary = `${summary.slice(0, 4096)}…`;
  await deps.audit.record({
    ...eventBase(f),
    eventType: "ApprovalRequested",
    decision: "escalate",
    code: null,
    payload: {
      approval_id: id,
      rule: decision.rule,
      arguments_digest: f.argumentsDigest,
      expires_at: new Date(expiresAt).toISOString(),
      ...recordedCall(f),
      ...via(f),
    },
  });
  await deps.store.insertApproval({
    id,
    tenantId: f.auth.tenantId,
    status: "pending",
    sub: f.auth.claims.sub,
    executionId: f.auth.executionId,
    securityContext: ctx.name,
    toolName: f.env.toolName,
    argumentsDigest: f.argumentsDigest,
    rule: decision.rule,
    summary,
    requestId: f.env.requestId === null ? null : String(f.env.requestId),
    createdAt: f.nowMs,
    expiresAt,
    decidedAt: null,
    decidedBy: null,
    reason: null,
    usedAt: null,
  });
  return { kind: "pending", approvalId: id, expiresAt };
}

/** Uses up the approval right before the tool runs; a lost race answers 4009 approval_used. */
export async function redeemApproval(
  deps: AuthorizeDeps,
  f: CallFacts,
  approvalId: string,
  rule: string,
): Promise<void> {
  if (await deps.store.consumeApproval(approvalId, f.nowMs)) {
    await deps.audit.record({
      ...eventBase(f),
      eventType: "ApprovalRedeemed",
      decision: "allow",
      code: null,
      stage: "approval",
      payload: { approval_id: approvalId, rule, ...via(f) },
    });
    return;
  }
  await deps.audit.record({
    ...eventBase(f),
    eventType: "ApprovalRejected",
    decision: "reject",
    code: "APPROVAL_INVALID",
    stage: "approval",
    payload: {
      approval_id: approvalId,
      reason: "approval_used",
      arguments_digest: f.argumentsDigest,
      ...via(f),
    },
  });
  throw new GatewayError("APPROVAL_INVALID", "the approval was already used", {
    reason: "approval_used",
    approval_id: approvalId,
  });
}
