/** Row builders for the store contract: valid defaults, overridable per test. */
import { randomBytes } from "node:crypto";
import type {
  AgentKeyRow,
  ApiSpecRow,
  ApprovalRow,
  CheckpointRow,
  CliToolRow,
  CredentialBindingRow,
  NewEvent,
  SecretRow,
  SecurityContextRow,
  SessionRow,
  SigningKeyRow,
  WorkflowRow,
} from "../../src/store/types.js";

export function uid(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}

export const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export function signingKey(over: Partial<SigningKeyRow> = {}): SigningKeyRow {
  return {
    kid: uid("kid"),
    alg: "EdDSA",
    publicJwk: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: randomBytes(32).toString("base64url") }),
    privateSealed: `sealed.v1.${randomBytes(48).toString("base64url")}`,
    status: "active",
    createdAt: T0,
    retiredAt: null,
    ...over,
  };
}

export function session(over: Partial<SessionRow> = {}): SessionRow {
  return {
    executionId: uid("exe"),
    tenantId: "default",
    sub: "agent-1",
    securityContext: "ctx-default",
    publicKeyB64: randomBytes(32).toString("base64"),
    allowedToolPatterns: ["wf:*", "cli:ls"],
    tokenJti: uid("jti"),
    status: "Active",
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    revokedAt: null,
    ...over,
  };
}

export function agentKey(over: Partial<AgentKeyRow> = {}): AgentKeyRow {
  return {
    id: uid("ak"),
    tenantId: "default",
    sub: "agent-1",
    publicKeyB64: randomBytes(32).toString("base64"),
    label: "laptop",
    status: "active",
    createdAt: T0,
    revokedAt: null,
    ...over,
  };
}

export function securityContext(over: Partial<SecurityContextRow> = {}): SecurityContextRow {
  return {
    tenantId: "default",
    name: uid("ctx").replace("_", "-"),
    document: '{"capabilities":[{"tool_pattern":"wf:*"}]}',
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function approval(over: Partial<ApprovalRow> = {}): ApprovalRow {
  return {
    id: uid("apr"),
    tenantId: "default",
    status: "pending",
    sub: "agent-1",
    executionId: uid("exe"),
    securityContext: "ctx-default",
    toolName: "wf:deploy",
    argumentsDigest: randomBytes(32).toString("hex"),
    rule: "capabilities[0]",
    summary: '{"env":"prod","token":"[redacted]"}',
    requestId: uid("req"),
    createdAt: T0,
    expiresAt: T0 + 900_000,
    decidedAt: null,
    decidedBy: null,
    reason: null,
    usedAt: null,
    ...over,
  };
}

export function newEvent(over: Partial<NewEvent> = {}): NewEvent {
  return {
    id: uid("evt"),
    createdAt: T0,
    eventType: "ToolCallAuthorized",
    tenantId: "default",
    executionId: "exe_1",
    callId: "call_1",
    agentId: "agent-1",
    toolName: "wf:deploy",
    decision: "allow",
    stage: "authorize",
    code: null,
    requestId: uid("req"),
    payload: '{"args_digest":"sha256:00"}',
    ...over,
  };
}

export function checkpoint(over: Partial<CheckpointRow> = {}): CheckpointRow {
  return {
    id: uid("ckp"),
    createdAt: T0,
    lastChainSeq: 0,
    rowCount: 0,
    headHash: "0".repeat(64),
    firstChainSeq: null,
    batchRoot: null,
    kid: "kid_test",
    signature: randomBytes(64).toString("base64"),
    ...over,
  };
}

/** A fake but well-formed hash for chain position n. */
export function hashOf(n: number): string {
  return n.toString(16).padStart(64, "0");
}

export function apiSpec(over: Partial<ApiSpecRow> = {}): ApiSpecRow {
  const document = JSON.stringify({ openapi: "3.1.0", info: { title: "Pets", version: "1" }, paths: {} });
  return {
    id: uid("spec"),
    tenantId: "default",
    name: uid("pets").replace("_", "-"),
    document,
    hash: randomBytes(32).toString("hex"),
    baseUrl: "https://api.example.com/v1",
    allowedHosts: ["api.example.com"],
    credentialPath: '{"Secret":{"path":"tenants/default/pets"}}',
    sourceUrl: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function workflow(apiSpecId: string, over: Partial<WorkflowRow> = {}): WorkflowRow {
  return {
    id: uid("wf"),
    tenantId: "default",
    name: uid("list-pets").replace("_", "-"),
    description: "Lists the pets of an owner",
    apiSpecId,
    document: '{"input_schema":{"type":"object"},"steps":[{"name":"s1","operation_id":"listPets"}]}',
    hash: randomBytes(32).toString("hex"),
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function cliTool(over: Partial<CliToolRow> = {}): CliToolRow {
  return {
    id: uid("clt"),
    tenantId: "default",
    name: uid("git").replace("_", "-"),
    document: '{"docker_image":"sha256:00","allowed_subcommands":["status"]}',
    hash: randomBytes(32).toString("hex"),
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function credentialBinding(over: Partial<CredentialBindingRow> = {}): CredentialBindingRow {
  return {
    id: uid("cbd"),
    tenantId: "default",
    userSub: uid("user"),
    userIssuer: null,
    provider: "github",
    secretKey: "users/alice/github",
    secretBackend: null,
    secretField: null,
    createdAt: T0,
    createdBy: "ops@example",
    grants: [{ toolPattern: "github.*", securityContext: null }],
    ...over,
  };
}

/** What a promise rejected with, or null if it resolved. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (e: unknown) => e,
  );
}

/** What putSecret takes: a sealed value (never clear text) and its fingerprint. */
export function secretWrite(
  over: Partial<Pick<SecretRow, "tenantId" | "key" | "valueSealed" | "fingerprint">> = {},
): Pick<SecretRow, "tenantId" | "key" | "valueSealed" | "fingerprint"> {
  return {
    tenantId: "default",
    key: uid("shared/token"),
    valueSealed: sealedValue(),
    fingerprint: `fp:${randomBytes(16).toString("hex")}`,
    ...over,
  };
}

/** A sealed-box-looking string of exactly `length` characters (random, so never repeated). */
export function sealedValue(length = 74): string {
  return `sealed.v1.${randomBytes(Math.ceil((length * 3) / 4)).toString("base64url")}`.slice(0, length);
}
