/**
 * Sends one step's request (with retries) and classifies the outcome. Failures that a
 * workflow may tolerate (non-2xx, timeouts, transport errors, oversized responses) come back
 * as values for `on_error` to judge; everything else — egress denied, bad arguments, a
 * cancelled call — is thrown at once, whatever `on_error` says: Continue must never paper
 * over a security refusal.
 */

import type { EgressClient } from "../../egress/types.js";
import { GatewayError, isGatewayError } from "../../errors.js";
import { toPlain, tryParseJson } from "../../seal/json.js";
import type { BuiltRequest } from "../openapi/build-request.js";
import type { RequestCredential } from "../openapi/credential.js";
import type { CompiledStep } from "./compile.js";
import { type OutcomeRows, type RunIds, stepEvent, type WorkflowEmit } from "./events.js";
import type { Scrubber } from "./redact.js";
import { MAX_SAFE_JSON_DEPTH, type SafeJson, toSafeJson } from "./safe-json.js";

export const MAX_BACKOFF_MS = 2_000;

export interface StepDeps {
  egress: Pick<EgressClient, "request">;
  credential: RequestCredential | null;
  allowedHosts: readonly string[];
  signal: AbortSignal;
  now: () => number;
  emit: WorkflowEmit;
  /** Outcome rows in flight; settled before each request (see OutcomeRows). */
  rows: OutcomeRows;
  ids: RunIds;
  scrub: Scrubber;
  maxResponseBytes: number | undefined;
  retryBaseMs: number;
}

export type StepOutcome =
  | { ok: true; status: number; body: SafeJson }
  | { ok: false; status: number | null; reason: string; error: GatewayError | null };

type Attempt = StepOutcome & { retriable: boolean };

const RETRIABLE_TRANSPORT = new Set([
  "connection_refused",
  "connection_reset",
  "unreachable",
  "bad_response",
  "incomplete_response",
  "transport_error",
]);

/** Upstream bodies are JSON when they parse strictly; anything else is kept as text. */
function parseBody(body: Buffer, scrub: Scrubber): SafeJson {
  if (body.length === 0) return null;
  const parsed = tryParseJson(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), {
    maxDepth: MAX_SAFE_JSON_DEPTH - 1,
  });
  const value = parsed.ok ? toSafeJson(toPlain(parsed.value)) : body.toString("utf8");
  return scrub(value);
}

function classify(err: unknown, signal: AbortSignal): Attempt {
  if (signal.aborted || !isGatewayError(err)) throw err;
  const reason = err.details.reason;
  if (err.code === "UPSTREAM_TIMEOUT")
    return { ok: false, status: null, reason, error: err, retriable: true };
  if (
    err.code === "RESPONSE_TOO_LARGE" ||
    (err.code === "UPSTREAM_ERROR" && reason === "response_too_large")
  ) {
    const tooLarge = new GatewayError("RESPONSE_TOO_LARGE", "the upstream response exceeds the size limit", {
      ...err.details,
      reason: "max_response_size",
    });
    return { ok: false, status: null, reason: "max_response_size", error: tooLarge, retriable: false };
  }
  if (err.code === "UPSTREAM_ERROR" && reason !== "aborted") {
    return { ok: false, status: null, reason, error: err, retriable: RETRIABLE_TRANSPORT.has(reason) };
  }
  throw err;
}

/** The error a cancelled call ends with: the caller's own GatewayError, else 4020 `aborted`. */
function cancelled(signal: AbortSignal): GatewayError {
  return isGatewayError(signal.reason)
    ? signal.reason
    : new GatewayError("UPSTREAM_ERROR", "the call was cancelled", { reason: "aborted" });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelled(signal));
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function attempt(step: CompiledStep, req: BuiltRequest, deps: StepDeps): Promise<Attempt> {
  const url = new URL(req.url);
  const headers = { ...req.headers };
  // At send time, every attempt: a credential is never cached into a request object.
  deps.credential?.decorate({ url, headers, operation: step.operation });
  try {
    const res = await deps.egress.request({
      method: req.method,
      url: url.href,
      headers,
      body: req.body,
      allowedHosts: deps.allowedHosts,
      timeoutMs: step.timeoutMs,
      maxResponseBytes: deps.maxResponseBytes,
      signal: deps.signal,
    });
    if (res.status >= 200 && res.status < 300)
      return { ok: true, status: res.status, body: parseBody(res.body, deps.scrub), retriable: false };
    const retriable = res.status >= 500 || res.status === 408 || res.status === 429;
    return { ok: false, status: res.status, reason: "http_status", error: null, retriable };
  } catch (err) {
    return classify(err, deps.signal);
  }
}

/** Runs the step's attempts; returns the final outcome (on_error is applied by the caller). */
export async function executeStep(
  step: CompiledStep,
  req: BuiltRequest,
  deps: StepDeps,
): Promise<StepOutcome> {
  const maxAttempts = typeof step.onError === "object" ? 1 + step.onError.RetryN : 1;
  for (let n = 1; ; n++) {
    const started = deps.now();
    let result: Attempt | undefined;
    let fatal: unknown;
    // No request while an earlier step's or attempt's outcome row may still fail to commit.
    await deps.rows.settled();
    try {
      result = await attempt(step, req, deps);
    } catch (err) {
      fatal = err;
    }
    // Every attempt is recorded, including one that ends the run.
    deps.rows.add(
      deps.emit(
        "WorkflowStepExecuted",
        stepEvent(deps.ids, {
          step: step.name,
          stepIndex: step.index,
          method: step.operation.method,
          operation: step.operationLabel,
          status: result?.status ?? null,
          durationMs: Math.max(0, deps.now() - started),
          attempt: n,
          outcome: result?.ok === true ? "succeeded" : "failed",
          reason: result === undefined ? fatalReason(fatal) : result.ok ? null : result.reason,
        }),
      ),
    );
    if (result === undefined) throw fatal;
    if (result.ok || !result.retriable || n >= maxAttempts) {
      const { retriable: _retriable, ...outcome } = result;
      return outcome;
    }
    await sleep(Math.min(deps.retryBaseMs * 2 ** (n - 1), MAX_BACKOFF_MS), deps.signal);
  }
}

function fatalReason(err: unknown): string {
  return isGatewayError(err) ? err.details.reason : "internal_error";
}
