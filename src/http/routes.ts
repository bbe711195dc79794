import type { z } from "zod";
import type { OperatorRole } from "../auth/tokens.js";
import { CliToolDefinition } from "../engines/cli/definition.js";
import { WorkflowDefinition } from "../engines/workflow/definition.js";
import { SecurityContext } from "../policy/context-schema.js";
import * as agentKeys from "../services/agent-keys.js";
import * as approvals from "../services/approvals.js";
import { AttestInput } from "../services/attestation.js";
import * as auditChain from "../services/audit-chain.js";
import * as cliTools from "../services/cli-tools.js";
import { ById, type VerbCall } from "../services/context.js";
import * as bindings from "../services/credential-bindings.js";
import * as eventStream from "../services/event-stream.js";
import * as events from "../services/events.js";
import * as evidence from "../services/evidence.js";
import * as explorer from "../services/explorer.js";
import * as metrics from "../services/metrics.js";
import { ListingQuery } from "../services/pagination.js";
import * as secrets from "../services/secrets.js";
import * as contexts from "../services/security-contexts.js";
import * as sessions from "../services/sessions.js";
import * as specs from "../services/specs.js";
import * as suggest from "../services/suggest.js";
import * as whatIf from "../services/what-if.js";
import * as workflows from "../services/workflows.js";

/**
 * The one route table of the gateway's own API. The hono routes, the auth-matrix test, and
 * (next) the gRPC registrations and `/openapi.json` are derived from it: a route exists only
 * here. Control routes name the least role (checked again by the verb itself, which is the
 * authority) and how HTTP parts become the verb's one input object; public routes are the
 * agent plane and operations, served by handlers of their own.
 */

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** How the HTTP request becomes the verb's input (the transport only translates). */
export interface HttpBinding {
  /** Path parameters copied into the input under their own names. */
  params?: readonly string[];
  /** The secret key, read from the raw request target (see control-routes.ts). */
  secretKey?: boolean;
  /** Query fields merged into the input. */
  query?: boolean;
  /**
   * The JSON body: "fields" merges its members into the input, "document" passes it as the
   * input, `{ as }` puts it under that name.
   */
  body?: "fields" | "document" | { as: string };
  /** An empty body reads as {} (approve/deny without a reason). */
  allowEmpty?: boolean;
  /**
   * "spec": the body carries an API description, so its limit is `tools.max_spec_bytes` plus
   * room for the request's other fields, when that is larger than server.body_limit_bytes.
   */
  bodyLimit?: "spec";
  /**
   * Server-Sent Events: the verb answers `{ body }` (a stream), the transport hands it the
   * request's signal and token expiry, and `Last-Event-ID` arrives as `last_event_id`.
   */
  sse?: true;
  /** The verb answers `{ contentType, body }` text (GET /metrics), sent as is. */
  text?: true;
  /**
   * A listing (docs/api.md "Pagination"): it takes `limit` and `cursor`, and answers the page's
   * rows under this member with `next_cursor` beside them.
   */
  listing?: string;
  /** The success status (default 200); `created` picks 201 from the verb's answer. */
  status?: 200 | 201 | "created";
}

export interface ControlRoute {
  method: Method;
  path: string;
  /** The least operator role (DESIGN §7). */
  role: OperatorRole;
  public?: false;
  verb: (call: VerbCall) => Promise<unknown>;
  /** The verb's input schema, for generated API descriptions (the verb parses with it). */
  input?: z.ZodType;
  /**
   * The schema of a body the verb takes whole (`body: "document"` or `{ as }`) and parses
   * itself: a definition or context document (for /openapi.json).
   */
  document?: z.ZodType;
  output?: z.ZodType;
  description: string;
  http: HttpBinding;
}

export interface PublicRoute {
  method: Method;
  path: string;
  public: true;
  description: string;
  /** The request body's schema, where the handler parses it with one (for /openapi.json). */
  input?: z.ZodType;
  /** Where the body is read by a parser of its own (the SEAL envelope): what it is. */
  bodyNote?: string;
}

