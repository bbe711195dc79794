import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../seal/canonical.js";
import type { AuditStore, CheckpointRow, EventRow } from "../store/types.js";
import { checkpointSignatureValid, rowHash } from "./chain.js";
import { rowInBatch, rowProof } from "./merkle.js";

/**
 * Evidence packs (DESIGN §6): every event of one execution, exactly as stored, with what an
 * auditor needs to check them offline against the gateway's public keys alone:
 *
 * - each sealed event's row hash (recomputed from its own fields and prev_hash) and its
 *   RFC 9162 inclusion proof into the Merkle root of the sealing batch it belongs to;
 * - those batches' checkpoints, each signed by the gateway key over (…, first position, root);
 * - a summary (decisions, approvals, credential key names and fingerprints, argument and
 *   result digests, definition hashes) that the verifier derives again from the events, so
 *   it cannot say anything the events do not;
 * - the gateway's signature over the whole pack, which attests that these are *all* the
 *   execution's events it held at `generated_at` (inclusion proofs show each event is in the
 *   signed chain; only the full-chain `audit verify` shows nothing else was removed from it).
 *
 * No other row travels: proofs are sibling hashes, never another tenant's events.
 */

export const EVIDENCE_FORMAT = "seal-gateway/evidence/v1";
/** Beyond this many events an execution's pack is refused (413) rather than built in memory. */
export const MAX_EVIDENCE_EVENTS = 10_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const ms = z.number().int().nonnegative();
const text = z.string().max(1_000_000);
const maybe = text.nullable();

const ProofSchema = z.strictObject({
  checkpoint_id: z.string().max(200),
  /** Position of the event in its checkpoint's batch; null under a v1 checkpoint (no batch root). */
  leaf_index: z.number().int().nonnegative().nullable(),
  path: z.array(hex64).max(64).nullable(),
});

const EventSchema = z.strictObject({
  id: z.string().max(200),
  seq: z.number().int().positive(),
  created_at_ms: ms,
  event_type: z.string().max(200),
  tenant_id: z.string().max(200),
  execution_id: maybe,
  call_id: maybe,
  agent_id: maybe,
  tool_name: maybe,
  decision: maybe,
  stage: maybe,
  code: z.number().int().nullable(),
  request_id: maybe,
  /** The stored payload text, byte for byte (the row hash covers it as text). */
  payload: text,
  chain_seq: z.number().int().positive().nullable(),
  prev_hash: hex64.nullable(),
  hash: hex64.nullable(),
  proof: ProofSchema.nullable(),
});

const CheckpointSchema = z.strictObject({
  id: z.string().max(200),
  created_at_ms: ms,
  first_chain_seq: z.number().int().positive().nullable(),
  last_chain_seq: z.number().int().nonnegative(),
  row_count: z.number().int().nonnegative(),
  head_hash: hex64,
  batch_root: hex64.nullable(),
  kid: z.string().max(200),
  signature: z.string().max(200),
});

const SummarySchema = z.strictObject({
  events: z.number().int().nonnegative(),
  sealed: z.number().int().nonnegative(),
  unsealed: z.number().int().nonnegative(),
  decisions: z.array(z.unknown()),
  approvals: z.array(z.unknown()),
  credentials: z.array(z.unknown()),
  arguments_digests: z.array(z.string()),
  result_digests: z.array(z.string()),
  definition_hashes: z.array(z.string()),
});

export const EvidencePackSchema = z.strictObject({
  format: z.literal(EVIDENCE_FORMAT),
  execution_id: z.string().max(200),
  generated_at: z.string().max(64),
  /** "sealed": every event is in a signed checkpoint; "partly_unsealed": some are not yet. */
  status: z.enum(["sealed", "partly_unsealed"]),
  events: z.array(EventSchema).min(1).max(MAX_EVIDENCE_EVENTS),
  checkpoints: z.array(CheckpointSchema).max(MAX_EVIDENCE_EVENTS),
  summary: SummarySchema,
  signature: z.strictObject({
    kid: z.string().max(200),
    alg: z.literal("EdDSA"),
    value: z.string().max(200),
  }),
});

export type EvidencePack = z.infer<typeof EvidencePackSchema>;
export type EvidenceEvent = EvidencePack["events"][number];
type EvidenceCheckpoint = EvidencePack["checkpoints"][number];

