import { createHash, timingSafeEqual } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { AuditRecorder } from "../audit/recorder.js";
import type { Clock } from "../clock.js";
import { errorBody, GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { type Envelope, envelopeFromDoc, requestIdOf } from "../seal/envelope.js";
import { isJsonObject, type JsonObject } from "../seal/json.js";
import { jsonEqual } from "../seal/json-equal.js";
import type { BearerAgent } from "./agent.js";
import type { EnvelopeRunner, SealErrorObject } from "./envelope-runner.js";
import { errorResult, outcomeResult } from "./results.js";

/**
 * MCP `tools/call` on POST /mcp (DESIGN §7): the call carries its SEAL envelope in
 * `params._meta["seal/envelope"]`; the envelope must say the same thing as the MCP request —
 * method, tool name, arguments (JSON-equal) and `_meta.approval_id` — and be under the same
 * security token as the Bearer header. Then it runs the pipeline exactly as /v1/invoke would.
 * The JSON-RPC id is not compared: MCP clients number their own requests.
 */

export const ENVELOPE_META_KEY = "seal/envelope";

export interface McpCallDeps {
  audit: AuditRecorder;
  clock: Clock;
  run: EnvelopeRunner;
}

/** `message` is the JSON-RPC request as the strict parser read it (number literals kept). */
export async function callWithEnvelope(
  deps: McpCallDeps,
  agent: BearerAgent,
  message: JsonObject,
  source: string,
): Promise<CallToolResult> {
  const params = isJsonObject(message.params) ? message.params : Object.create(null);
  const meta = isJsonObject(params._meta) ? params._meta : null;
  const doc = meta?.[ENVELOPE_META_KEY];
  const toolName = typeof params.name === "string" ? params.name.slice(0, 256) : null;
  if (doc === undefined)
    return await refuse(
      deps,
      agent,
      source,
      toolName,
      null,
      "missing_envelope",
      `tools/call needs its SEAL envelope in params._meta["${ENVELOPE_META_KEY}"]`,
    );
  let env: Envelope;
  try {
    env = envelopeFromDoc(doc);
  } catch (err) {
    // A malformed envelope is refused (and audited) by the pipeline, as on /v1/invoke.
    if (err instanceof GatewayError) return outcomeResult(await deps.run(doc, source));
    throw err;
  }
  const mismatch = compare(env, agent, params, meta);
  if (mismatch)
    return await refuse(deps, agent, source, toolName, requestIdOf(doc), mismatch.reason, mismatch.message);
  return outcomeResult(await deps.run(doc, source));
}

function compare(
  env: Envelope,
  agent: BearerAgent,
  params: JsonObject,
  meta: JsonObject | null,
): { reason: string; message: string } | null {
  // Same token, not merely the same agent: the Bearer token is what listing and this request's
  // authentication were decided on; a second identity inside one request is refused.
  if (!sameSecret(env.securityToken, agent.token))
    return { reason: "token_mismatch", message: "the envelope's security_token is not the Bearer token" };
  if (params.name !== env.toolName)
    return { reason: "name_mismatch", message: "params.name differs from the signed tool name" };
  const args = params.arguments ?? Object.create(null);
  if (!jsonEqual(args, env.arguments))
    return { reason: "arguments_mismatch", message: "params.arguments differ from the signed arguments" };
  if (!jsonEqual(meta?.approval_id, env.meta?.approval_id))
    return { reason: "approval_id_mismatch", message: "_meta.approval_id differs from the signed one" };
  return null;
}

function sameSecret(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db);
}

/** A refusal before the pipeline: 1000, audited like the pipeline's rejections (no audit, no answer). */
async function refuse(
  deps: McpCallDeps,
  agent: BearerAgent,
  source: string,
  toolName: string | null,
  requestId: string | number | null,
  reason: string,
  message: string,
): Promise<CallToolResult> {
  const err = new GatewayError("MALFORMED_ENVELOPE", message, { reason });
  try {
    await deps.audit.record({
      eventType: "EnvelopeRejected",
      tenantId: agent.tenantId,
      executionId: agent.claims.exec_id ?? agent.claims.jti,
      callId: newId("call"),
      agentId: agent.claims.sub,
      toolName,
      decision: "reject",
      stage: "parse",
      code: err.code,
      requestId: requestId === null ? null : String(requestId),
      payload: { reason, message, source, transport: "mcp" },
    });
  } catch (auditErr) {
    if (auditErr instanceof GatewayError) return sealError(auditErr, requestId, deps.clock);
    throw auditErr;
  }
  return sealError(err, requestId, deps.clock);
}

function sealError(err: GatewayError, requestId: unknown, clock: Clock): CallToolResult {
  const body = errorBody(err, requestId, new Date(clock.nowMs()));
  return errorResult(body.error as SealErrorObject);
}
