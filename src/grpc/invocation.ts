import {
  Metadata,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { satisfies } from "../auth/roles.js";
import type { OperatorIdentity } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { admitAgentBearer, agentActor, authFail } from "../pipeline/agent-token.js";
import type { AdmitResult, AdmittedCall, CallOutcome, CallSource } from "../pipeline/call.js";
import type { CallPipeline } from "../pipeline/index.js";
import { orchestratorClaims } from "../pipeline/on-behalf.js";
import { recordRejection } from "../pipeline/reject.js";
import { jsonEqual } from "../seal/json-equal.js";
import type { ServiceContext, ServiceDeps } from "../services/context.js";
import { listToolsForOrchestrator, visibleToolsFor } from "../services/tools.js";
import type { RegisteredTool } from "../tools/registry.js";
import type { Tracing } from "../tracing/types.js";
import { authorizationOf, envelopeOf, operatorOf, peerAddress } from "./credentials.js";
import { Undecodable } from "./decode.js";
import { PACKAGE } from "./proto.js";
import {
  canonicalArguments,
  type InvocationRpc,
  type RequestedCall,
  requestedCall,
  responseOf,
} from "./requests.js";
import { GrpcRefusal, serviceError, toServiceError } from "./status.js";
import type { GrpcSettings } from "./workflows.js";

/**
 * GatewayInvocationService: every call runs the whole pipeline of POST /v1/invoke, carried by
 * either credential (DESIGN §7):
 *   - `x-seal-envelope`: the agent's envelope, admitted exactly as /v1/invoke admits a body; its
 *     tool and arguments must then equal the request's, else INVALID_ARGUMENT and nothing runs;
 *   - `authorization: Bearer <operator JWT>` with role `orchestrator`: the call runs for the
 *     session named by `execution_id` in the token's tenant, judged by that session's context.
 * Every refusal is an audit row (src/pipeline/reject.ts), every answer maps through the table.
 */

export interface InvocationDeps {
  services: ServiceDeps;
  calls: CallPipeline;
  settings: GrpcSettings & { maxMetadataBytes: number };
  /** Server spans around the invocation RPCs (null or absent: tracing is off). */
  tracing?: Pick<Tracing, "inbound"> | null;
}

/** One text metadata value; repeated or binary values count as absent (W3C: invalid). */
function metadataText(call: Call, key: string): string | undefined {
  const values = call.metadata.get(key);
  return values.length === 1 && typeof values[0] === "string" ? values[0] : undefined;
}

type Call = ServerUnaryCall<unknown, unknown>;

/** The call's lifetime: its deadline, or the client going away, aborts the tool run. */
function callSignal(call: Call): AbortSignal {
  const ctl = new AbortController();
  call.on("cancelled", () => ctl.abort());
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (Number.isFinite(at)) {
    const timer = setTimeout(() => ctl.abort(), Math.max(0, at - Date.now()));
    timer.unref();
    ctl.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    call.on("finish", () => clearTimeout(timer));
  }
  return ctl.signal;
}

function pendingError(o: Extract<CallOutcome, { status: "pending" }>) {
  const md = new Metadata();
  md.set("seal-status", "pending");
  md.set("seal-approval-id", o.approvalId);
  md.set("seal-approval-expires-at", new Date(o.expiresAt).toISOString());
  md.set("seal-call-id", o.callId);
  return { code: status.FAILED_PRECONDITION, details: "the call waits for an approval", metadata: md };
}

function mismatch(reason: string, message: string) {
  return new GatewayError("MALFORMED_ENVELOPE", message, { reason });
}

/** What the admitted envelope says against what the request says; null when they agree. */
function compare(rpc: InvocationRpc, admitted: AdmittedCall, want: RequestedCall): GatewayError | null {
  const { env, auth } = admitted;
  if (want.tenantId !== "" && want.tenantId !== auth.tenantId)
    return new GatewayError("FORBIDDEN", "tenant_id is not the caller's tenant", { reason: "wrong_tenant" });
  if (env.toolName !== want.toolName)
    return mismatch("name_mismatch", "the request's tool differs from the signed tool name");
  if (!jsonEqual(canonicalArguments(rpc, env.arguments), want.arguments))
    return mismatch("arguments_mismatch", "the request's arguments differ from the signed arguments");
  if (want.executionId !== "" && want.executionId !== auth.executionId)
    return mismatch("execution_id_mismatch", "execution_id is not the envelope's execution");
  const signedUser = env.meta?.["seal/user_token"];
  if ((want.userToken ?? undefined) !== (typeof signedUser === "string" ? signedUser : undefined))
    return mismatch("user_token_mismatch", "zaru_user_token differs from the signed seal/user_token");
  return null;
}

export function invocationService(deps: InvocationDeps): UntypedServiceImplementation {
  const { services, calls, settings } = deps;
  const name = (m: string) => `/${PACKAGE}.GatewayInvocationService/${m}`;
  const now = () => services.clock.nowMs();

  /** A refusal before the pipeline ran: audited as the pipeline's are, then answered. */
  async function refuse(err: GatewayError, source: CallSource, rpc: string, who?: OperatorIdentity) {
    const claimed = who
      ? authFail(err.code, err.details.reason, err.message, orchestratorClaims(who, Math.floor(now() / 1000)))
      : err;
    const out = await recordRejection(services, claimed, {
      source: { address: source.address, transport: "grpc", ...(who ? { orchestrator: who.sub } : {}) },
      callId: null,
      requestId: null,
      stage: "parse",
      surface: rpc,
    });
    return out.error;
  }

  /** Refuses an admitted call (its signer known): audited in the signer's tenant. */
  async function refuseAdmitted(err: GatewayError, admitted: AdmittedCall) {
    const out = await recordRejection(services, err, {
      source: admitted.source,
      callId: admitted.callId,
      requestId: admitted.env.requestId,
      env: admitted.env,
      auth: admitted.auth,
      stage: "parse",
    });
    return out.error;
  }

  async function answer(rpc: InvocationRpc, admitted: AdmittedCall) {
    const o = await calls.run(admitted);
    if (o.status === "success") return responseOf(rpc, o.result, o.resultText);
    if (o.status === "pending") throw new GrpcRefusal(pendingError(o));
    const e = serviceError(o.error, o.requestId, o.at);
    e.metadata?.set("seal-call-id", o.callId);
    throw new GrpcRefusal(e);
  }

  async function viaEnvelope(rpc: InvocationRpc, call: Call, bytes: Uint8Array, source: CallSource) {
    const admitted: AdmitResult = await calls.admitBody(
      { body: bytes, tooLarge: bytes.byteLength > settings.maxMetadataBytes },
      source,
    );
    if (!admitted.ok)
      throw new GrpcRefusal(
        serviceError(admitted.outcome.error, admitted.outcome.requestId, admitted.outcome.at),
      );
    let refusal: GatewayError | null;
    let want: RequestedCall | undefined;
    try {
      if (call.request instanceof Undecodable) throw call.request.error(settings.maxMessageBytes);
      want = requestedCall(rpc, call.request as Record<string, unknown>, settings.maxDepth);
      refusal = compare(rpc, admitted.call, want);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      refusal = err;
    }
    if (refusal)
      throw new GrpcRefusal(
        serviceError(await refuseAdmitted(refusal, admitted.call), admitted.call.env.requestId, now()),
      );
    return await answer(rpc, admitted.call);
  }

  async function viaOrchestrator(
    rpc: InvocationRpc,
    call: Call,
    authorization: string | undefined,
    source: CallSource,
  ) {
    let who: OperatorIdentity | undefined;
    let want: RequestedCall;
    try {
      who = await operatorOf(services, authorization);
      // The pipeline checks the role again; checked first here so bad input never outranks it.
      if (!satisfies(who.role, "orchestrator"))
        throw new GatewayError("FORBIDDEN", `role ${who.role} may not invoke tools`, {
          reason: "wrong_role",
        });
      if (call.request instanceof Undecodable) throw call.request.error(settings.maxMessageBytes);
      want = requestedCall(rpc, call.request as Record<string, unknown>, settings.maxDepth);
      if (want.tenantId !== "" && want.tenantId !== who.tenant)
        throw new GatewayError("FORBIDDEN", "tenant_id is not the token's tenant", {
          reason: "wrong_tenant",
        });
      if (want.executionId === "")
        throw new GatewayError("INVALID_ARGUMENTS", "execution_id names the session to act for", {
          reason: "invalid_request",
          problems: [{ path: "execution_id", message: "required" }],
        });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      throw new GrpcRefusal(serviceError(await refuse(err, source, name(rpc), who), null, now()));
    }
    const admitted = await calls.admitOnBehalf(
      {
        orchestrator: who,
        executionId: want.executionId,
        toolName: want.toolName,
        arguments: want.arguments,
        ...(want.userToken !== undefined ? { userToken: want.userToken } : {}),
      },
      source,
    );
    if (!admitted.ok)
      throw new GrpcRefusal(
        serviceError(admitted.outcome.error, admitted.outcome.requestId, admitted.outcome.at),
      );
    return await answer(rpc, admitted.call);
  }

  const untraced = (rpc: InvocationRpc) => async (call: Call, callback: sendUnaryData<unknown>) => {
    const source: CallSource = { address: peerAddress(call), transport: "grpc", signal: callSignal(call) };
    try {
      let envelope: Uint8Array | undefined;
      let authorization: string | undefined;
      try {
        envelope = envelopeOf(call.metadata);
        authorization = authorizationOf(call.metadata);
        if (envelope !== undefined && authorization !== undefined)
          throw new GatewayError(
            "MALFORMED_ENVELOPE",
            "send either x-seal-envelope or authorization, not both",
            {
              reason: "two_credentials",
            },
          );
        if (envelope === undefined && authorization === undefined)
          throw new GatewayError(
            "UNAUTHENTICATED",
            "a SEAL envelope (x-seal-envelope) or an orchestrator token is required",
            {
              reason: "missing_credentials",
            },
          );
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        throw new GrpcRefusal(serviceError(await refuse(err, source, name(rpc)), null, now()));
      }
      callback(
        null,
        envelope !== undefined
          ? await viaEnvelope(rpc, call, envelope, source)
          : await viaOrchestrator(rpc, call, authorization, source),
      );
    } catch (err) {
      if (err instanceof GrpcRefusal) callback(err.answer);
      else callback(toServiceError(err, services.log, name(rpc), now()));
    }
  };

  /** With tracing on, each invocation RPC is one server span (docs/operations.md "Traces"). */
  const invoke = (rpc: InvocationRpc) => {
    const handle = untraced(rpc);
    const { tracing } = deps;
    if (!tracing) return handle;
    const method = name(rpc).slice(1);
    return (call: Call, callback: sendUnaryData<unknown>) =>
      tracing.inbound(
        { name: method, transport: "grpc", rpcMethod: method, header: (key) => metadataText(call, key) },
        () => handle(call, callback),
      );
  };

  /** ListTools: the agent's own tools (its token as Bearer, like GET /v1/tools), or an orchestrator's tenant. */
  const listTools = async (call: Call, callback: sendUnaryData<unknown>) => {
    const rpc = name("ListTools");
    const address = peerAddress(call);
    try {
      let authorization: string | undefined;
      try {
        authorization = authorizationOf(call.metadata);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        throw new GrpcRefusal(serviceError(await refuse(err, { address }, rpc), null, now()));
      }
      const operator = await operatorOf(services, authorization).catch(() => undefined);
      let ctx: ServiceContext;
      if (operator) {
        ctx = { actor: { kind: "operator", ...operator }, requestId: newId("req"), deps: services };
      } else {
        const admitted = await admitAgentBearer(services, authorization, {
          address,
          transport: "grpc",
          surface: rpc,
        });
        if (!admitted.ok) throw new GrpcRefusal(serviceError(admitted.error, null, now()));
        ctx = { actor: agentActor(admitted.agent), requestId: newId("req"), deps: services };
      }
      if (call.request instanceof Undecodable) {
        const err = call.request.error(settings.maxMessageBytes);
        throw new GrpcRefusal(serviceError(await refuse(err, { address }, rpc, operator), null, now()));
      }
      let tools: RegisteredTool[];
      try {
        tools = operator ? await listToolsForOrchestrator({ ctx }) : await visibleToolsFor(ctx);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        throw new GrpcRefusal(serviceError(await refuse(err, { address }, rpc, operator), null, now()));
      }
      callback(null, {
        tools: tools.map((t) => ({
          name: t.name,
          description: t.description,
          kind: t.info.kind,
          input_schema_json: JSON.stringify(t.inputSchema),
          tags: [],
          category: "",
        })),
      });
    } catch (err) {
      if (err instanceof GrpcRefusal) callback(err.answer);
      else callback(toServiceError(err, services.log, rpc, now()));
    }
  };

  return {
    InvokeWorkflow: invoke("InvokeWorkflow"),
    InvokeCli: invoke("InvokeCli"),
    ExploreApi: invoke("ExploreApi"),
    ListTools: listTools,
  };
}
