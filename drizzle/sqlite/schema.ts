/**
 * SQLite schema. Kept column-for-column in step with drizzle/pg/schema.ts: both dialects answer
 * one Store contract. JSON is stored as TEXT in both, because the audit hash covers the exact
 * bytes written and a JSON column type would normalise them.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Rows that belong to the gateway itself rather than to a customer tenant. */
const SYSTEM_TENANT = "system";

export const signingKeys = sqliteTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    tenantId: text("tenant_id").notNull().default(SYSTEM_TENANT),
    // Unique key generation: the first key takes generation 1, so two instances racing to create
    // it collide on this constraint and exactly one wins.
    generation: integer("generation").notNull(),
    alg: text("alg", { enum: ["EdDSA"] }).notNull(),
    publicJwk: text("public_jwk").notNull(),
    privateSealed: text("private_sealed").notNull(),
    status: text("status", { enum: ["active", "retired"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    retiredAt: integer("retired_at"),
  },
  (t) => [
    uniqueIndex("signing_keys_generation_uq").on(t.generation),
    check("signing_keys_status_ck", sql`${t.status} in ('active', 'retired')`),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    executionId: text("execution_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    sub: text("sub").notNull(),
    securityContext: text("security_context").notNull(),
    publicKeyB64: text("public_key_b64").notNull(),
    /** JSON array of strings. */
    allowedToolPatterns: text("allowed_tool_patterns").notNull(),
    tokenJti: text("token_jti").notNull(),
    status: text("status", { enum: ["Active", "Revoked", "Expired"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    index("sessions_tenant_status_idx").on(t.tenantId, t.status),
    // The listing's keyset order (src/store/keyset.ts): a page reads from the index, not a sort.
    index("sessions_tenant_created_idx").on(t.tenantId, t.createdAt, t.executionId),
    check("sessions_status_ck", sql`${t.status} in ('Active', 'Revoked', 'Expired')`),
  ],
);

export const agentKeys = sqliteTable(
  "agent_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    sub: text("sub").notNull(),
    publicKeyB64: text("public_key_b64").notNull(),
    label: text("label"),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    index("agent_keys_tenant_sub_idx").on(t.tenantId, t.sub),
    index("agent_keys_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    check("agent_keys_status_ck", sql`${t.status} in ('active', 'revoked')`),
  ],
);

export const replayRecords = sqliteTable(
  "replay_records",
  {
    key: text("key").primaryKey(),
    tenantId: text("tenant_id").notNull().default(SYSTEM_TENANT),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("replay_records_expires_idx").on(t.expiresAt)],
);

export const securityContexts = sqliteTable(
  "security_contexts",
  {
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    document: text("document").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ name: "security_contexts_pk", columns: [t.tenantId, t.name] })],
);

/**
 * Fixed-window counters (rate limits, denial counts). One row per key and window, bumped by a
 * single upsert so concurrent callers never lose an increment.
 */
export const counters = sqliteTable(
  "counters",
  {
    key: text("key").notNull(),
    windowStart: integer("window_start").notNull(),
    tenantId: text("tenant_id").notNull().default(SYSTEM_TENANT),
    count: integer("count").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ name: "counters_pk", columns: [t.key, t.windowStart] }),
    index("counters_expires_idx").on(t.expiresAt),
  ],
);

const APPROVAL_STATUSES = ["pending", "approved", "denied", "used", "expired"] as const;

export const approvals = sqliteTable(
  "approvals",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    status: text("status", { enum: APPROVAL_STATUSES }).notNull(),
    sub: text("sub").notNull(),
    executionId: text("execution_id").notNull(),
    securityContext: text("security_context").notNull(),
    toolName: text("tool_name").notNull(),
    argumentsDigest: text("arguments_digest").notNull(),
    rule: text("rule").notNull(),
    /** Redacted arguments as JSON text. */
    summary: text("summary").notNull(),
    requestId: text("request_id"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    decidedAt: integer("decided_at"),
    decidedBy: text("decided_by"),
    reason: text("reason"),
    usedAt: integer("used_at"),
  },
  (t) => [
    index("approvals_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("approvals_status_created_idx").on(t.status, t.createdAt),
    check("approvals_status_ck", sql`${t.status} in ('pending', 'approved', 'denied', 'used', 'expired')`),
  ],
);

export const gatewayEvents = sqliteTable(
  "gateway_events",
  {
    // AUTOINCREMENT: a deleted tail row's seq is never handed out again, so a removed row cannot
    // be silently replaced by a later one carrying the same position.
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    createdAt: integer("created_at").notNull(),
    eventType: text("event_type").notNull(),
    tenantId: text("tenant_id").notNull(),
    executionId: text("execution_id"),
    callId: text("call_id"),
    agentId: text("agent_id"),
    toolName: text("tool_name"),
    decision: text("decision"),
    stage: text("stage"),
    code: integer("code"),
    requestId: text("request_id"),
    payload: text("payload").notNull(),
    chainSeq: integer("chain_seq"),
    prevHash: text("prev_hash"),
    hash: text("hash"),
  },
  (t) => [
    uniqueIndex("gateway_events_id_uq").on(t.id),
    // Also serves the sealer's "chain_seq is null" poll, so no separate partial index is
    // needed (one fewer index to maintain on the hot insert path).
    uniqueIndex("gateway_events_chain_seq_uq").on(t.chainSeq),
    index("gateway_events_tenant_seq_idx").on(t.tenantId, t.seq),
    index("gateway_events_execution_seq_idx").on(t.executionId, t.seq),
    index("gateway_events_type_seq_idx").on(t.eventType, t.seq),
  ],
);

export const auditCheckpoints = sqliteTable(
  "audit_checkpoints",
  {
    // Insertion order (under the sealing lock) orders checkpoints, even two covering one head.
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    tenantId: text("tenant_id").notNull().default(SYSTEM_TENANT),
    createdAt: integer("created_at").notNull(),
    lastChainSeq: integer("last_chain_seq").notNull(),
    rowCount: integer("row_count").notNull(),
    headHash: text("head_hash").notNull(),
    kid: text("kid").notNull(),
    signature: text("signature").notNull(),
    // The batch this checkpoint sealed (first_chain_seq..last_chain_seq) and the Merkle root of
    // its row hashes, both signed: one row's inclusion is provable without any other row.
    // Null on checkpoints written before batches carried a root.
    firstChainSeq: integer("first_chain_seq"),
    batchRoot: text("batch_root"),
  },
  (t) => [
    uniqueIndex("audit_checkpoints_id_uq").on(t.id),
    // An evidence pack finds the checkpoint whose batch covers a row: the first at or after it.
    index("audit_checkpoints_last_chain_seq_idx").on(t.lastChainSeq),
  ],
);

/**
 * Registered OpenAPI specs (REST tools). `document` is the whole spec as JSON text (up to
 * ~15 MB), kept verbatim so `hash` keeps naming the exact version invocation events cite.
 */
export const apiSpecs = sqliteTable(
  "api_specs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    document: text("document").notNull(),
    hash: text("hash").notNull(),
    baseUrl: text("base_url"),
    /** JSON array of strings: the only hosts the egress guard lets this spec's calls reach. */
    allowedHosts: text("allowed_hosts").notNull(),
    credentialPath: text("credential_path"),
    sourceUrl: text("source_url"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // Also the conflict target of insert: two registrations racing for one name, one wins.
  (t) => [uniqueIndex("api_specs_tenant_name_uq").on(t.tenantId, t.name)],
);

export const workflows = sqliteTable(
  "workflows",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    // A spec still in use cannot vanish from under a workflow, whatever the caller checked
    // first (a workflow may be registered between the check and the delete). NO ACTION rather
    // than RESTRICT: with immediate constraints both refuse the same deletes, but SQLite reports
    // RESTRICT as SQLITE_CONSTRAINT_TRIGGER (the code a RAISE() in a trigger also has) and NO
    // ACTION as SQLITE_CONSTRAINT_FOREIGNKEY, so the store can classify it by code alone.
    apiSpecId: text("api_spec_id")
      .notNull()
      .references(() => apiSpecs.id, { onDelete: "no action", onUpdate: "no action" }),
    document: text("document").notNull(),
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("workflows_tenant_name_uq").on(t.tenantId, t.name),
    index("workflows_api_spec_idx").on(t.apiSpecId),
  ],
);

/**
 * Registered CLI tools (container engine). `document` is the validated definition as JSON text;
 * `hash` names that exact definition in invocation events. Tool names are unique per tenant
 * here; uniqueness across tool kinds (workflows, built-ins) is the registration verb's check.
 */
export const cliTools = sqliteTable(
  "cli_tools",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    document: text("document").notNull(),
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("cli_tools_tenant_name_uq").on(t.tenantId, t.name)],
);

/**
 * One tool name per tenant across kinds: claimed and released by triggers on workflows and
 * cli_tools (migration 0006_tool_names), never written by the code.
 */
export const toolNames = sqliteTable(
  "tool_names",
  {
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
  },
  (t) => [primaryKey({ name: "tool_names_pk", columns: [t.tenantId, t.name] })],
);

/**
 * The built-in secret store. `value_sealed` is sealed under the master key (never clear text);
 * `fingerprint` is keyed and one-way, safe to show. A write replaces the value and bumps
 * `version` in one upsert, so concurrent writers each get their own version number.
 */
export const secrets = sqliteTable(
  "secrets",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    version: integer("version").notNull(),
    valueSealed: text("value_sealed").notNull(),
    fingerprint: text("fingerprint").notNull(),
    createdAt: integer("created_at").notNull(),
    rotatedAt: integer("rotated_at"),
  },
  (t) => [
    primaryKey({ name: "secrets_pk", columns: [t.tenantId, t.key] }),
    check("secrets_version_ck", sql`${t.version} >= 1`),
  ],
);

