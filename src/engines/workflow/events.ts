/**
 * The workflow's audit events (DESIGN §6). Payloads are built here, field by field, so that
 * nothing else can slip in: names, hashes, statuses and durations only — never header
 * values, credentials, rendered URLs or query strings, bodies or argument values.
 */

export type WorkflowEventType =
  | "WorkflowInvocationStarted"
  | "WorkflowStepExecuted"
  | "WorkflowInvocationCompleted"
  | "WorkflowInvocationFailed";

export type WorkflowEventPayload = { [key: string]: string | number | boolean | null | string[] };

/**
 * Awaited: when recording fails the run stops (no audit, no action). `after`: the id of the
 * caller's row this one must never be committed without (AppendOptions.after).
 */
export type WorkflowEmit = (
  type: WorkflowEventType,
  payload: WorkflowEventPayload,
  opts?: { after?: string },
) => void | Promise<void>;

/**
 * Outcome rows still being written. A step's outcome row (and the run's completion row) need
 * not hold up the work after it, only the next effect: the runner adds them here without
 * awaiting, waits for `settled()` before the next upstream request, and the call is answered
 * only once they committed — so rows written back to back share one group commit (see
 * src/store/group-commit.ts) instead of one each. A failed write still stops the run before
 * its next request and fails the call.
 */
export class OutcomeRows {
  private pending: Promise<void>[] = [];
  private failure: { err: unknown } | null = null;

  add(write: void | Promise<void>): void {
    if (!write) return;
    // Handled at once, so a failure waits for `settled()` instead of going unhandled.
    this.pending.push(
      write.catch((err: unknown) => {
        this.failure ??= { err };
      }),
    );
  }

  /** Resolves once every row added so far committed; rejects with the first failure. */
  async settled(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await Promise.all(batch);
    }
    if (this.failure) throw this.failure.err;
  }
}

export interface RunIds {
  workflowId: string;
  executionId: string;
}

export function startedEvent(
  ids: RunIds,
  name: string,
  hashes: { definition: string; spec: string; input: string },
  stepCount: number,
): WorkflowEventPayload {
  return {
    workflow_id: ids.workflowId,
    execution_id: ids.executionId,
    workflow_name: name,
    definition_hash: hashes.definition,
    spec_hash: hashes.spec,
    input_digest: hashes.input,
    step_count: stepCount,
  };
}

export interface StepEventFields {
  step: string;
  stepIndex: number;
  method: string;
  operation: string;
  status: number | null;
  durationMs: number;
  attempt: number;
  outcome: "succeeded" | "failed";
  reason: string | null;
}

export function stepEvent(ids: RunIds, f: StepEventFields): WorkflowEventPayload {
  return {
    workflow_id: ids.workflowId,
    execution_id: ids.executionId,
    step: f.step,
    step_index: f.stepIndex,
    method: f.method,
    operation: f.operation,
    status: f.status,
    duration_ms: f.durationMs,
    attempt: f.attempt,
    outcome: f.outcome,
    reason: f.reason,
  };
}

export function completedEvent(ids: RunIds, durationMs: number, stepsRun: number, continued: string[]) {
  return {
    workflow_id: ids.workflowId,
    execution_id: ids.executionId,
    duration_ms: durationMs,
    steps_run: stepsRun,
    continued_after_failure: continued,
  } satisfies WorkflowEventPayload;
}

export function failedEvent(
  ids: RunIds,
  durationMs: number,
  failedStep: string | null,
  code: string,
  reason: string,
): WorkflowEventPayload {
  return {
    workflow_id: ids.workflowId,
    execution_id: ids.executionId,
    duration_ms: durationMs,
    failed_step: failedStep,
    code,
    reason,
  };
}