function toEvidenceEvent(row: EventRow, proof: EvidenceEvent["proof"]): EvidenceEvent {
  return {
    id: row.id,
    seq: row.seq,
    created_at_ms: row.createdAt,
    event_type: row.eventType,
    tenant_id: row.tenantId,
    execution_id: row.executionId,
    call_id: row.callId,
    agent_id: row.agentId,
    tool_name: row.toolName,
    decision: row.decision,
    stage: row.stage,
    code: row.code,
    request_id: row.requestId,
    payload: row.payload,
    chain_seq: row.chainSeq,
    prev_hash: row.prevHash,
    hash: row.hash,
    proof,
  };
}

/** An event of a pack as the stored row its hash covers (what the verifier hashes). */
export function toEventRow(e: EvidenceEvent): EventRow {
  return {
    id: e.id,
    seq: e.seq,
    createdAt: e.created_at_ms,
    eventType: e.event_type,
    tenantId: e.tenant_id,
    executionId: e.execution_id,
    callId: e.call_id,
    agentId: e.agent_id,
    toolName: e.tool_name,
    decision: e.decision,
    stage: e.stage,
    code: e.code,
    requestId: e.request_id,
    payload: e.payload,
    chainSeq: e.chain_seq,
    prevHash: e.prev_hash,
    hash: e.hash,
  } as EventRow;
}

function toEvidenceCheckpoint(cp: CheckpointRow): EvidenceCheckpoint {
  return {
    id: cp.id,
    created_at_ms: cp.createdAt,
    first_chain_seq: cp.firstChainSeq,
    last_chain_seq: cp.lastChainSeq,
    row_count: cp.rowCount,
    head_hash: cp.headHash,
    batch_root: cp.batchRoot,
    kid: cp.kid,
    signature: cp.signature,
  };
}

function toCheckpointRow(cp: EvidenceCheckpoint): CheckpointRow {
  return {
    id: cp.id,
    createdAt: cp.created_at_ms,
    firstChainSeq: cp.first_chain_seq,
    lastChainSeq: cp.last_chain_seq,
    rowCount: cp.row_count,
    headHash: cp.head_hash,
    batchRoot: cp.batch_root,
    kid: cp.kid,
    signature: cp.signature,
  };
}