/**
 * UserBound credentials (DESIGN §4): which secret reference a verified end user's calls use
 * for one provider, in one tenant; each binding's grants say which tools (and, optionally,
 * under which security context) may use it. No grant, no credential.
 */
export const credentialBindings = sqliteTable(
  "credential_bindings",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userSub: text("user_sub").notNull(),
    // The issuer the user's token must come from; null: any trusted issuer (only one trusted).
    userIssuer: text("user_issuer"),
    provider: text("provider").notNull(),
    // The secret it names, as a StaticRef would: key, backend (null: secrets.static_backend), field.
    secretKey: text("secret_key").notNull(),
    secretBackend: text("secret_backend"),
    secretField: text("secret_field"),
    createdAt: integer("created_at").notNull(),
    createdBy: text("created_by").notNull(),
  },
  (t) => [
    uniqueIndex("credential_bindings_user_provider_uq").on(t.tenantId, t.userSub, t.provider),
    index("credential_bindings_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
  ],
);

export const credentialGrants = sqliteTable(
  "credential_grants",
  {
    id: text("id").primaryKey(),
    bindingId: text("binding_id")
      .notNull()
      .references(() => credentialBindings.id, { onDelete: "cascade" }),
    toolPattern: text("tool_pattern").notNull(),
    securityContext: text("security_context"),
    position: integer("position").notNull(),
  },
  (t) => [index("credential_grants_binding_idx").on(t.bindingId, t.position)],
);
