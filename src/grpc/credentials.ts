import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import { SYSTEM_TENANT } from "../audit/recorder.js";
import type { OperatorIdentity } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import type { ServiceDeps } from "../services/context.js";
import { grpcCode } from "./status.js";

/**
 * Who is calling, read from the call's metadata (DESIGN §7, gRPC): `authorization: Bearer
 * <JWT>` and `x-seal-envelope` (or `x-seal-envelope-bin`, the same JSON as raw bytes). A key
 * sent twice is refused: which value to trust would be a guess.
 */

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/-]+=*)$/;

function single(md: Metadata, key: string): string | Buffer | undefined {
  const values = md.get(key);
  if (values.length > 1)
    throw new GatewayError("UNAUTHENTICATED", `metadata ${key} was sent more than once`, {
      reason: "duplicate_credentials",
    });
  return values[0];
}

/** The `authorization` metadata value, or undefined. */
export function authorizationOf(md: Metadata): string | undefined {
  const v = single(md, "authorization");
  return v === undefined ? undefined : String(v);
}

/** The envelope bytes from `x-seal-envelope` or `x-seal-envelope-bin`; both at once is refused. */
export function envelopeOf(md: Metadata): Uint8Array | undefined {
  const text = single(md, "x-seal-envelope");
  const bin = single(md, "x-seal-envelope-bin");
  if (text !== undefined && bin !== undefined)
    throw new GatewayError("MALFORMED_ENVELOPE", "send the envelope once, as text or as -bin", {
      reason: "duplicate_envelope",
    });
  const v = text ?? bin;
  if (v === undefined) return undefined;
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}

/** The operator token's identity; UNAUTHENTICATED when missing or not a valid operator token. */
export async function operatorOf(deps: ServiceDeps, authorization: string | undefined) {
  const m = BEARER.exec(authorization ?? "");
  if (!m?.[1])
    throw new GatewayError("UNAUTHENTICATED", "an operator bearer token is required", {
      reason: "missing_token",
    });
  const r = await deps.tokens.verifyOperatorToken(m[1], Math.floor(deps.clock.nowMs() / 1000));
  if (!r.ok) throw new GatewayError("UNAUTHENTICATED", r.message, { reason: r.reason });
  return r.identity;
}

/** The peer's address without its port ("ipv4:1.2.3.4:5" and "[::1]:5" forms alike). */
export function peerAddress(call: Pick<ServerUnaryCall<unknown, unknown>, "getPeer">): string {
  const peer = call.getPeer().replace(/^ipv[46]:/, "");
  const m = /^\[(.*)\]:\d+$/.exec(peer) ?? /^([^:]*):\d+$/.exec(peer);
  return m?.[1] || peer || "unknown";
}

/**
 * A refused control RPC leaves a row like a refused HTTP control request: in the operator's
 * tenant once the token verified, else in `system` through the per-address budget.
 */
export async function auditControlRefusal(
  deps: ServiceDeps,
  err: GatewayError,
  rpc: string,
  address: string,
  actor: OperatorIdentity | undefined,
): Promise<void> {
  const event = {
    eventType: "ControlRequestRejected" as const,
    executionId: null,
    callId: null,
    agentId: actor?.sub ?? null,
    toolName: null,
    decision: "reject" as const,
    stage: "control" as const,
    code: err.code,
    requestId: null,
    payload: { method: "grpc", route: rpc, reason: err.details.reason, status: grpcCode(err) },
  };
  try {
    if (actor)
      await deps.audit.record({ ...event, tenantId: actor.tenant === "*" ? SYSTEM_TENANT : actor.tenant });
    else await deps.audit.recordPreauth(address, { ...event, tenantId: SYSTEM_TENANT });
  } catch (auditErr) {
    deps.log.warn("could not audit a refused gRPC control call", { error: auditErr, rpc });
  }
}
