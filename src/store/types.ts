/**
 * The storage port. One interface, two adapters (SQLite via better-sqlite3, PostgreSQL via
 * postgres.js), both through drizzle, both held to one contract suite
 * (test/store/contract.ts). All times are integer milliseconds since the Unix epoch.
 * Every row carries a tenant_id.
 */

export type Dialect = "sqlite" | "postgres";

/**
 * Keyset pagination (docs/api.md "Pagination"): the rows strictly after `after` in the listing's
 * own order, at most `limit`. A listing called without a page returns every row (the gateway's
 * own callers: the tool registry, dependency checks). Rows inserted while a caller pages land
 * before or after the position and never shift it, so no existing row is repeated or skipped.
 */
export interface Page<K> {
  after?: K;
  limit: number;
}

/** The key of a listing ordered by creation: (created_at, id), the id breaking ties. */
export interface CreatedKey {
  createdAt: number;
  id: string;
}

/** The key of a listing ordered by name: (tenant_id, name), unique per table. */
export interface NameKey {
  tenantId: string;
  name: string;
}

export interface SigningKeyRow {
  kid: string;
  alg: "EdDSA";
  /** Public key as an OKP JWK JSON string (no private part). */
  publicJwk: string;
  /** Private key sealed by the master key (see src/crypto/sealed-box.ts); never clear text. */
  privateSealed: string;
  status: "active" | "retired";
  createdAt: number;
  retiredAt: number | null;
}

export type SessionStatus = "Active" | "Revoked" | "Expired";

