import { createHash } from "node:crypto";
import { type AuditRecorder, type EventInput, SYSTEM_TENANT } from "../audit/recorder.js";
import type { Stage } from "../audit/vocabulary.js";
import type { TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { runInCallScope } from "../credentials/call-scope.js";
import { SecretSink } from "../credentials/redaction.js";
import { errorBody, GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import { canonicalJson } from "../seal/canonical.js";
import { type Envelope, envelopeFromDoc, parseBody, requestIdOf } from "../seal/envelope.js";
import { type JsonValue, LossyNumberError, type PlainJson, toPlain } from "../seal/json.js";
import type { Store } from "../store/types.js";
import type { ToolRegistry } from "../tools/registry.js";
import { AuthError, type Authenticated, type AuthenticateSettings, authenticate } from "./authenticate.js";
import { type AuthorizeDeps, authorizeCall, type CallFacts, redeemApproval } from "./authorize.js";

/**
 * The spine: every call to POST /v1/invoke runs these stages in this order (DESIGN §1, §2).
 *
 *   1. size      body over the limit → 1000/413 (the transport measured it)
 *   2. parse     strict JSON, depth, envelope shape → 1000
 *   3–7. authenticate  freshness, token, key binding, signature, replay → 1001–1006
 *   8. authorize security context decision before any lookup, rate limit → 2xxx
 *   9. approval  escalate → 202 pending, or redeem params._meta.approval_id → 4009
 *  10. lookup    unknown tool → 4004; then the constraints that need the tool (hosts, mounts)
 *  11. execute   the tool's engine (credentials are resolved inside, at the last moment)
 *  12. cap       max_response_size on the final result → 4013
 *
 * Every outcome writes an audit row before the answer leaves; a failed audit write turns the
 * answer into 5030 and nothing runs. Rejections before the token verified go to the `system`
 * tenant through the per-source rate limiter.
 */

export interface InvokeRequest {
  body: Uint8Array | null;
  /** Set by the transport when the body exceeded server.body_limit_bytes. */
  tooLarge: boolean;
  /** Client address, for the pre-authentication audit budget. */
  source: string;
}

export interface InvokeResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface PipelineDeps {
  store: Store;
  tokens: TokenAuthority;
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
  settings: AuthenticateSettings & { maxDepth: number };
  authz: AuthorizeDeps;
  tools: ToolRegistry;
}

/** `nowMs` comes from the gateway clock, so answers and audit rows tell the same time. */
function errorResponse(
  err: GatewayError,
  requestId: unknown,
  nowMs: number,
  extraHeaders: Record<string, string> = {},
): InvokeResponse {
  const headers: Record<string, string> = { ...extraHeaders };
  if (err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
  return { status: err.httpStatus, body: errorBody(err, requestId, new Date(nowMs)), headers };
}

export function argumentsDigest(args: JsonValue): string {
  return createHash("sha256").update(canonicalJson(args)).digest("hex");
}

export function createInvokePipeline(deps: PipelineDeps) {
  const { audit, log } = deps;

  /** Audits a rejection and shapes its answer; a failed audit write becomes 5030. */
  async function reject(
    err: GatewayError,
    ctx: {
      req: InvokeRequest;
      requestId: string | number | null;
      callId: string;
      env: Envelope | null;
      auth: Authenticated | null;
      stage: Stage;
    },
  ): Promise<InvokeResponse> {
    const claims = ctx.auth?.claims ?? (err instanceof AuthError ? err.claims : null);
    const event: Omit<EventInput, "tenantId"> = {
      eventType: "EnvelopeRejected",
      executionId: ctx.auth?.executionId ?? claims?.exec_id ?? claims?.jti ?? null,
      callId: ctx.callId,
      agentId: claims?.sub ?? null,
      toolName: ctx.env?.toolName || null,
      decision: "reject",
      stage: ctx.stage,
      code: err.code,
      requestId: ctx.requestId === null ? null : String(ctx.requestId),
      payload: { reason: err.details.reason, message: err.message, source: ctx.req.source },
    };
    try {
      if (claims)
        await audit.record({ ...event, tenantId: ctx.auth?.tenantId ?? claims.tenant_id ?? "default" });
      else await audit.recordPreauth(ctx.req.source, { ...event, tenantId: SYSTEM_TENANT });
    } catch (auditErr) {
      if (auditErr instanceof GatewayError) return errorResponse(auditErr, ctx.requestId, deps.clock.nowMs());
      throw auditErr;
    }
    return errorResponse(err, ctx.requestId, deps.clock.nowMs());
  }

  return async function invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const callId = newId("call");
    // Credential values resolved for this call: scrubbed from the answer and every error text.
    const sink = new SecretSink();
    const ctx = {
      req,
      callId,
      requestId: null as string | number | null,
      env: null as Envelope | null,
      auth: null as Authenticated | null,
      stage: "parse" as Stage,
    };
    try {
      // 1–2. size, strict parse, shape
      if (req.tooLarge || !req.body)
        throw new GatewayError("BODY_TOO_LARGE", "the request body is too large", {
          reason: "body_too_large",
        });
      const doc = parseBody(req.body, deps.settings.maxDepth);
      ctx.requestId = requestIdOf(doc);
      ctx.env = envelopeFromDoc(doc);

      // 3–7. freshness, token, binding, signature, replay
      ctx.stage = "authenticate";
      ctx.auth = await authenticate(ctx.env, {
        store: deps.store,
        tokens: deps.tokens,
        settings: deps.settings,
        nowMs: deps.clock.nowMs(),
      });
      const { auth, env } = ctx;
      // Converted once: policy reads the plain values; the tool gets them only if no number
      // changed in the conversion.
      const plainArgs = plainArguments(env);
      const facts: CallFacts = {
        auth,
        env,
        callId,
        argumentsDigest: argumentsDigest(env.arguments),
        args: plainArgs.value,
        nowMs: deps.clock.nowMs(),
      };

      // 8–9. authorization before any lookup (a denied caller learns nothing), rate limit,
      // approval (202 pending until an approver decides)
      ctx.stage = "authorize";
      const pre = await authorizeCall(deps.authz, facts, "pre-lookup");
      if (pre.kind === "pending") return pendingResponse(pre.approvalId, pre.expiresAt, env.requestId);
      const base = {
        tenantId: auth.tenantId,
        executionId: auth.executionId,
        callId,
        agentId: auth.claims.sub,
        toolName: env.toolName,
        requestId: env.requestId === null ? null : String(env.requestId),
      };
      await audit.record({
        ...base,
        eventType: "ToolCallAuthorized",
        decision: "allow",
        stage: "authorize",
        code: null,
        payload: {
          rule: pre.rule,
          arguments_digest: facts.argumentsDigest,
          binding: auth.binding,
          approval_id: pre.approvalId,
        },
      });

      // 10. lookup, then the constraints that need the tool's registration
      ctx.stage = "lookup";
      const tool = await deps.tools.lookup(auth.tenantId, env.toolName);
      if (!tool)
        throw new GatewayError("TOOL_NOT_FOUND", `no tool named ${JSON.stringify(env.toolName)}`, {
          reason: "tool_not_found",
        });
      ctx.stage = "authorize";
      const info = tool.infoFor ? await tool.infoFor(facts.args, auth.tenantId) : tool.info;
      const post = await authorizeCall(deps.authz, facts, "post-lookup", info, {
        context: pre.context,
        approvalId: pre.approvalId,
      });
      if (post.kind === "pending") return pendingResponse(post.approvalId, post.expiresAt, env.requestId);

      // 11. execute; 12. size cap on the final result
      if (plainArgs.lossy)
        throw new GatewayError(
          "INVALID_ARGUMENTS",
          "an argument number cannot be passed on without changing its value",
          { reason: "lossy_number" },
        );
      const strictArgs = plainArgs.value;
      if (post.approvalId) await redeemApproval(deps.authz, facts, post.approvalId, post.rule);
      ctx.stage = "execute";
      const started = deps.clock.nowMs();
      const scope = {
        tenantId: auth.tenantId,
        executionId: auth.executionId,
        callId,
        agentId: auth.claims.sub,
        toolName: env.toolName,
        sink,
      };
      const out = await runInCallScope(scope, () =>
        tool.run({
          tenantId: auth.tenantId,
          executionId: auth.executionId,
          callId,
          sub: auth.claims.sub,
          arguments: strictArgs,
          signal: AbortSignal.timeout(300_000),
          secrets: sink,
        }),
      );
      const result = sink.scrub(out.result);
      const resultText = JSON.stringify(result);
      const bytes = Buffer.byteLength(resultText);
      const cap = post.capability.max_response_size;
      const overCap = cap !== null && cap !== undefined && bytes > cap;
      // The tool ran either way: its completion is recorded before the cap decides the answer.
      const eventId = await audit.record({
        ...base,
        eventType: "ToolCallCompleted",
        decision: "allow",
        stage: "execute",
        code: null,
        payload: {
          definition_hash: tool.definitionHash,
          duration_ms: deps.clock.nowMs() - started,
          bytes,
          is_error: out.isError,
          over_max_response_size: overCap,
        },
      });
      if (overCap) {
        ctx.stage = "cap";
        throw new GatewayError(
          "RESPONSE_TOO_LARGE",
          `the tool result (${bytes} bytes) exceeds max_response_size (${cap})`,
          { reason: "response_too_large", bytes, max_response_size: cap },
        );
      }
      return {
        status: 200,
        headers: {},
        body: successBody(result, out.isError, resultText, env.requestId, callId, eventId),
      };
    } catch (caught) {
      // An upstream may echo the credential into an error; nothing below may carry it.
      const err = caught instanceof GatewayError ? sink.scrubError(caught) : caught;
      if (err instanceof GatewayError) {
        // Authorization denials were recorded (PolicyDenied) where they were decided.
        if (ctx.stage === "authorize" && isPolicyCode(err))
          return errorResponse(err, ctx.requestId, deps.clock.nowMs());
        return await reject(err, ctx);
      }
      log.error("unclassified error in the call pipeline", {
        call_id: callId,
        error:
          err instanceof Error ? { name: err.name, message: sink.scrub(err.message) } : "non-error thrown",
      });
      const internal = new GatewayError("INTERNAL", `internal error (request id ${callId})`, {
        reason: "internal",
      });
      return await reject(internal, ctx);
    }
  };
}

function isPolicyCode(err: GatewayError): boolean {
  return (err.sealCode >= 2000 && err.sealCode < 3000) || err.code === "APPROVAL_INVALID";
}

/**
 * The arguments as plain JSON, and whether a number changed on the way (e.g. beyond 2^53):
 * acting on a value other than the signed one is refused before the tool runs.
 */
function plainArguments(env: Envelope): { value: { [key: string]: PlainJson }; lossy: boolean } {
  try {
    return {
      value: toPlain(env.arguments, { rejectLossyNumbers: true }) as { [key: string]: PlainJson },
      lossy: false,
    };
  } catch (err) {
    if (!(err instanceof LossyNumberError)) throw err;
    return { value: toPlain(env.arguments) as { [key: string]: PlainJson }, lossy: true };
  }
}

function pendingResponse(
  approvalId: string,
  expiresAt: number,
  requestId: string | number | null,
): InvokeResponse {
  return {
    status: 202,
    headers: {},
    body: {
      protocol: "seal/v1",
      status: "pending",
      approval_id: approvalId,
      request_id: requestId,
      expires_at: new Date(expiresAt).toISOString(),
    },
  };
}

function successBody(
  result: PlainJson,
  isError: boolean,
  resultText: string,
  requestId: string | number | null,
  callId: string,
  eventId: string,
) {
  return {
    protocol: "seal/v1",
    status: "success",
    result,
    payload: {
      jsonrpc: "2.0",
      id: requestId,
      result: { content: [{ type: "text", text: resultText }], structuredContent: result, isError },
    },
    request_id: requestId,
    call_id: callId,
    event_id: eventId,
  };
}