export type RouteEntry = ControlRoute | PublicRoute;

const SECRET_PATH = "/v1/secrets/:key{[\\s\\S]+}";

const ENVELOPE_NOTE =
  "A SEAL v1 envelope {protocol, security_token, signature, payload, timestamp}, read by the strict " +
  "SEAL parser (duplicate keys, depth and size refused; docs/envelope.md), not by a JSON Schema.";

export const ROUTES: readonly RouteEntry[] = [
  // Agent plane and operations: no operator token (DESIGN §7).
  {
    method: "POST",
    path: "/v1/invoke",
    public: true,
    description: "Run a tool call carried by a SEAL envelope.",
    bodyNote: ENVELOPE_NOTE,
  },
  {
    method: "POST",
    path: "/v1/seal/invoke",
    public: true,
    description: "Alias of POST /v1/invoke.",
    bodyNote: ENVELOPE_NOTE,
  },
  {
    method: "POST",
    path: "/v1/seal/attest",
    public: true,
    description: "Attestation (RFC §6): a verified workload's key gets a cnf-bound agent token.",
    input: AttestInput,
  },
  {
    method: "GET",
    path: "/v1/tools",
    public: true,
    description: "The tools the agent's context shows (agent token as Bearer).",
  },
  {
    method: "GET",
    path: "/v1/seal/approvals/:id",
    public: true,
    description: "The status and expiry of the caller's own approval (agent token as Bearer).",
  },
  {
    method: "POST",
    path: "/mcp",
    public: true,
    description: "MCP Streamable HTTP, stateless (agent token as Bearer; tools/call carries its envelope).",
    bodyNote:
      'A JSON-RPC 2.0 MCP request (docs/mcp.md); tools/call carries its envelope in params._meta["seal/envelope"].',
  },
  { method: "GET", path: "/mcp", public: true, description: "405: no server-to-client stream (stateless)." },
  { method: "DELETE", path: "/mcp", public: true, description: "405: no session to end (stateless)." },
  { method: "GET", path: "/health", public: true, description: "The process answers." },
  {
    method: "GET",
    path: "/openapi.json",
    public: true,
    description: "This API as an OpenAPI 3.1 document, generated from the route table and its schemas.",
  },
  { method: "GET", path: "/ready", public: true, description: "The database answers." },

  // Operations: any operator role (viewer is the least); no token on `metrics.listen` instead.
  {
    method: "GET",
    path: "/metrics",
    role: "viewer",
    verb: metrics.readMetrics,
    description: "Prometheus metrics of this instance (text exposition format).",
    http: { text: true },
  },

  // Sessions (RFC §6.5)
  {
    method: "POST",
    path: "/v1/seal/sessions",
    role: "operator",
    verb: sessions.createSession,
    input: sessions.CreateSessionInput,
    description: "Create a session and mint its agent token.",
    http: { body: "fields", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/seal/sessions",
    role: "viewer",
    verb: sessions.listSessions,
    input: sessions.SessionQuery,
    description: "List sessions.",
    http: { query: true, listing: "sessions" },
  },
  {
    method: "GET",
    path: "/v1/seal/sessions/:id",
    role: "viewer",
    verb: sessions.getSession,
    input: ById,
    description: "Read one session.",
    http: { params: ["id"] },
  },
  {
    method: "DELETE",
    path: "/v1/seal/sessions/:id",
    role: "operator",
    verb: sessions.revokeSession,
    input: ById,
    description: "Revoke a session.",
    http: { params: ["id"] },
  },

  // Agent keys
  {
    method: "POST",
    path: "/v1/agent-keys",
    role: "operator",
    verb: agentKeys.registerAgentKey,
    input: agentKeys.RegisterAgentKeyInput,
    description: "Register an agent's public key.",
    http: { body: "fields", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/agent-keys",
    role: "viewer",
    verb: agentKeys.listAgentKeys,
    input: agentKeys.AgentKeyQuery,
    description: "List agent keys.",
    http: { query: true, listing: "agent_keys" },
  },
  {
    method: "GET",
    path: "/v1/agent-keys/:id",
    role: "viewer",
    verb: agentKeys.getAgentKey,
    input: ById,
    description: "Read one agent key.",
    http: { params: ["id"] },
  },
  {
    method: "DELETE",
    path: "/v1/agent-keys/:id",
    role: "operator",
    verb: agentKeys.revokeAgentKey,
    input: ById,
    description: "Revoke an agent key.",
    http: { params: ["id"] },
  },

  // Security contexts (DESIGN §3)
  {
    method: "POST",
    path: "/v1/security-contexts",
    role: "operator",
    verb: contexts.createContext,
    document: SecurityContext,
    description: "Create a security context.",
    http: { body: "document", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/security-contexts",
    role: "viewer",
    verb: contexts.listContexts,
    input: ListingQuery,
    description: "List security contexts.",
    http: { query: true, listing: "security_contexts" },
  },
  {
    method: "GET",
    path: "/v1/security-contexts/:name",
    role: "viewer",
    verb: contexts.getContext,
    input: contexts.NameInTenant,
    description: "Read one security context.",
    http: { params: ["name"], query: true },
  },
  {
    method: "PUT",
    path: "/v1/security-contexts/:name",
    role: "operator",
    verb: contexts.updateContext,
    document: SecurityContext,
    description: "Replace a security context.",
    http: { params: ["name"], body: { as: "context" } },
  },
  {
    method: "DELETE",
    path: "/v1/security-contexts/:name",
    role: "operator",
    verb: contexts.deleteContext,
    input: contexts.NameInTenant,
    description: "Delete a security context no active session uses.",
    http: { params: ["name"], query: true },
  },
  {
    method: "POST",
    path: "/v1/security-contexts/:name/evaluate",
    role: "viewer",
    verb: contexts.evaluateContext,
    input: contexts.EvaluateInput,
    description: "Dry run: the decision a call would get; nothing runs.",
    http: { params: ["name"], body: "fields" },
  },
  {
    method: "POST",
    path: "/v1/security-contexts/:name/what-if",
    role: "viewer",
    verb: whatIf.whatIfContext,
    input: whatIf.WhatIfInput,
    description:
      "What-if over history: the context's recorded calls decided again under the current definition and a candidate; nothing runs, one audit row.",
    http: { params: ["name"], body: "fields" },
  },
  {
    method: "GET",
    path: "/v1/security-contexts/:name/suggest",
    role: "viewer",
    verb: suggest.suggestContext,
    input: suggest.SuggestInput,
    description:
      "Least privilege from evidence: the narrowest context that still allows every call allowed in the window.",
    http: { params: ["name"], query: true },
  },

  // Approvals
  {
    method: "GET",
    path: "/v1/approvals",
    role: "viewer",
    verb: approvals.listApprovals,
    input: approvals.ApprovalQuery,
    description: "List approvals.",
    http: { query: true, listing: "approvals" },
  },
  {
    method: "GET",
    path: "/v1/approvals/:id",
    role: "viewer",
    verb: approvals.getApproval,
    input: ById,
    description: "Read one approval.",
    http: { params: ["id"] },
  },
  {
    method: "POST",
    path: "/v1/approvals/:id/approve",
    role: "approver",
    verb: approvals.approveApproval,
    input: approvals.DecisionInput,
    description: "Grant a pending approval.",
    http: { params: ["id"], body: "fields", allowEmpty: true },
  },
  {
    method: "POST",
    path: "/v1/approvals/:id/deny",
    role: "approver",
    verb: approvals.denyApproval,
    input: approvals.DecisionInput,
    description: "Deny a pending approval.",
    http: { params: ["id"], body: "fields", allowEmpty: true },
  },

  // Specs
  {
    method: "POST",
    path: "/v1/specs",
    role: "operator",
    verb: specs.createSpec,
    input: specs.RegisterSpecInput,
    description: "Register an OpenAPI spec.",
    http: { body: "fields", bodyLimit: "spec", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/specs",
    role: "viewer",
    verb: specs.listSpecs,
    input: ListingQuery,
    description: "List specs.",
    http: { query: true, listing: "specs" },
  },
  {
    method: "GET",
    path: "/v1/specs/:id",
    role: "viewer",
    verb: specs.getSpec,
    input: ById,
    description: "Read one spec with its operations.",
    http: { params: ["id"] },
  },
  {
    method: "DELETE",
    path: "/v1/specs/:id",
    role: "operator",
    verb: specs.deleteSpec,
    input: ById,
    description: "Delete a spec no workflow uses.",
    http: { params: ["id"] },
  },

  // Workflows
  {
    method: "POST",
    path: "/v1/workflows",
    role: "operator",
    verb: workflows.createWorkflow,
    document: WorkflowDefinition,
    description: "Register a workflow.",
    http: { body: "document", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/workflows",
    role: "viewer",
    verb: workflows.listWorkflows,
    input: ListingQuery,
    description: "List workflows.",
    http: { query: true, listing: "workflows" },
  },
  {
    method: "GET",
    path: "/v1/workflows/:id",
    role: "viewer",
    verb: workflows.getWorkflow,
    input: ById,
    description: "Read one workflow.",
    http: { params: ["id"] },
  },
  {
    method: "PUT",
    path: "/v1/workflows/:id",
    role: "operator",
    verb: workflows.updateWorkflow,
    document: WorkflowDefinition,
    description: "Replace a workflow's definition.",
    http: { params: ["id"], body: { as: "definition" } },
  },
  {
    method: "DELETE",
    path: "/v1/workflows/:id",
    role: "operator",
    verb: workflows.deleteWorkflow,
    input: ById,
    description: "Delete a workflow.",
    http: { params: ["id"] },
  },

  // CLI tools (`:id` is a `clt_…` id or, as manifests address them, the tool's name)
  {
    method: "POST",
    path: "/v1/cli-tools",
    role: "operator",
    verb: cliTools.createCliTool,
    document: CliToolDefinition,
    description: "Register a CLI tool.",
    http: { body: "document", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/cli-tools",
    role: "viewer",
    verb: cliTools.listCliTools,
    input: ListingQuery,
    description: "List CLI tools.",
    http: { query: true, listing: "cli_tools" },
  },
  {
    method: "GET",
    path: "/v1/cli-tools/:id",
    role: "viewer",
    verb: cliTools.getCliTool,
    input: cliTools.ToolRef,
    description: "Read one CLI tool.",
    http: { params: ["id"], query: true },
  },
  {
    method: "PUT",
    path: "/v1/cli-tools/:id",
    role: "operator",
    verb: cliTools.updateCliTool,
    document: CliToolDefinition,
    description: "Replace a CLI tool's definition.",
    http: { params: ["id"], query: true, body: { as: "definition" } },
  },
  {
    method: "DELETE",
    path: "/v1/cli-tools/:id",
    role: "operator",
    verb: cliTools.deleteCliTool,
    input: cliTools.ToolRef,
    description: "Delete a CLI tool.",
    http: { params: ["id"], query: true },
  },

  // Explorer
  {
    method: "POST",
    path: "/v1/explorer",
    role: "operator",
    verb: explorer.runExplorer,
    input: explorer.ExplorerInput,
    description: "Call one spec operation and slice its answer.",
    http: { body: "document" },
  },

  // Secrets (values are write-only; writes are admin-only)
  {
    method: "GET",
    path: "/v1/secrets",
    role: "viewer",
    verb: secrets.listSecrets,
    input: ListingQuery,
    description: "List secret keys and fingerprints.",
    http: { query: true, listing: "secrets" },
  },
  {
    method: "GET",
    path: SECRET_PATH,
    role: "viewer",
    verb: secrets.getSecret,
    input: secrets.SecretInTenant,
    description: "Read a secret's metadata (never its value).",
    http: { secretKey: true, query: true },
  },
  {
    method: "PUT",
    path: SECRET_PATH,
    role: "admin",
    verb: secrets.putSecret,
    input: secrets.PutSecretInput,
    description: "Write a secret's next version.",
    http: { secretKey: true, query: true, body: "fields", status: "created" },
  },
  {
    method: "DELETE",
    path: SECRET_PATH,
    role: "admin",
    verb: secrets.deleteSecret,
    input: secrets.DeleteSecretInput,
    description: "Delete every version of a secret.",
    http: { secretKey: true, query: true },
  },

  // Credential bindings (UserBound: a user's own secret, per-tool grants)
  {
    method: "POST",
    path: "/v1/credential-bindings",
    role: "operator",
    verb: bindings.createBinding,
    input: bindings.CreateBindingInput,
    description:
      "Bind a user (the verified sub of their token) and a provider to a secret reference, with grants.",
    http: { body: "fields", status: 201 },
  },
  {
    method: "GET",
    path: "/v1/credential-bindings",
    role: "viewer",
    verb: bindings.listBindings,
    input: ListingQuery,
    description: "List credential bindings and their grants.",
    http: { query: true, listing: "credential_bindings" },
  },
  {
    method: "GET",
    path: "/v1/credential-bindings/:id",
    role: "viewer",
    verb: bindings.getBinding,
    input: ById,
    description: "Read one credential binding.",
    http: { params: ["id"] },
  },
  {
    method: "PUT",
    path: "/v1/credential-bindings/:id/grants",
    role: "operator",
    verb: bindings.replaceGrants,
    input: bindings.ReplaceGrantsInput,
    description: "Replace a binding's grants (revoke one by leaving it out; the next call is refused).",
    http: { params: ["id"], body: "fields" },
  },
  {
    method: "DELETE",
    path: "/v1/credential-bindings/:id",
    role: "operator",
    verb: bindings.deleteBinding,
    input: ById,
    description: "Delete a credential binding and its grants (the next call that needs it is refused).",
    http: { params: ["id"] },
  },

  // Events
  {
    method: "GET",
    path: "/v1/events",
    role: "viewer",
    verb: events.listEvents,
    input: events.EventQuery,
    description: "Audit events, newest first, with filters and a cursor.",
    http: { query: true, listing: "items" },
  },
  {
    method: "GET",
    path: "/v1/audit/chain",
    role: "viewer",
    verb: auditChain.readChainState,
    input: auditChain.ChainStateQuery,
    description:
      "The audit chain's state: sealed through which position, the unsealed tail, the newest signed checkpoint.",
    http: { query: true },
  },
  {
    method: "GET",
    path: "/v1/executions/:execution_id/evidence",
    role: "viewer",
    verb: evidence.exportEvidence,
    input: evidence.EvidenceInput,
    description:
      "One execution's evidence pack: its events as stored, their Merkle proofs and signed checkpoints, a summary, the gateway's signature (verify offline with `seal-gateway audit verify --evidence`).",
    http: { params: ["execution_id"] },
  },
  {
    method: "GET",
    path: "/v1/audit/keys",
    role: "viewer",
    verb: evidence.listAuditKeys,
    input: evidence.AuditKeysQuery,
    description:
      "The gateway's public signing keys (JWKS), active and retired: what checkpoints and evidence packs verify with.",
    http: { query: true },
  },
  {
    method: "GET",
    path: "/v1/events/stream",
    role: "viewer",
    verb: eventStream.streamEvents,
    input: eventStream.StreamQuery,
    description: "Audit events as they are written (SSE; Last-Event-ID resumes), with the listing's filters.",
    http: { query: true, sse: true },
  },
];

export function isPublic(route: RouteEntry): route is PublicRoute {
  return route.public === true;
}

export function controlRoutesOf(table: readonly RouteEntry[] = ROUTES): ControlRoute[] {
  return table.filter((r): r is ControlRoute => !isPublic(r));
}
