import { z } from "zod";

/**
 * The audit vocabulary (DESIGN §6): every event type, stage and decision the gateway writes,
 * and for each event type the payload fields it may carry. EventInput is typed by these, so a
 * misspelt event type or stage does not compile, and docs/api.md's event reference is checked
 * against EVENT_TYPES by a test (test/audit/vocabulary.test.ts).
 *
 * Payloads are allow-listed: each schema names the fields its event may hold, so a secret
 * value, a header or a whole row handed in by mistake cannot reach the trail. An unknown field
 * is a bug in the caller; the recorder strips it and logs the field *name* (never its value),
 * or, with `unknownPayloadFields: "throw"` (the test gateway), throws so the test that wrote
 * it fails. Values stay loosely typed (most are names, digests, counts or ISO times built by
 * the emitting module); what matters here is which fields exist.
 */

export const STAGES = [
  "parse",
  "authenticate",
  "authorize",
  "lookup",
  "execute",
  "cap",
  "approval",
  "credentials",
  "control",
  // A POST /mcp request refused before any envelope was read (Host/Origin, body, JSON-RPC shape).
  "mcp",
  // POST /v1/seal/attest.
  "attest",
] as const;
export type Stage = (typeof STAGES)[number];

export const DECISIONS = ["allow", "escalate", "reject"] as const;
export type Decision = (typeof DECISIONS)[number];

const any = z.unknown();

/** A payload schema from its field names: each optional, anything else refused or stripped. */
function fields<const K extends string>(...names: K[]) {
  return z.object(
    Object.fromEntries(names.map((n) => [n, any.optional()])) as Record<K, z.ZodOptional<z.ZodUnknown>>,
  );
}

const workflowIds = ["workflow_id", "execution_id", "spec_id"] as const;
const explorerBase = ["spec_id", "spec_hash", "operation_id", "fields", "actor"] as const;
const approvalDecision = fields("approval_id", "actor", "reason");
// Rows written while a call runs name the transport that carried it (http, mcp, grpc) and, when
// an orchestrator invoked for the agent over gRPC, the orchestrator (agent_id stays the agent).
// The first decision row of a call also keeps the call for deciding it again (what-if,
// suggest): `security_context` and the redacted `arguments` (src/policy/recorded-call.ts).
const recorded = ["security_context", "arguments"] as const;
const approvalOffer = fields(
  "approval_id",
  "rule",
  "arguments_digest",
  "expires_at",
  "transport",
  "orchestrator",
  ...recorded,
);
const workflowChange = fields("actor", "workflow_id", "name", "hash", "api_spec_id");
const cliToolChange = fields("actor", "cli_tool_id", "name", "hash", "docker_image", "warnings");
const cliIds = ["cli_tool_id", "definition_hash", "transport"] as const;

