import type { AuditRecorder } from "../audit/recorder.js";
import type { Stage } from "../audit/vocabulary.js";
import type { TokenAuthority } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import type { SecretSink } from "../credentials/redaction.js";
import { GatewayError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Envelope } from "../seal/envelope.js";
import type { PlainJson } from "../seal/json.js";
import type { Store } from "../store/types.js";
import type { InflightRuns } from "../tools/inflight.js";
import type { RegisteredTool, RowsBefore, ToolRegistry } from "../tools/registry.js";
import type { Authenticated, AuthenticateSettings } from "./authenticate.js";
import type { AllowOutcome, AuthorizeDeps, CallFacts } from "./authorize.js";
import type { StageObserver } from "./run-stage.js";

/**
 * The transport-neutral shapes of one call: where it came from, what admission established,
 * and how it ended. Transports (HTTP, MCP, gRPC) build a `CallSource`, hand the parsed envelope
 * to `admit`, run the admitted call and render the `CallOutcome` in their own wire format.
 */

/** Which transport carried the call; recorded in the audit payload of the call's rows. */
export type Transport = "http" | "mcp" | "grpc";

export interface CallSource {
  /** Client address, for the pre-authentication audit budget. */
  address: string;
  /** Default "http". */
  transport?: Transport;
  /** The caller's lifetime (a gRPC deadline or cancellation): aborting it aborts the tool run. */
  signal?: AbortSignal;
  /** The orchestrator acting for the agent (gRPC, role `orchestrator`): named in every row. */
  orchestrator?: string;
}

/** A source with its transport settled. */
export type ResolvedSource = Required<Pick<CallSource, "address" | "transport">> &
  Pick<CallSource, "signal" | "orchestrator">;

/** The fields every row of a call carries about how it came: transport, and the orchestrator. */
export function via(source: { transport: string; orchestrator?: string | undefined }) {
  return {
    transport: source.transport,
    ...(source.orchestrator !== undefined ? { orchestrator: source.orchestrator } : {}),
  };
}

/** What admission established: the envelope's shape held and its signer authenticated. */
export interface AdmittedCall {
  readonly callId: string;
  readonly source: ResolvedSource;
  readonly env: Envelope;
  readonly auth: Authenticated;
  /** The facts authorization reads (plain arguments, digest, the call's rate-limit windows). */
  readonly facts: CallFacts;
  /** True when an argument number would change value on conversion (refused before the tool runs). */
  readonly lossyArguments: boolean;
}

/** How a call ended: everything a transport needs to answer, nothing of any wire format. */
export type CallOutcome =
  | {
      status: "success";
      /** The tool result, scrubbed of credential values. */
      result: PlainJson;
      /** True for a CLI tool's non-zero exit (a result, not an error). */
      isError: boolean;
      /** `result` as JSON text, measured against max_response_size. */
      resultText: string;
      requestId: string | number | null;
      callId: string;
      eventId: string;
    }
  | {
      status: "pending";
      approvalId: string;
      /** Unix ms. */
      expiresAt: number;
      requestId: string | number | null;
      callId: string;
    }
  | {
      status: "error";
      error: GatewayError;
      requestId: string | number | null;
      callId: string;
      /** Unix ms of the answer (the gateway clock, so answers and audit rows tell the same time). */
      at: number;
    };

export type AdmitResult =
  | { ok: true; call: AdmittedCall }
  | { ok: false; outcome: Extract<CallOutcome, { status: "error" }> };

export interface PipelineDeps {
  store: Store;
  tokens: TokenAuthority;
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
  settings: AuthenticateSettings & { maxDepth: number };
  authz: AuthorizeDeps;
  tools: ToolRegistry;
  /** Used when a tool sets no `timeoutMs` of its own (config `tools.default_timeout_seconds`). */
  defaultToolTimeoutMs: number;
  /** The metrics and tracing seam: told the name and duration of every stage. */
  observer?: StageObserver;
  /** Runs in flight, so revoking a session or agent key stops them (src/tools/inflight.ts). */
  inflight?: InflightRuns;
}

/**
 * What the stages of `run` hand on to each other. Everything a call learns travels here, not in
 * module-level maps, so two calls never see each other's state.
 */
export interface RunState {
  readonly call: AdmittedCall;
  readonly callId: string;
  /** Credential values resolved for this call: scrubbed from the answer and every error text. */
  readonly sink: SecretSink;
  /** The stage running now; a failure is audited under it. */
  stage: Stage;
  /** Authorization before lookup (the context version the whole call is judged by). */
  pre?: AllowOutcome;
  /**
   * The call's ToolCallAuthorized row, still committing: it is not awaited where it is written,
   * so it can share one group commit with the tool's own first row (a workflow's
   * WorkflowInvocationStarted) and overlap the lookup. It is awaited before every effect — the
   * approval used up, the tool run — and before any answer leaves (see `settleRowsBefore`).
   */
  rowsBefore?: RowsBefore;
  tool?: RegisteredTool;
  /** Authorization after lookup (the capability whose limits bind the result). */
  post?: AllowOutcome;
  /** The tool's result, recorded, before the size cap decides the answer. */
  completed?: Completed;
}

export interface Completed {
  result: PlainJson;
  isError: boolean;
  resultText: string;
  bytes: number;
  eventId: string;
  overCap: boolean;
  cap: number | null;
}

/**
 * Waits for the call's rows before the run; their failure (5030), or null once they committed.
 * A failure belongs to the stage that wrote them, so `s.stage` goes back to "authorize".
 */
export async function settleRowsBefore(s: RunState): Promise<unknown> {
  if (!s.rowsBefore) return null;
  try {
    await s.rowsBefore.written;
    return null;
  } catch (err) {
    s.stage = "authorize";
    return err;
  }
}

/** A stage that needs an earlier stage's fact it did not get is a bug, never a caller's error. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline stage ran before ${what} was established`);
  return value;
}

export function auditRequestId(requestId: string | number | null): string | null {
  return requestId === null ? null : String(requestId);
}

export function errorOutcome(
  error: GatewayError,
  requestId: string | number | null,
  callId: string,
  at: number,
): Extract<CallOutcome, { status: "error" }> {
  return { status: "error", error, requestId, callId, at };
}

export function bodyTooLarge(): GatewayError {
  return new GatewayError("BODY_TOO_LARGE", "the request body is too large", { reason: "body_too_large" });
}