export interface SessionRow {
  executionId: string;
  tenantId: string;
  sub: string;
  securityContext: string;
  /** Raw 32-byte Ed25519 public key, standard base64. */
  publicKeyB64: string;
  allowedToolPatterns: string[];
  /** jti of the token minted for this session. */
  tokenJti: string;
  status: SessionStatus;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface AgentKeyRow {
  id: string;
  tenantId: string;
  sub: string;
  publicKeyB64: string;
  label: string | null;
  status: "active" | "revoked";
  createdAt: number;
  revokedAt: number | null;
}

/** An event as written in the hot path: no chain fields yet (the sealer adds them). */
export interface NewEvent {
  id: string;
  createdAt: number;
  eventType: string;
  tenantId: string;
  executionId: string | null;
  callId: string | null;
  agentId: string | null;
  toolName: string | null;
  decision: string | null;
  stage: string | null;
  code: number | null;
  requestId: string | null;
  /** Canonical JSON text; never holds secret values. */
  payload: string;
}

export interface EventRow extends NewEvent {
  /** Database sequence: the order rows were inserted (committed order may differ). */
  seq: number;
  /** Position in the hash chain; null until the sealer has sealed the row. */
  chainSeq: number | null;
  prevHash: string | null;
  hash: string | null;
}

export interface EventFilter {
  /** A tenant, or "*" for all tenants. */
  tenantId: string;
  type?: string;
  agent?: string;
  tool?: string;
  decision?: string;
  stage?: string;
  executionId?: string;
  since?: number;
  until?: number;
  /** Return rows with seq strictly below this (cursor pagination, newest first). */
  beforeSeq?: number;
  /** Return rows with seq strictly above this, oldest first (the live stream's cursor). */
  afterSeq?: number;
  limit: number;
}

/**
 * The event types whose rows carry a recorded call (`security_context` and redacted
 * `arguments` in the payload, on the first decision row of each call: DESIGN §3 what-if).
 */
export const RECORDED_CALL_TYPES = [
  "ToolCallAuthorized",
  "PolicyDenied",
  "ApprovalRequested",
  "ApprovalPending",
  "ApprovalRejected",
] as const;

/** The recorded calls of one security context, oldest first, keyset by seq. */
export interface RecordedCallFilter {
  tenantId: string;
  securityContext: string;
  since?: number;
  until?: number;
  /** Rows with seq strictly above this. */
  afterSeq?: number;
  limit: number;
}

export interface CheckpointRow {
  id: string;
  createdAt: number;
  /** chain_seq of the last sealed row this checkpoint covers. */
  lastChainSeq: number;
  /** Number of sealed rows (chain positions 1..lastChainSeq). */
  rowCount: number;
  headHash: string;
  kid: string;
  /** base64 Ed25519 signature over the checkpoint's canonical statement. */
  signature: string;
  /**
   * The first chain position of the batch this checkpoint sealed, and the Merkle root
   * (RFC 9162) of that batch's row hashes; both signed. Null on checkpoints written before
   * batches carried a root (statement v1).
   */
  firstChainSeq: number | null;
  batchRoot: string | null;
}

export interface SealedUpdate {
  seq: number;
  chainSeq: number;
  prevHash: string;
  hash: string;
}

export interface SecurityContextRow {
  tenantId: string;
  name: string;
  /** The validated context document as JSON text. */
  document: string;
  createdAt: number;
  updatedAt: number;
}

export type ApprovalStatus = "pending" | "approved" | "denied" | "used" | "expired";

export interface ApprovalRow {
  id: string;
  tenantId: string;
  status: ApprovalStatus;
  sub: string;
  executionId: string;
  securityContext: string;
  toolName: string;
  /** sha256 hex of the canonical arguments: the approval covers exactly these. */
  argumentsDigest: string;
  /** The deciding rule (e.g. "capabilities[2]"). */
  rule: string;
  /** Redacted arguments for the approver to read (JSON text). */
  summary: string;
  requestId: string | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  reason: string | null;
  usedAt: number | null;
}

export interface ApiSpecRow {
  id: string;
  tenantId: string;
  name: string;
  /** The spec as registered (JSON text, YAML converted), for re-indexing on load. */
  document: string;
  /** sha256 hex of `document`: names the exact spec version in invocation events. */
  hash: string;
  baseUrl: string | null;
  allowedHosts: string[];
  /** AEGIS externally-tagged credential path as JSON text, or null. */
  credentialPath: string | null;
  sourceUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A spec row without its (possibly multi-megabyte) document: what a call needs. */
export type ApiSpecMeta = Omit<ApiSpecRow, "document">;

export interface WorkflowRow {
  id: string;
  tenantId: string;
  /** Also the tool name agents call. */
  name: string;
  description: string;
  apiSpecId: string;
  /** The validated workflow definition (input_schema, steps) as JSON text. */
  document: string;
  /** sha256 hex of `document`. */
  hash: string;
  createdAt: number;
  updatedAt: number;
}

export interface CliToolRow {
  /** `clt_…` */
  id: string;
  tenantId: string;
  /** Also the tool name agents call. */
  name: string;
  /** The validated CLI tool definition (src/engines/cli/definition.ts) as JSON text. */
  document: string;
  /** `sha256:<hex>` of the canonical definition: names it in invocation events. */
  hash: string;
  createdAt: number;
  updatedAt: number;
}

export interface SecretRow {
  tenantId: string;
  /** Path-like name (`shared/token`), unique per tenant. */
  key: string;
  /** 1 for the first value; every write of a new value adds one. */
  version: number;
  /** The value sealed under the master key (src/crypto/sealed-box.ts); never clear text. */
  valueSealed: string;
  /** Keyed, one-way fingerprint of the value: safe to show and to log. */
  fingerprint: string;
  createdAt: number;
  /** When the current version was written (null for version 1). */
  rotatedAt: number | null;
}

/** A sealed value anywhere in the store, for master-key rotation. */
export interface SealedValueRef {
  kind: "secret" | "signing_key";
  /** secret: `${tenantId}\u0000${key}`; signing_key: the kid. */
  id: string;
  sealed: string;
}

/** Opening, migrating and closing the database; every adapter. */
export interface StoreLifecycle {
  readonly dialect: Dialect;
  /** Applies pending migrations from drizzle/<dialect>/migrations. Idempotent. */
  migrate(): Promise<void>;
  /** Throws if the database cannot answer a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Gateway signing keys (shared by every instance on one database). */
export interface SigningKeyStore {
  listSigningKeys(): Promise<SigningKeyRow[]>;
  /**
   * Inserts the first key only if no signing key exists yet, atomically across instances;
   * returns true when this call inserted it.
   */
  insertFirstSigningKey(row: SigningKeyRow): Promise<boolean>;
  /**
   * Signing-key rotation: in one transaction, retires every active key (status `retired`,
   * `retired_at` = `at`) and inserts `row` as the active key of the next generation. Returns the
   * kids retired. Two rotations at once: one commits, the other fails on the generation.
   */
  rotateSigningKey(row: SigningKeyRow, at: number): Promise<string[]>;
}

/** Sessions (RFC §6.4.2) and registered agent keys: who may sign a call. */
export interface SessionStore {
  insertSession(row: SessionRow): Promise<void>;
  /** By execution id across all tenants (the binding step compares the tenant itself). */
  getSession(executionId: string): Promise<SessionRow | null>;
  /**
   * A tenant, or "*" for all tenants; ordered by (created_at, execution_id). With `at`, a status
   * is judged as the view does: Active is stored Active and not expired at `at`, Expired is
   * stored Expired or stored Active and expired; without `at`, the stored status is compared.
   */
  listSessions(
    tenantId: string,
    status?: SessionStatus,
    opts?: { at?: number; page?: Page<CreatedKey> },
  ): Promise<SessionRow[]>;
  /** Sets Revoked if Active; returns the row after the change, or null if absent. */
  revokeSession(executionId: string, at: number): Promise<SessionRow | null>;

