/**
 * The one wrapper every stage of a call runs through. Today it names the stage that is running
 * (a failure is audited under that name), tells an optional observer how long it took and lets
 * it wrap the run (tracing's spans): metrics and tracing attach here, no stage times or traces
 * itself.
 */
import type { Stage } from "../audit/vocabulary.js";

export interface StageEvent {
  stage: string;
  callId: string;
  durationMs: number;
  /** "ok" also covers a stage that ended the call early (pending, success). */
  result: "ok" | "error";
}

/** How one call ended, told once per call (metrics count calls by these bounded fields). */
export interface CallEvent {
  callId: string;
  transport: "http" | "mcp" | "grpc";
  /** The tool's engine, once the lookup found it; null before (or for an unknown tool). */
  toolKind: "workflow" | "cli" | "explorer" | "native" | null;
  status: "success" | "pending" | "error";
  /** The audit stage the call ended in. */
  stage: Stage;
  /** The SEAL code of an error answer; null otherwise. */
  sealCode: number | null;
}

export interface StageObserver {
  onStage(event: StageEvent): void;
  /** Told once per call, after its answer was decided (admission refusals included). */
  onCall?(event: CallEvent): void;
  /**
   * Runs the stage inside what the observer keeps around it (tracing: the stage's span, so the
   * work the stage starts, an upstream request or a container, is its child). Calls `fn` once
   * and returns or throws exactly what it did.
   */
  around?<T>(stage: StageName, fn: () => Promise<T>): Promise<T>;
}

/** The part of a call's state the wrapper writes: the name its failures are audited under. */
export interface StageTracked {
  stage: Stage;
}

/** The stages of a call, as the pipeline runs them (src/pipeline/index.ts). */
export type StageName =
  | "parse"
  | "shape"
  | "authenticate"
  | "authorize"
  | "lookup"
  | "authorize-after-lookup"
  | "arguments"
  | "redeem"
  | "execute"
  | "cap";

/**
 * Audit names of stages whose failures are recorded under the step of DESIGN §2 they belong to
 * (rows keep the vocabulary auditors filter on; metrics see the finer name).
 */
const AUDIT_STAGE: Record<StageName, Stage> = {
  parse: "parse",
  shape: "parse",
  authenticate: "authenticate",
  authorize: "authorize",
  lookup: "lookup",
  "authorize-after-lookup": "authorize",
  arguments: "authorize",
  redeem: "authorize",
  execute: "execute",
  cap: "cap",
};

export function auditStageOf(name: StageName): Stage {
  return AUDIT_STAGE[name];
}

export async function runStage<T>(
  state: StageTracked & { readonly callId: string },
  name: StageName,
  fn: () => Promise<T>,
  observer?: StageObserver,
): Promise<T> {
  state.stage = auditStageOf(name);
  const started = performance.now();
  let result: StageEvent["result"] = "error";
  try {
    const out = await (observer?.around ? observer.around(name, fn) : fn());
    result = "ok";
    return out;
  } finally {
    observer?.onStage({ stage: name, callId: state.callId, durationMs: performance.now() - started, result });
  }
}

/** The observer's view of a call's answer. */
export function callEvent(
  outcome: { status: CallEvent["status"]; callId: string; error?: { sealCode: number } },
  stage: Stage,
  transport: CallEvent["transport"],
  toolKind: CallEvent["toolKind"],
): CallEvent {
  return {
    callId: outcome.callId,
    transport,
    toolKind,
    status: outcome.status,
    stage,
    sealCode: outcome.status === "error" && outcome.error ? outcome.error.sealCode : null,
  };
}

/** Several observers as one (metrics and tracing and a test's own), each told in turn. */
export function combineObservers(observers: readonly StageObserver[]): StageObserver {
  return {
    onStage(event) {
      for (const o of observers) o.onStage(event);
    },
    onCall(event) {
      for (const o of observers) o.onCall?.(event);
    },
    around(stage, fn) {
      // The first observer's wrapper outermost, each wrapping the next one's.
      let run = fn;
      for (const o of [...observers].reverse()) {
        const next = run;
        if (o.around) run = () => (o.around as NonNullable<StageObserver["around"]>)(stage, next);
      }
      return run();
    },
  };
}
