import { createHash } from "node:crypto";
import { type AuditRecorder, SYSTEM_TENANT } from "../audit/recorder.js";
import type { TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { GatewayError, errorBody } from "../errors.js";
import { newId } from "../ids.js";
import type { Logger } from "../log/logger.js";
import { authorize } from "../policy/authorize.js";
import { canonicalJson } from "../seal/canonical.js";
import { type Envelope, envelopeFromDoc, parseBody, requestIdOf } from "../seal/envelope.js";
import type { JsonValue } from "../seal/json.js";
import type { Store } from "../store/types.js";
import { AuthError, type AuthenticateSettings, type Authenticated, authenticate } from "./authenticate.js";

/**
 * The spine: every call to POST /v1/invoke runs these stages in this order (DESIGN §1, §2).
 *
 *   1. size      body over the limit → 1000/413 (the transport measured it)
 *   2. parse     strict JSON, depth, envelope shape → 1000
 *   3–7. authenticate  freshness, token, key binding, signature, replay → 1001–1006
 *   8. authorize security context decision → 2xxx (recorded: PolicyDenied / ToolCallAuthorized)
 *   9. approval  escalate → 202 pending                      (policy issue)
 *  10. lookup, credentials, execute, redact/slice/cap        (engine issues) → 4xxx
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
}

function errorResponse(err: GatewayError, requestId: unknown, extraHeaders: Record<string, string> = {}): InvokeResponse {
  const headers: Record<string, string> = { ...extraHeaders };
  if (err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
  return { status: err.httpStatus, body: errorBody(err, requestId), headers };
}

export function argumentsDigest(args: JsonValue): string {
  return createHash("sha256").update(canonicalJson(args)).digest("hex");
}

export function createInvokePipeline(deps: PipelineDeps) {
  const { audit, log } = deps;

  /** Audits a rejection and shapes its answer; a failed audit write becomes 5030. */
  async function reject(err: GatewayError, ctx: { req: InvokeRequest; requestId: string | number | null; callId: string; env: Envelope | null; auth: Authenticated | null; stage: string }): Promise<InvokeResponse> {
    const claims = ctx.auth?.claims ?? (err instanceof AuthError ? err.claims : null);
    const event = {
      eventType: "EnvelopeRejected",
      executionId: ctx.auth?.executionId ?? claims?.exec_id ?? claims?.jti ?? null,
      callId: ctx.callId,
      agentId: claims?.sub ?? null,
      toolName: ctx.env?.toolName || null,
      decision: "reject",
      stage: ctx.stage,
      code: err.sealCode,
      requestId: ctx.requestId === null ? null : String(ctx.requestId),
      payload: { reason: err.details.reason, message: err.message, source: ctx.req.source },
    };
    try {
      if (claims) await audit.record({ ...event, tenantId: ctx.auth?.tenantId ?? claims.tenant_id ?? "default" });
      else await audit.recordPreauth(ctx.req.source, { ...event, tenantId: SYSTEM_TENANT });
    } catch (auditErr) {
      if (auditErr instanceof GatewayError) return errorResponse(auditErr, ctx.requestId);
      throw auditErr;
    }
    return errorResponse(err, ctx.requestId);
  }

  return async function invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const callId = newId("call");
    const ctx = { req, callId, requestId: null as string | number | null, env: null as Envelope | null, auth: null as Authenticated | null, stage: "parse" };
    try {
      // 1–2. size, strict parse, shape
      if (req.tooLarge || !req.body) throw new GatewayError("BODY_TOO_LARGE", "the request body is too large", { reason: "body_too_large" });
      const doc = parseBody(req.body, deps.settings.maxDepth);
      ctx.requestId = requestIdOf(doc);
      ctx.env = envelopeFromDoc(doc);

      // 3–7. freshness, token, binding, signature, replay
      ctx.stage = "authenticate";
      ctx.auth = await authenticate(ctx.env, { store: deps.store, tokens: deps.tokens, settings: deps.settings, nowMs: deps.clock.nowMs() });
      const { auth, env } = ctx;

      // 8. authorization, decided before any lookup so a denied caller learns nothing
      ctx.stage = "authorize";
      const decision = await authorize(deps.store, { tenantId: auth.tenantId, contextName: auth.claims.scp, toolName: env.toolName, sub: auth.claims.sub });
      const common = {
        tenantId: auth.tenantId,
        executionId: auth.executionId,
        callId,
        agentId: auth.claims.sub,
        toolName: env.toolName,
        stage: "authorize",
        requestId: env.requestId === null ? null : String(env.requestId),
      };
      const digest = argumentsDigest(env.arguments);
      if (decision.decision === "reject") {
        const err = new GatewayError(decision.code, `call denied by security context ${JSON.stringify(auth.claims.scp)}`, { reason: decision.reason, rule: decision.rule });
        await audit.record({ ...common, eventType: "PolicyDenied", decision: "reject", code: err.sealCode, payload: { rule: decision.rule, reason: decision.reason, arguments_digest: digest, binding: auth.binding } });
        return errorResponse(err, env.requestId);
      }
      await audit.record({ ...common, eventType: "ToolCallAuthorized", decision: decision.decision, code: null, payload: { rule: decision.rule, arguments_digest: digest, binding: auth.binding } });

      // 9–10. approvals, lookup and execution come with the policy and engine stages.
      ctx.stage = "lookup";
      throw new GatewayError("TOOL_NOT_FOUND", `no tool named ${JSON.stringify(env.toolName)}`, { reason: "tool_not_found" });
    } catch (err) {
      if (err instanceof GatewayError) return await reject(err, ctx);
      log.error("unclassified error in the call pipeline", { call_id: callId, error: err });
      const internal = new GatewayError("INTERNAL", `internal error (request id ${callId})`, { reason: "internal" });
      return await reject(internal, ctx);
    }
  };
}