function payloadOf(e: EvidenceEvent): Record<string, unknown> {
  try {
    const p: unknown = JSON.parse(e.payload);
    return p !== null && typeof p === "object" && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const unique = (values: unknown[]) => [...new Set(values.filter((v): v is string => typeof v === "string"))];

/**
 * What the events say, in their order. Both the builder and the verifier compute it from the
 * events, so a pack's summary is checked, never trusted.
 */
export function summarize(events: readonly EvidenceEvent[]): EvidencePack["summary"] {
  const payloads = events.map(payloadOf);
  const sealed = events.filter((e) => e.chain_seq !== null).length;
  return {
    events: events.length,
    sealed,
    unsealed: events.length - sealed,
    decisions: events.flatMap((e, i) =>
      e.decision === null
        ? []
        : [
            {
              event_id: e.id,
              event_type: e.event_type,
              stage: e.stage,
              decision: e.decision,
              code: e.code,
              rule: payloads[i]?.rule ?? null,
              reason: payloads[i]?.reason ?? null,
            },
          ],
    ),
    approvals: events.flatMap((e, i) => {
      const p = payloads[i] ?? {};
      if (!e.event_type.startsWith("Approval") || p.approval_id === undefined) return [];
      return [
        { event_id: e.id, event_type: e.event_type, approval_id: p.approval_id, actor: p.actor ?? null },
      ];
    }),
    credentials: events.flatMap((e, i) => {
      const p = payloads[i] ?? {};
      if (!e.event_type.startsWith("CredentialExchange")) return [];
      return [
        {
          event_id: e.id,
          event_type: e.event_type,
          credential_path: p.credential_path ?? null,
          key: p.key ?? null,
          fingerprint: p.fingerprint ?? null,
        },
      ];
    }),
    arguments_digests: unique(payloads.map((p) => p.arguments_digest)),
    result_digests: unique(payloads.map((p) => p.result_digest)),
    definition_hashes: unique(payloads.flatMap((p) => [p.definition_hash, p.spec_hash])),
  };
}

function statement(pack: Omit<EvidencePack, "signature">): Buffer {
  return Buffer.from(`${EVIDENCE_FORMAT}\n${canonicalJson(pack)}`, "utf8");
}

export type EvidenceSource = Pick<AuditStore, "listEvents" | "checkpointCovering" | "chainAfter">;

export class EvidenceTooLarge extends Error {}

/**
 * The pack of one execution, or null when the scope (a tenant, or "*") holds none of its
 * events. Sealed events come with their batch proofs; events not sealed yet are included as
 * they are and the pack says `partly_unsealed`.
 */
export async function buildEvidence(
  store: EvidenceSource,
  scope: { tenantId: string; executionId: string },
  signer: { kid: string; privateKey: KeyObject },
  now: number,
): Promise<EvidencePack | null> {
  const rows = await store.listEvents({
    tenantId: scope.tenantId,
    executionId: scope.executionId,
    afterSeq: 0,
    limit: MAX_EVIDENCE_EVENTS + 1,
  });
  if (rows.length === 0) return null;
  if (rows.length > MAX_EVIDENCE_EVENTS) throw new EvidenceTooLarge();

  const checkpoints = new Map<string, CheckpointRow>();
  const batches = new Map<string, string[]>();
  const covering = async (chainSeq: number) => {
    for (const cp of checkpoints.values())
      if (cp.firstChainSeq !== null && cp.firstChainSeq <= chainSeq && chainSeq <= cp.lastChainSeq) return cp;
    const cp = await store.checkpointCovering(chainSeq);
    if (cp) checkpoints.set(cp.id, cp);
    return cp;
  };
  const batchOf = async (cp: CheckpointRow & { firstChainSeq: number }) => {
    let hashes = batches.get(cp.id);
    if (!hashes) {
      const size = cp.lastChainSeq - cp.firstChainSeq + 1;
      const batchRows = await store.chainAfter(cp.firstChainSeq - 1, size);
      hashes = batchRows.map((r) => r.hash ?? "");
      batches.set(cp.id, hashes);
    }
    return hashes;
  };

  const events: EvidenceEvent[] = [];
  for (const row of rows) {
    if (row.chainSeq === null) {
      events.push(toEvidenceEvent(row, null));
      continue;
    }
    const cp = await covering(row.chainSeq);
    if (!cp) {
      // Sealed but no checkpoint after it: the store is damaged; the verifier says so.
      events.push(toEvidenceEvent(row, null));
      continue;
    }
    if (cp.firstChainSeq === null || cp.batchRoot === null) {
      events.push(toEvidenceEvent(row, { checkpoint_id: cp.id, leaf_index: null, path: null }));
      continue;
    }
    const hashes = await batchOf({ ...cp, firstChainSeq: cp.firstChainSeq });
    const index = row.chainSeq - cp.firstChainSeq;
    const complete =
      hashes.length === cp.lastChainSeq - cp.firstChainSeq + 1 && hashes.every((h) => h !== "");
    events.push(
      toEvidenceEvent(
        row,
        complete ? { checkpoint_id: cp.id, leaf_index: index, path: rowProof(hashes, index) } : null,
      ),
    );
  }

  const body: Omit<EvidencePack, "signature"> = {
    format: EVIDENCE_FORMAT,
    execution_id: scope.executionId,
    generated_at: new Date(now).toISOString(),
    status: events.every((e) => e.chain_seq !== null) ? "sealed" : "partly_unsealed",
    events,
    checkpoints: [...checkpoints.values()].map(toEvidenceCheckpoint),
    summary: summarize(events),
  };
  const value = cryptoSign(null, statement(body), signer.privateKey).toString("base64");
  return { ...body, signature: { kid: signer.kid, alg: "EdDSA", value } };
}

export interface EvidenceReport {
  /** intact: every event proven; incomplete: intact so far, some events not provable yet; tampered. */
  status: "intact" | "incomplete" | "tampered";
  execution_id: string | null;
  events: number;
  proven: number;
  unsealed: number;
  /** Sealed under a checkpoint written before batch roots existed: sealed, but not provable alone. */
  unproven: number;
  problems: string[];
}

/** Exit codes as `audit verify` (DESIGN §7): 0 intact, 1 tampered, 3 not all sealed or provable. */
export function evidenceExitCode(report: EvidenceReport): 0 | 1 | 3 {
  if (report.status === "tampered") return 1;
  return report.status === "incomplete" ? 3 : 0;
}

/** Checks a pack (parsed JSON of any shape) against the gateway's public keys, by kid. */
export function verifyEvidence(input: unknown, keys: ReadonlyMap<string, KeyObject>): EvidenceReport {
  const parsed = EvidencePackSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "(top)";
    return {
      status: "tampered",
      execution_id: null,
      events: 0,
      proven: 0,
      unsealed: 0,
      unproven: 0,
      problems: [
        `the file is not a well-formed ${EVIDENCE_FORMAT} pack: ${where}: ${issue?.message ?? "invalid"}`,
      ],
    };
  }
  const pack = parsed.data;
  const problems: string[] = [];
  const report = {
    execution_id: pack.execution_id,
    events: pack.events.length,
    proven: 0,
    unsealed: 0,
    unproven: 0,
  };

  const { signature, ...body } = pack;
  const packKey = keys.get(signature.kid);
  if (!packKey)
    problems.push(`the pack is signed by key ${signature.kid}, which is not one of the given keys`);
  else if (!safeVerify(statement(body), packKey, signature.value))
    problems.push("the pack's signature is invalid: it was changed after the gateway signed it");

  const checkpoints = new Map<string, CheckpointRow>();
  for (const cp of pack.checkpoints) {
    if (checkpoints.has(cp.id)) problems.push(`checkpoint ${cp.id} appears twice`);
    const row = toCheckpointRow(cp);
    checkpoints.set(cp.id, row);
    const key = keys.get(cp.kid);
    if (!key)
      problems.push(`checkpoint ${cp.id} is signed by key ${cp.kid}, which is not one of the given keys`);
    else if (!checkpointSignatureValid(row, key))
      problems.push(`checkpoint ${cp.id} has an invalid signature`);
  }

  const ids = new Set<string>();
  const positions = new Set<number>();
  let lastSeq = 0;
  for (const e of pack.events) {
    if (ids.has(e.id)) problems.push(`event ${e.id} appears twice`);
    ids.add(e.id);
    if (e.seq <= lastSeq) problems.push(`event ${e.id} is out of order (seq ${e.seq} after ${lastSeq})`);
    lastSeq = Math.max(lastSeq, e.seq);
    if (e.execution_id !== pack.execution_id)
      problems.push(`event ${e.id} belongs to execution ${e.execution_id}, not ${pack.execution_id}`);
    const problem = eventProblem(e, checkpoints, positions);
    if (problem === "unsealed") report.unsealed++;
    else if (problem === "unproven") report.unproven++;
    else if (problem === null) report.proven++;
    else problems.push(problem);
  }

  if (canonicalJson(summarize(pack.events)) !== canonicalJson(pack.summary))
    problems.push("the summary does not match the events");
  const status = pack.events.every((e) => e.chain_seq !== null) ? "sealed" : "partly_unsealed";
  if (pack.status !== status) problems.push(`the pack says ${pack.status}, its events say ${status}`);

  const incomplete = report.unsealed + report.unproven > 0;
  return {
    status: problems.length > 0 ? "tampered" : incomplete ? "incomplete" : "intact",
    ...report,
    problems,
  };
}

/** null when proven; "unsealed" / "unproven" when it cannot be (yet); else the problem. */
function eventProblem(
  e: EvidenceEvent,
  checkpoints: ReadonlyMap<string, CheckpointRow>,
  positions: Set<number>,
): string | "unsealed" | "unproven" | null {
  if (e.chain_seq === null) {
    if (e.prev_hash !== null || e.hash !== null || e.proof !== null)
      return `event ${e.id} carries chain fields but no chain position`;
    return "unsealed";
  }
  if (positions.has(e.chain_seq)) return `chain position ${e.chain_seq} appears twice`;
  positions.add(e.chain_seq);
  if (e.prev_hash === null || e.hash === null) return `event ${e.id} is sealed but has no hash`;
  if (rowHash(toEventRow(e), e.chain_seq, e.prev_hash) !== e.hash)
    return `event ${e.id} (position ${e.chain_seq}) does not match its hash: its content was changed`;
  if (e.proof === null) return `event ${e.id} is sealed at position ${e.chain_seq} but carries no proof`;
  const cp = checkpoints.get(e.proof.checkpoint_id);
  if (!cp) return `event ${e.id} names checkpoint ${e.proof.checkpoint_id}, which the pack does not hold`;
  if (cp.firstChainSeq === null || cp.batchRoot === null) {
    if (e.chain_seq > cp.lastChainSeq) return `event ${e.id} lies after checkpoint ${cp.id}`;
    return "unproven";
  }
  if (e.chain_seq < cp.firstChainSeq || e.chain_seq > cp.lastChainSeq)
    return `event ${e.id} (position ${e.chain_seq}) is outside checkpoint ${cp.id}'s batch`;
  const index = e.chain_seq - cp.firstChainSeq;
  if (e.proof.leaf_index !== index) return `event ${e.id}'s proof names the wrong leaf`;
  const size = cp.lastChainSeq - cp.firstChainSeq + 1;
  if (!rowInBatch(e.hash, index, size, e.proof.path, cp.batchRoot))
    return `event ${e.id}'s inclusion proof does not lead to checkpoint ${cp.id}'s signed root`;
  return null;
}

function safeVerify(data: Buffer, key: KeyObject, signatureB64: string): boolean {
  try {
    return cryptoVerify(null, data, key, Buffer.from(signatureB64, "base64"));
  } catch {
    return false;
  }
}