export const EVENT_PAYLOADS = {
  // Agent plane: the envelope and the call.
  // `surface`: the read-only agent surface that refused a token (GET /v1/tools, MCP tools/list).
  EnvelopeRejected: fields("reason", "message", "source", "transport", "orchestrator", "surface"),
  EnvelopeRejectedSummary: fields("source", "dropped", "reasons", "window_start"),
  // Attestation (POST /v1/seal/attest): the workload, the context, the token's jti; never the token.
  AttestationSucceeded: fields(
    "workload_id",
    "security_context",
    "token_jti",
    "expires_at",
    "public_key_b64",
    "source",
  ),
  AttestationFailed: fields("reason", "source", "workload_id", "security_context"),
  McpRequestRejected: fields("reason", "status", "method", "transport"),
  PolicyDenied: fields(
    "rule",
    "reason",
    "arguments_digest",
    "binding",
    "transport",
    "orchestrator",
    ...recorded,
  ),
  ToolCallAuthorized: fields(
    "rule",
    "arguments_digest",
    "binding",
    "approval_id",
    "transport",
    "orchestrator",
    ...recorded,
  ),
  ToolCallCompleted: fields(
    "definition_hash",
    "duration_ms",
    "bytes",
    "result_digest",
    "is_error",
    "over_max_response_size",
    "transport",
    "orchestrator",
  ),
  // Approvals.
  ApprovalRequested: approvalOffer,
  ApprovalPending: approvalOffer,
  ApprovalGranted: approvalDecision,
  ApprovalDenied: approvalDecision,
  ApprovalRedeemed: fields("approval_id", "rule", "transport", "orchestrator"),
  ApprovalRejected: fields(
    "approval_id",
    "reason",
    "arguments_digest",
    "transport",
    "orchestrator",
    ...recorded,
  ),
  // Workflows and the explorer.
  WorkflowInvocationStarted: fields(
    ...workflowIds,
    "workflow_name",
    "definition_hash",
    "spec_hash",
    "input_digest",
    "step_count",
  ),
  WorkflowStepExecuted: fields(
    ...workflowIds,
    "step",
    "step_index",
    "method",
    "operation",
    "status",
    "duration_ms",
    "attempt",
    "outcome",
    "reason",
  ),
  WorkflowInvocationCompleted: fields(...workflowIds, "duration_ms", "steps_run", "continued_after_failure"),
  WorkflowInvocationFailed: fields(...workflowIds, "duration_ms", "failed_step", "code", "reason"),
  // CLI tools (container engine): argv shape and outcome, never argument values or stdin.
  CliToolInvocationStarted: fields(...cliIds, "docker_image", "subcommand", "arg_count", "stdin_bytes"),
  CliToolInvocationCompleted: fields(...cliIds, "exit_code", "duration_ms", "truncated"),
  CliToolInvocationFailed: fields(...cliIds, "duration_ms", "code", "reason"),
  CliToolSemanticRejected: fields(...cliIds, "subcommand", "reason", "judge_reason", "duration_ms"),
  ExplorerRequested: fields(...explorerBase),
  ExplorerRequestExecuted: fields(...explorerBase, "status", "bytes_before", "bytes_after"),
  ExplorerRequestFailed: fields(...explorerBase, "status", "code", "reason"),
  // Credentials: variant, key name and fingerprint, never the value.
  // binding_id: the UserBound binding that named the key.
  CredentialExchangeCompleted: fields("credential_path", "key", "binding_id", "fingerprint"),
  CredentialExchangeFailed: fields("credential_path", "key", "reason"),
  // A dynamic secret's lease, ended with its call (attempts: revocations tried).
  CredentialLeaseRevoked: fields("credential_path", "lease_id", "attempts"),
  CredentialLeaseRevokeFailed: fields("credential_path", "lease_id", "attempts", "reason"),
  // Control plane.
  SessionCreated: fields("actor", "security_context", "allowed_tool_patterns", "expires_at", "token_jti"),
  // By an operator (previous_status) or by policy (revoke_after_denials: denials, per_seconds, context).
  // killed_containers: CLI containers of the session removed at revocation (best effort).
  SessionRevoked: fields(
    "actor",
    "previous_status",
    "denials",
    "per_seconds",
    "context",
    "transport",
    "orchestrator",
    "killed_containers",
  ),
  AgentKeyRegistered: fields("actor", "key_id", "public_key_b64"),
  AgentKeyRevoked: fields("actor", "key_id", "killed_containers"),
  ConfigChanged: fields("actor", "object", "action", "name", "document"),
  ApiSpecRegistered: fields(
    "actor",
    "spec_id",
    "name",
    "hash",
    "operations",
    "allowed_hosts",
    "credential_path",
  ),
  ApiSpecDeleted: fields("actor", "spec_id", "name", "hash"),
  WorkflowRegistered: workflowChange,
  WorkflowUpdated: workflowChange,
  WorkflowDeleted: workflowChange,
  CliToolRegistered: cliToolChange,
  CliToolUpdated: cliToolChange,
  CliToolDeleted: cliToolChange,
  SecretWritten: fields("actor", "key", "fingerprint"),
  // UserBound: who bound which user and provider to which secret key (never a value).
  CredentialBindingCreated: fields("actor", "binding_id", "user", "provider", "key", "grants"),
  CredentialBindingUpdated: fields("actor", "binding_id", "user", "provider", "key", "grants"),
  CredentialBindingDeleted: fields("actor", "binding_id", "user", "provider", "key", "grants"),
  SecretDeleted: fields("actor", "key", "fingerprint", "version", "forced", "referenced_by"),
  // POST /v1/security-contexts/{name}/what-if: who asked, which context and window, the counts.
  PolicyWhatIfEvaluated: fields(
    "actor",
    "security_context",
    "since",
    "until",
    "limit",
    "evaluated",
    "unchanged",
    "undecidable",
    "flips",
    "complete",
  ),
  // `method` "grpc" and `route` the full RPC name for a refused gRPC control call.
  ControlRequestRejected: fields("method", "route", "reason", "status"),
} as const satisfies Record<string, z.ZodObject>;

export type EventType = keyof typeof EVENT_PAYLOADS;
export const EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as EventType[];

export type UnknownFieldPolicy = "strip" | "throw";

/** Payload fields `eventType` does not allow (names only, in order). */
export function unknownPayloadFields(eventType: EventType, payload: Record<string, unknown>): string[] {
  const allowed = EVENT_PAYLOADS[eventType].shape;
  return Object.keys(payload).filter((k) => !Object.hasOwn(allowed, k));
}

export class UnknownPayloadFieldError extends Error {
  constructor(
    readonly eventType: EventType,
    readonly fieldNames: string[],
  ) {
    super(`audit payload of ${eventType} has fields outside its schema: ${fieldNames.join(", ")}`);
    this.name = "UnknownPayloadFieldError";
  }
}

/**
 * The payload as written: only the fields its event type allows, in the order given. Unknown
 * fields are stripped (and their names reported through `onStrip`), or thrown on with "throw".
 */
export function allowListedPayload(
  eventType: EventType,
  payload: Record<string, unknown>,
  policy: UnknownFieldPolicy,
  onStrip: (fieldNames: string[]) => void,
): Record<string, unknown> {
  const extra = unknownPayloadFields(eventType, payload);
  if (extra.length === 0) return payload;
  if (policy === "throw") throw new UnknownPayloadFieldError(eventType, extra);
  onStrip(extra);
  return Object.fromEntries(Object.entries(payload).filter(([k]) => !extra.includes(k)));
}
