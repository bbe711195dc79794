/**
 * Runs a workflow: arguments checked against `input_schema` before anything else, one
 * credential for the run (decorating every request at send time, always released), then the
 * steps in order with their `on_error` policy. The tool result is
 * `{workflow_id, execution_id, result: <last step body>, state}` (DESIGN §2).
 */

import type { CallInfo, CredentialResolver } from "../../credentials/types.js";
import type { EgressClient } from "../../egress/types.js";
import { GatewayError, isGatewayError } from "../../errors.js";
import { type RequestCredential, requestCredential } from "../openapi/credential.js";
import { hostsOf, resolveServerUrl } from "../openapi/servers.js";
import type { IndexedSpec } from "../openapi/types.js";
import { type CompiledStep, type CompiledWorkflow, compileWorkflow, sha256Canonical } from "./compile.js";
import type { WorkflowDefinition } from "./definition.js";
import {
  completedEvent,
  failedEvent,
  OutcomeRows,
  type RunIds,
  startedEvent,
  type WorkflowEmit,
} from "./events.js";
import { extractVariables } from "./extract.js";
import { secretScrubber } from "./redact.js";
import { prepareRequest } from "./request.js";
import { NotJsonError, nullObject, type SafeJson, toSafeJson } from "./safe-json.js";
import { executeStep, type StepDeps, type StepOutcome } from "./step.js";
import type { TemplateContext } from "./templates.js";

export interface RunWorkflowOptions {
  def: WorkflowDefinition;
  spec: IndexedSpec;
  /** The tool call's arguments (plain JSON, or the strict parser's tree). */
  input: unknown;
  egress: Pick<EgressClient, "request">;
  credentials: CredentialResolver;
  emit: WorkflowEmit;
  /**
   * Where the outcome rows go while they commit. Given: the run returns before they settled
   * and the caller awaits `settled()` with its own completion row (one group commit for all).
   * Absent: the run awaits them itself before it returns.
   */
  rows?: OutcomeRows;
  /**
   * The caller's row before the run (the pipeline's ToolCallAuthorized), possibly still
   * committing: awaited with WorkflowInvocationStarted, which is written `after` it (and can
   * share its group commit), before anything is resolved or sent.
   */
  rowsBefore?: { id: string; written: Promise<unknown> };
  ids: RunIds;
  tenantId: string;
  /** The call the credential is obtained for (audit ids, the sink its value is scrubbed with). */
  call: CallInfo;
  /** The spec's `credential_path` (null: the API needs none). */
  credentialPath: unknown | null;
  signal?: AbortSignal;
  /** Milliseconds clock, for durations. */
  now?: () => number;
  /** The spec's `allowed_hosts`; default: the hosts of its servers (`hostsOf`). */
  allowedHosts?: readonly string[];
  /** The spec's `base_url` override. */
  baseUrl?: string;
  maxResponseBytes?: number;
  /** First retry delay (doubles per retry, capped at 2 s). Default 100 ms. */
  retryBaseMs?: number;
}

export interface WorkflowRunResult {
  workflow_id: string;
  execution_id: string;
  result: SafeJson;
  state: { [step: string]: SafeJson };
}

const compiledCache = new WeakMap<WorkflowDefinition, WeakMap<IndexedSpec, CompiledWorkflow>>();
const specHashes = new WeakMap<IndexedSpec, string>();

function compiled(def: WorkflowDefinition, spec: IndexedSpec): CompiledWorkflow {
  const bySpec = compiledCache.get(def) ?? new WeakMap<IndexedSpec, CompiledWorkflow>();
  compiledCache.set(def, bySpec);
  const hit = bySpec.get(spec);
  if (hit !== undefined) return hit;
  const result = compileWorkflow(def, spec);
  if (!result.ok) {
    // The definition was accepted against another version of the spec: not the caller's fault.
    throw new GatewayError("EXECUTION_FAILED", "the workflow no longer matches its API spec", {
      reason: "invalid_definition",
      problems: result.problems,
    });
  }
  bySpec.set(spec, result.workflow);
  return result.workflow;
}

function specHash(spec: IndexedSpec): string {
  const known = specHashes.get(spec);
  if (known !== undefined) return known;
  const hash = sha256Canonical(spec.document);
  specHashes.set(spec, hash);
  return hash;
}

function checkedInput(workflow: CompiledWorkflow, input: unknown): SafeJson {
  let safe: SafeJson;
  try {
    safe = toSafeJson(input);
  } catch (err) {
    if (!(err instanceof NotJsonError)) throw err;
    throw new GatewayError("INVALID_ARGUMENTS", `the arguments are not usable JSON: ${err.message}`, {
      reason: err.reason === "lossy_number" ? "lossy_number" : "invalid_input",
    });
  }
  const problems = workflow.validateInput(safe);
  if (problems.length > 0) {
    throw new GatewayError("INVALID_ARGUMENTS", "the arguments do not match the workflow's input_schema", {
      reason: "invalid_input",
      problems,
    });
  }
  return safe;
}

async function resolveCredential(
  opts: RunWorkflowOptions,
  first: CompiledStep,
  signal: AbortSignal,
): Promise<RequestCredential | null> {
  try {
    return await requestCredential({
      credentials: opts.credentials,
      credentialPath: opts.credentialPath,
      call: opts.call,
      spec: opts.spec,
      operation: first.operation,
      signal,
    });
  } catch (err) {
    if (isGatewayError(err)) throw err;
    // Fail closed, and never pass a backend's message on (it may hold secret material).
    throw new GatewayError("CREDENTIAL_UNAVAILABLE", "the credential could not be obtained", {
      reason: "backend_error",
    });
  }
}

