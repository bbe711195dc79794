import { hash } from "node:crypto";
import { GatewayError } from "../errors.js";
import type { RegisteredTool, ToolResult } from "../tools/registry.js";
import { callEventBase, type StageFn } from "./authorize-stages.js";
import { need, type PipelineDeps, type RunState, settleRowsBefore, via } from "./call.js";

/**
 * The last stages: run the tool's engine under its own timeout (credentials are resolved
 * inside, at the last moment), record its completion, then hold the result to the
 * capability's max_response_size.
 */

export function toolTimeoutMs(tool: RegisteredTool, defaultMs: number): number {
  return tool.timeoutMs ?? defaultMs;
}

/**
 * Runs the tool; past its timeout, once the caller is gone (a gRPC deadline or cancellation,
 * an HTTP client that disconnected), or when its session or key is revoked (`stops`), the
 * signal aborts, the engine stops (a container is killed, a lease revoked) and the call
 * answers — 4041, or the GatewayError a stop aborted with — ran or not.
 */
async function runWithTimeout(
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<ToolResult>,
  stops: readonly (AbortSignal | undefined)[],
): Promise<ToolResult> {
  // One controller, one timer and a listener per stop: AbortSignal.timeout and AbortSignal.any
  // give the same signal, but each call would pay for their weak references and the timer's
  // bookkeeping (a few per cent of a call's CPU, profiled).
  const controller = new AbortController();
  const signal = controller.signal;
  let timedOutByTool = false;
  const timer = setTimeout(() => {
    timedOutByTool = true;
    controller.abort(new DOMException("the tool's timeout passed", "TimeoutError"));
  }, timeoutMs);
  const linked: Array<[AbortSignal, () => void]> = [];
  for (const stop of stops) {
    if (stop === undefined) continue;
    if (stop.aborted) {
      controller.abort(stop.reason);
      break;
    }
    const onStop = () => controller.abort(stop.reason);
    stop.addEventListener("abort", onStop, { once: true });
    linked.push([stop, onStop]);
  }
  const timedOut = () => {
    if (!timedOutByTool && signal.reason instanceof GatewayError) return signal.reason;
    return !timedOutByTool
      ? new GatewayError("EXECUTION_TIMEOUT", "the caller's deadline passed before the tool finished", {
          reason: "deadline_exceeded",
        })
      : new GatewayError("EXECUTION_TIMEOUT", `the tool did not finish within ${timeoutMs} ms`, {
          reason: "tool_timeout",
          timeout_ms: timeoutMs,
        });
  };
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timedOut());
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([run(signal), aborted]);
  } catch (err) {
    // An engine that gives up on the abort throws its own abort error: the cause is the timeout.
    if (signal.aborted && !(err instanceof GatewayError)) throw timedOut();
    throw err;
  } finally {
    clearTimeout(timer);
    for (const [stop, onStop] of linked) stop.removeEventListener("abort", onStop);
    if (onAbort) signal.removeEventListener("abort", onAbort);
    // The race may have been won by the tool; the abort that comes later must not go unhandled.
    aborted.catch(() => undefined);
  }
}

/**
 * The end user's token, signed inside the envelope at `params._meta["seal/user_token"]`
 * (DESIGN §4), handed to the engine for delegated credentials. Only a string is passed on;
 * the backend that uses it verifies it (issuer, signature, audience, expiry) itself.
 */
function userTokenOf(s: RunState): string | undefined {
  const v = s.call.env.meta?.["seal/user_token"];
  return typeof v === "string" ? v : undefined;
}

export function execute(deps: PipelineDeps): StageFn {
  return async function executeTool(s) {
    const { auth, callId, facts } = s.call;
    const tool = need(s.tool, "the tool");
    const post = need(s.post, "the decision after lookup");
    // The row before the run: awaited here, or — by a tool that writes its own first row — by
    // the tool together with that row, before its first effect (RegisteredTool.joinsRowsBefore).
    const rowsBefore = s.rowsBefore;
    if (!tool.joinsRowsBefore) {
      const failure = await settleRowsBefore(s);
      if (failure) throw failure;
    }
    const started = deps.clock.nowMs();
    // Only a capability that allows delegated credentials passes the end user's token on.
    const userToken = post.capability.delegated_credentials === true ? userTokenOf(s) : undefined;
    // A CLI run is stopped by killing its container (by label, from any instance), which it
    // answers as 4040 container_gone; every other run by this abort (1006).
    const handle =
      tool.info.kind === "cli"
        ? undefined
        : deps.inflight?.begin({
            executionId: auth.executionId,
            tenantId: auth.tenantId,
            sub: auth.claims.sub,
            binding: auth.binding,
          });
    const out = await runWithTimeout(
      toolTimeoutMs(tool, deps.defaultToolTimeoutMs),
      (signal) =>
        tool.run({
          tenantId: auth.tenantId,
          executionId: auth.executionId,
          callId,
          sub: auth.claims.sub,
          binding: auth.binding,
          securityContext: auth.claims.scp,
          arguments: facts.args,
          signal,
          secrets: s.sink,
          ...(rowsBefore ? { rowsBefore } : {}),
          ...(userToken !== undefined ? { userToken } : {}),
        }),
      [s.call.source.signal, handle?.signal],
    ).finally(() => handle?.end());
    const result = s.sink.scrub(out.result);
    const resultText = JSON.stringify(result);
    const bytes = Buffer.byteLength(resultText);
    const cap = post.capability.max_response_size ?? null;
    const overCap = cap !== null && bytes > cap;
    // The tool ran either way: its completion is recorded before the cap decides the answer.
    const completion = deps.audit.record({
      ...callEventBase(s),
      eventType: "ToolCallCompleted",
      decision: "allow",
      stage: "execute",
      code: null,
      payload: {
        definition_hash: tool.definitionHash,
        duration_ms: deps.clock.nowMs() - started,
        bytes,
        // What the caller was answered (after redaction), so an auditor holding the answer can match it.
        result_digest: hash("sha256", resultText, "hex"),
        is_error: out.isError,
        over_max_response_size: overCap,
        ...via(s.call.source),
      },
    });
    // The engine's outcome rows and this one commit together; the call answers after both.
    const [eventId] = await Promise.all([completion, out.recorded]);
    s.completed = { result, isError: out.isError, resultText, bytes, eventId, overCap, cap };
    return undefined;
  };
}

export function capResponse(): StageFn {
  return async function maxResponseSize(s) {
    const done = need(s.completed, "the tool result");
    if (done.overCap)
      throw new GatewayError(
        "RESPONSE_TOO_LARGE",
        `the tool result (${done.bytes} bytes) exceeds max_response_size (${done.cap})`,
        { reason: "response_too_large", bytes: done.bytes, max_response_size: done.cap },
      );
    return {
      status: "success",
      result: done.result,
      isError: done.isError,
      resultText: done.resultText,
      requestId: s.call.env.requestId,
      callId: s.call.callId,
      eventId: done.eventId,
    };
  };
}