  insertAgentKey(row: AgentKeyRow): Promise<void>;
  getAgentKey(id: string): Promise<AgentKeyRow | null>;
  /** A tenant, or "*" for all tenants; ordered by (created_at, id). */
  listAgentKeys(tenantId: string, sub?: string, page?: Page<CreatedKey>): Promise<AgentKeyRow[]>;
  /** Every key (active and revoked) of one sub in one tenant. */
  agentKeysFor(tenantId: string, sub: string): Promise<AgentKeyRow[]>;
  revokeAgentKey(id: string, at: number): Promise<AgentKeyRow | null>;
}

/** Replay records: true when the key was new (inserted), false when already present. */
export interface ReplayStore {
  recordReplay(key: string, expiresAt: number): Promise<boolean>;
  /** Deletes at most `limit` rows expired before `now`; returns how many. */
  sweepReplay(now: number, limit: number): Promise<number>;
  /** Replay records held now, expired but not yet swept included (the metrics gauge). */
  countReplay(): Promise<number>;
}

/** Fixed-window counters (rate limits, denial counts), shared by every instance. */
export interface CounterStore {
  /**
   * Atomically adds 1 to the counter (key, windowStart), creating it with count 1, and
   * returns the new count. `expiresAt` lets the sweeper remove old windows.
   */
  incrementCounter(key: string, windowStart: number, expiresAt: number): Promise<number>;
  /** Deletes at most `limit` windows expired before `now`; returns how many. */
  sweepCounters(now: number, limit: number): Promise<number>;
}

/** Security contexts, counters and approvals: what the authorize stage reads and changes. */
export interface AuthorizationStore extends CounterStore {
  getSecurityContext(tenantId: string, name: string): Promise<SecurityContextRow | null>;
  /** Insert only; false when (tenant, name) already exists. */
  insertSecurityContext(row: SecurityContextRow): Promise<boolean>;
  /** Update only; false when absent. */
  updateSecurityContext(
    tenantId: string,
    name: string,
    document: string,
    updatedAt: number,
  ): Promise<boolean>;
  /** A tenant, or "*" for all; ordered by tenant, name. */
  listSecurityContexts(tenantId: string, page?: Page<NameKey>): Promise<SecurityContextRow[]>;
  deleteSecurityContext(tenantId: string, name: string): Promise<boolean>;
  /** Sessions with status Active and expiresAt > now that name this context. */
  countActiveSessionsForContext(tenantId: string, name: string, now: number): Promise<number>;