function abortError(step: CompiledStep, outcome: Extract<StepOutcome, { ok: false }>): GatewayError {
  const err = outcome.error;
  if (err !== null && (err.code === "UPSTREAM_TIMEOUT" || err.code === "RESPONSE_TOO_LARGE")) {
    return new GatewayError(err.code, `workflow step ${step.name}: ${err.message}`, {
      ...err.details,
      step: step.name,
    });
  }
  const what = outcome.status === null ? `failed (${outcome.reason})` : `answered HTTP ${outcome.status}`;
  return new GatewayError("UPSTREAM_ERROR", `workflow step ${step.name} ${what}`, {
    reason: "step_failed",
    step: step.name,
    status: outcome.status,
    ...(outcome.status === null ? { cause: outcome.reason } : {}),
  });
}

/** The template root, itself without a prototype (`{{lookup this "constructor"}}` finds nothing). */
function templateContext(input: SafeJson, state: SafeJson): TemplateContext {
  const context = Object.create(null) as TemplateContext;
  context.input = input;
  context.state = state;
  return context;
}

interface StepsResult {
  result: SafeJson;
  state: { [step: string]: SafeJson };
  continued: string[];
}

async function runSteps(
  workflow: CompiledWorkflow,
  input: SafeJson,
  opts: RunWorkflowOptions,
  deps: StepDeps,
  onStep: (name: string) => void,
): Promise<StepsResult> {
  const state = nullObject<SafeJson>();
  const continued: string[] = [];
  let result: SafeJson = null;
  for (const step of workflow.steps) {
    onStep(step.name);
    const baseUrl = resolveServerUrl(opts.spec, step.operation, opts.baseUrl);
    const req = prepareRequest(step, templateContext(input, state), baseUrl);
    const outcome = await executeStep(step, req, deps);
    const entry = nullObject<SafeJson>();
    if (outcome.ok) {
      Object.assign(entry, extractVariables(step.name, step.extractors, outcome.body));
      entry.status = outcome.status;
      result = outcome.body;
    } else if (step.onError === "Continue") {
      const error = nullObject<SafeJson>();
      error.status = outcome.status;
      error.reason = outcome.reason;
      entry.status = outcome.status;
      entry.error = error;
      result = null;
      continued.push(step.name);
    } else {
      throw abortError(step, outcome);
    }
    state[step.name] = entry;
  }
  return { result, state, continued };
}

function inputDigest(input: unknown): string {
  try {
    return sha256Canonical(toSafeJson(input));
  } catch {
    return "unhashable";
  }
}

export async function runWorkflow(opts: RunWorkflowOptions): Promise<WorkflowRunResult> {
  const now = opts.now ?? Date.now;
  const signal = opts.signal ?? new AbortController().signal;
  const started = now();
  const workflow = compiled(opts.def, opts.spec);
  const hashes = {
    definition: workflow.definitionHash,
    spec: specHash(opts.spec),
    input: inputDigest(opts.input),
  };
  let failedStep: string | null = null;
  const rows = opts.rows ?? new OutcomeRows();
  // The rows before any effect (no audit, no action): the caller's and this run's first row,
  // written in the same turn and awaited together; both settle before a failure is thrown.
  // Started is written `after` the caller's row, so it is never committed without it.
  const before = await Promise.allSettled([
    opts.rowsBefore?.written,
    opts.emit(
      "WorkflowInvocationStarted",
      startedEvent(opts.ids, opts.def.name, hashes, workflow.steps.length),
      opts.rowsBefore ? { after: opts.rowsBefore.id } : {},
    ),
  ]);
  for (const r of before) if (r.status === "rejected") throw r.reason;
  try {
    const input = checkedInput(workflow, opts.input);
    const first = workflow.steps[0];
    if (first === undefined) {
      throw new GatewayError("EXECUTION_FAILED", "the workflow has no steps", { reason: "no_steps" });
    }
    const credential = await resolveCredential(opts, first, signal);
    let done: StepsResult;
    try {
      const deps: StepDeps = {
        egress: opts.egress,
        credential,
        allowedHosts: opts.allowedHosts ?? hostsOf(opts.spec),
        signal,
        now,
        emit: opts.emit,
        rows,
        ids: opts.ids,
        scrub: secretScrubber(credential?.secrets() ?? []),
        maxResponseBytes: opts.maxResponseBytes,
        retryBaseMs: opts.retryBaseMs ?? 100,
      };
      done = await runSteps(workflow, input, opts, deps, (name) => {
        failedStep = name;
      });
    } finally {
      await credential?.release().catch(() => {
        // A failed release must not turn a finished call into an error; the backend's lease
        // TTL bounds the credential's life, and the backend reports its own failure.
      });
    }
    failedStep = null;
    const duration = now() - started;
    rows.add(
      opts.emit(
        "WorkflowInvocationCompleted",
        completedEvent(opts.ids, duration, workflow.steps.length, done.continued),
      ),
    );
    if (opts.rows === undefined) await rows.settled();
    return {
      workflow_id: opts.ids.workflowId,
      execution_id: opts.ids.executionId,
      result: done.result,
      state: done.state,
    };
  } catch (err) {
    const code = isGatewayError(err) ? err.code : "INTERNAL";
    const reason = isGatewayError(err) ? err.details.reason : "internal_error";
    rows.add(
      opts.emit("WorkflowInvocationFailed", failedEvent(opts.ids, now() - started, failedStep, code, reason)),
    );
    // A failed outcome row is the call's error (5030): the run's rows are incomplete.
    await rows.settled();
    throw err;
  }
}
