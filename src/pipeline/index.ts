import { SecretSink } from "../credentials/redaction.js";
import { GatewayError } from "../errors.js";
import type { JsonValue } from "../seal/json.js";
import { type AdmitStage, authenticateSigner, checkShape, createAdmission, type RawBody } from "./admit.js";
import {
  authorizeAfterLookup,
  authorizeBeforeLookup,
  checkArguments,
  lookupTool,
  redeem,
  type StageFn,
} from "./authorize-stages.js";
import {
  type AdmitResult,
  type AdmittedCall,
  type CallOutcome,
  type CallSource,
  errorOutcome,
  type PipelineDeps,
  type RunState,
  settleRowsBefore,
} from "./call.js";
import { capResponse, execute } from "./execute.js";
import { internalError, recordRejection } from "./reject.js";
import { callEvent, runStage, type StageName } from "./run-stage.js";

/**
 * The spine: every call, whatever carried it (HTTP /v1/invoke, MCP tools/call, gRPC), runs
 * these stages in this order (DESIGN §2, §3). Each stage runs through `runStage`, which names
 * it for the audit of a failure and times it for the observer.
 *
 * Every outcome writes an audit row before the answer leaves; a failed audit write turns the
 * answer into 5030 and nothing runs. Rejections before the token verified go to the `system`
 * tenant through the per-source rate limiter.
 */

export interface RunStage {
  name: StageName;
  fn: StageFn;
}

/** `admitBody` runs `parse` first: 1. body size → 1000/413, 2. strict JSON and depth → 1000. */
export function admissionStages(deps: PipelineDeps): readonly AdmitStage[] {
  return [
    { name: "shape", fn: checkShape() }, // 2. envelope shape, protocol, field types, tools/call → 1000
    { name: "authenticate", fn: authenticateSigner(deps) }, // 3–7. freshness, token, binding, signature, replay → 1001–1006
  ];
}

export function runStages(deps: PipelineDeps): readonly RunStage[] {
  return [
    { name: "authorize", fn: authorizeBeforeLookup(deps) }, // 8–9. context decision on name + arguments, rate limit, approval → 2xxx / pending
    { name: "lookup", fn: lookupTool(deps) }, // 10. unknown (but allowed) tool → 4004
    { name: "authorize-after-lookup", fn: authorizeAfterLookup(deps) }, // 10. constraints that need the tool (hosts, mounts) → 2xxx / pending
    { name: "arguments", fn: checkArguments() }, // a number that would change value on the way to the tool → 4000
    { name: "redeem", fn: redeem(deps) }, // the approval is used up only now, right before the run → 4009
    { name: "execute", fn: execute(deps) }, // 11. the tool's engine under its own timeout → 4xxx; ToolCallCompleted
    { name: "cap", fn: capResponse() }, // 12. max_response_size on the final result → 4013; else success
  ];
}

/** Authorization denials were recorded (PolicyDenied, ApprovalRejected) where they were decided. */
function isPolicyCode(err: GatewayError): boolean {
  return (err.sealCode >= 2000 && err.sealCode < 3000) || err.code === "APPROVAL_INVALID";
}

export function createCallPipeline(deps: PipelineDeps) {
  const { log, observer } = deps;
  const { admit, admitBody, admitOnBehalf } = createAdmission(deps, admissionStages(deps));
  const stages = runStages(deps);

  /** Authorizes, looks up and runs an admitted call; every ending is a `CallOutcome`. */
  async function run(call: AdmittedCall): Promise<CallOutcome> {
    const s: RunState = { call, callId: call.callId, sink: new SecretSink(), stage: "authorize" };
    const outcome = await runIn(s);
    observer?.onCall?.(callEvent(outcome, s.stage, call.source.transport, s.tool?.info.kind ?? null));
    return outcome;
  }

  async function runIn(s: RunState): Promise<CallOutcome> {
    const { call } = s;
    try {
      for (const stage of stages) {
        const outcome = await runStage(s, stage.name, () => stage.fn(s), observer);
        if (!outcome) continue;
        // No answer leaves before the call's rows committed.
        const failure = await settleRowsBefore(s);
        if (failure) throw failure;
        return outcome;
      }
      throw new Error("the call stages ended without an outcome");
    } catch (thrown) {
      // A failed row before the run is the call's answer (5030), whatever stopped it later.
      const caught = (await settleRowsBefore(s)) ?? thrown;
      // An upstream may echo the credential into an error; nothing below may carry it.
      const err = caught instanceof GatewayError ? s.sink.scrubError(caught) : caught;
      const facts = { ...call, requestId: call.env.requestId, stage: s.stage };
      if (err instanceof GatewayError) {
        if (s.stage === "authorize" && isPolicyCode(err))
          return errorOutcome(err, call.env.requestId, call.callId, deps.clock.nowMs());
        return await recordRejection(deps, err, facts);
      }
      log.error("unclassified error in the call pipeline", {
        call_id: call.callId,
        error:
          err instanceof Error ? { name: err.name, message: s.sink.scrub(err.message) } : "non-error thrown",
      });
      return await recordRejection(deps, internalError(call.callId), facts);
    }
  }

  /** Admission and run in one: what a transport without its own envelope handling calls. */
  async function call(doc: JsonValue, source: CallSource): Promise<CallOutcome> {
    const admitted = await admit(doc, source);
    return admitted.ok ? await run(admitted.call) : admitted.outcome;
  }

  /** The same, from the raw body bytes (size and strict parse first). */
  async function callBody(raw: RawBody, source: CallSource): Promise<CallOutcome> {
    const admitted: AdmitResult = await admitBody(raw, source);
    return admitted.ok ? await run(admitted.call) : admitted.outcome;
  }

  return { admit, admitBody, admitOnBehalf, run, call, callBody };
}

export type CallPipeline = ReturnType<typeof createCallPipeline>;