  insertApproval(row: ApprovalRow): Promise<void>;
  getApproval(id: string): Promise<ApprovalRow | null>;
  /**
   * A tenant or "*"; newest first, by (created_at, id) descending; optional status filter; at most
   * limit; `before` pages on (rows strictly older). With `at`, the status is judged as the view
   * does: "expired" is pending or approved and expired at `at`, "pending" and "approved" are not
   * yet expired; without `at`, the stored status is compared.
   */
  listApprovals(
    tenantId: string,
    status: ApprovalStatus | undefined,
    limit: number,
    opts?: { before?: CreatedKey; at?: number },
  ): Promise<ApprovalRow[]>;
  /** pending → approved|denied, only while pending; returns the row after, or null if it was not pending. */
  decideApproval(
    id: string,
    status: "approved" | "denied",
    decidedBy: string,
    reason: string | null,
    at: number,
  ): Promise<ApprovalRow | null>;
  /** approved → used, atomically and only once; false if it was not approved (or already used). */
  consumeApproval(id: string, at: number): Promise<boolean>;
}

/** OpenAPI specs and workflows (REST tools). Names are unique per tenant. */
export interface ToolStore {
  /** Insert only; false when (tenant, name) already exists. */
  insertSpec(row: ApiSpecRow): Promise<boolean>;
  getSpec(id: string): Promise<ApiSpecRow | null>;
  /** The row without its document (read on every call that uses the spec). */
  getSpecMeta(id: string): Promise<ApiSpecMeta | null>;
  getSpecByName(tenantId: string, name: string): Promise<ApiSpecRow | null>;
  /** A tenant, or "*"; ordered by tenant, name. */
  listSpecs(tenantId: string, page?: Page<NameKey>): Promise<ApiSpecRow[]>;
  deleteSpec(id: string): Promise<boolean>;
  countWorkflowsForSpec(specId: string): Promise<number>;
  /** Insert only; false when (tenant, name) already exists. */
  insertWorkflow(row: WorkflowRow): Promise<boolean>;
  getWorkflow(id: string): Promise<WorkflowRow | null>;
  getWorkflowByName(tenantId: string, name: string): Promise<WorkflowRow | null>;
  /** A tenant, or "*"; ordered by tenant, name. */
  listWorkflows(tenantId: string, page?: Page<NameKey>): Promise<WorkflowRow[]>;
  /** Replaces description, spec, document and hash; false when absent. */
  updateWorkflow(
    id: string,
    patch: Pick<WorkflowRow, "description" | "apiSpecId" | "document" | "hash" | "updatedAt">,
  ): Promise<boolean>;
  deleteWorkflow(id: string): Promise<boolean>;
}

/** Registered CLI tools (container engine). Names are unique per tenant. */
export interface CliToolStore {
  /** Insert only; false when (tenant, name) already exists. */
  insertCliTool(row: CliToolRow): Promise<boolean>;
  getCliTool(id: string): Promise<CliToolRow | null>;
  getCliToolByName(tenantId: string, name: string): Promise<CliToolRow | null>;
  /** A tenant, or "*"; ordered by tenant, name. */
  listCliTools(tenantId: string, page?: Page<NameKey>): Promise<CliToolRow[]>;
  /** Replaces document and hash; false when absent. */
  updateCliTool(id: string, patch: Pick<CliToolRow, "document" | "hash" | "updatedAt">): Promise<boolean>;
  deleteCliTool(id: string): Promise<boolean>;
}

/** A UserBound binding (user, provider, tenant → a secret reference) and its grants, in order. */
export interface CredentialBindingRow {
  id: string;
  tenantId: string;
  userSub: string;
  /** The issuer the user's token must come from; null: any trusted issuer. */
  userIssuer: string | null;
  provider: string;
  secretKey: string;
  secretBackend: string | null;
  secretField: string | null;
  createdAt: number;
  createdBy: string;
  grants: CredentialGrant[];
}

export interface CredentialGrant {
  toolPattern: string;
  /** Only calls under this security context; null: any. */
  securityContext: string | null;
}

/** Credential bindings (DESIGN §4 UserBound). (tenant, user, provider) is unique. */
export interface CredentialBindingStore {
  /** Inserts the binding and its grants together; false when (tenant, user, provider) exists. */
  insertCredentialBinding(row: CredentialBindingRow): Promise<boolean>;
  getCredentialBinding(id: string): Promise<CredentialBindingRow | null>;
  findCredentialBinding(
    tenantId: string,
    userSub: string,
    provider: string,
  ): Promise<CredentialBindingRow | null>;
  /** A tenant, or "*"; oldest first by (created_at, id). */
  listCredentialBindings(tenantId: string, page?: Page<CreatedKey>): Promise<CredentialBindingRow[]>;
  /** Replaces the binding's grants (in order); false when the binding is absent. */
  replaceCredentialGrants(id: string, grants: readonly CredentialGrant[]): Promise<boolean>;
  /** The binding and its grants; false when absent. */
  deleteCredentialBinding(id: string): Promise<boolean>;
}

/** The built-in secret store (values sealed by the master key) and master-key rotation. */
export interface SecretStore {
  getSecret(tenantId: string, key: string): Promise<SecretRow | null>;
  /** A tenant, or "*"; ordered by tenant, key (the page's `name` is the key). */
  listSecrets(tenantId: string, page?: Page<NameKey>): Promise<SecretRow[]>;
  /**
   * Writes a value: creates version 1, or replaces the current value with version+1
   * (atomically; concurrent writers each get a distinct version). Returns the row written.
   */
  putSecret(row: Omit<SecretRow, "version" | "createdAt" | "rotatedAt">, at: number): Promise<SecretRow>;
  deleteSecret(tenantId: string, key: string): Promise<boolean>;
  /** Every sealed value (secrets and signing keys), for master-key rotation. */
  listSealedValues(): Promise<SealedValueRef[]>;
  /**
   * Replaces sealed values in ONE transaction; each update applies only if the stored value
   * still equals `previous` (else nothing is written and false is returned).
   */
  replaceSealedValues(updates: Array<SealedValueRef & { previous: string }>): Promise<boolean>;
}

/** A replay record to take: fresh when no record under `key` existed (RFC §5.3). */
export interface ReplayClaim {
  key: string;
  expiresAt: number;
}

/** Rows of several calls written in one transaction (group commit, src/store/group-commit.ts). */
export interface WriteBatch {
  events: NewEvent[];
  replays: ReplayClaim[];
}

export interface WriteBatchResult {
  /** The sequence number of each event, in the order given. */
  seqs: number[];
  /** Per replay claim, in the order given: true when it was fresh (the first of its key). */
  fresh: boolean[];
}

/** How one hot-path row is appended. */
export interface AppendOptions {
  /**
   * The id of an earlier row of the same call that this row must never be committed without.
   * Under group commit (the gateway's store, src/store/group-commit.ts) the row is refused,
   * failing its caller with that row's failure, when that row's batch failed; otherwise it is
   * written in the same or a later transaction. The adapters write each row on its own and
   * ignore it: there the caller awaits the earlier row first.
   */
  after?: string;
}

/** Audit events, their hash chain and the signed checkpoints. */
export interface AuditStore {
  appendEvent(event: NewEvent, opts?: AppendOptions): Promise<number>;
  /**
   * Writes every event and replay record of the batch in one transaction: all or nothing. A
   * replay key already held, or repeated within the batch, is not fresh (and is no failure).
   */
  writeBatch(batch: WriteBatch): Promise<WriteBatchResult>;
  listEvents(filter: EventFilter): Promise<EventRow[]>;
  /** One page of recorded calls (what-if, suggest): streamed by the caller, never all at once. */
  listRecordedCalls(filter: RecordedCallFilter): Promise<EventRow[]>;
  /** Unsealed rows (chain_seq null) in seq order, at most limit. */
  unsealedEvents(limit: number): Promise<EventRow[]>;
  /** The sealed row with the highest chain_seq, or null. */
  chainHead(): Promise<EventRow | null>;
  /**
   * Writes chain fields for the given rows and a checkpoint in one transaction, under an
   * exclusive sealing lock (so two instances never seal at once). `expectedHeadChainSeq`
   * must still be the current head (0 for an empty chain) or nothing is written and false
   * is returned.
   */
  sealBatch(
    updates: SealedUpdate[],
    checkpoint: CheckpointRow,
    expectedHeadChainSeq: number,
  ): Promise<boolean>;
  /** Every checkpoint, oldest first. */
  listCheckpoints(): Promise<CheckpointRow[]>;
  /** The newest checkpoint, or null before the first. */
  lastCheckpoint(): Promise<CheckpointRow | null>;
  /**
   * The checkpoint whose batch holds chain position `chainSeq`: the first (lowest last_chain_seq,
   * then oldest) at or after it; null while the position is not sealed.
   */
  checkpointCovering(chainSeq: number): Promise<CheckpointRow | null>;
  /** Sealed rows in chain order with chainSeq > after, at most limit. */
  chainAfter(afterChainSeq: number, limit: number): Promise<EventRow[]>;
  countEvents(): Promise<{ total: number; sealed: number }>;
  /** Rows not sealed yet and the creation time (unix ms) of the oldest, for the sealer-lag gauges. */
  unsealedSummary(): Promise<{ count: number; oldestCreatedAt: number | null }>;
}

/**
 * The control-plane changes that touch only the database, each recorded by an audit event
 * written in the same transaction (DESIGN §6; STYLE "audit in the same transaction").
 */
export type AuditedWrite = Pick<
  SessionStore,
  "insertSession" | "revokeSession" | "insertAgentKey" | "revokeAgentKey"
> &
  Pick<
    AuthorizationStore,
    "insertSecurityContext" | "updateSecurityContext" | "deleteSecurityContext" | "decideApproval"
  > &
  Pick<ToolStore, "insertSpec" | "deleteSpec" | "insertWorkflow" | "updateWorkflow" | "deleteWorkflow"> &
  Pick<CliToolStore, "insertCliTool" | "updateCliTool" | "deleteCliTool"> &
  Pick<SecretStore, "putSecret" | "deleteSecret"> &
  Pick<
    CredentialBindingStore,
    "insertCredentialBinding" | "replaceCredentialGrants" | "deleteCredentialBinding"
  >;

export type AuditedOp = keyof AuditedWrite;

export interface AuditedWrites {
  /**
   * Runs one control-plane change and inserts `event` in the same transaction. A change that
   * did not take effect (it answered false or null: a lost race on a unique name, a row already
   * gone) writes no event either; a failed event insert rolls the change back, so the trail
   * never shows a change that did not happen nor misses one that did.
   */
  audited<K extends AuditedOp>(
    event: NewEvent,
    op: K,
    ...args: Parameters<AuditedWrite[K]>
  ): Promise<Awaited<ReturnType<AuditedWrite[K]>>>;
}

/**
 * The storage port: one object implementing every narrow port. Consumers declare the port
 * they need (a service that registers specs takes `ToolStore & AuditedWrites`, not `Store`).
 */
export interface Store
  extends StoreLifecycle,
    SigningKeyStore,
    SessionStore,
    ReplayStore,
    AuthorizationStore,
    ToolStore,
    CliToolStore,
    SecretStore,
    CredentialBindingStore,
    AuditStore,
    AuditedWrites {}
