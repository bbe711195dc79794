/**
 * A started test gateway plus what the audit tests need around it: a way to write and seal
 * rows, a second raw connection to tamper with the database, and the keyring `audit verify`
 * would load (a fresh one, read from the database like the CLI does).
 */
import type { KeyObject } from "node:crypto";
import { type VerifyReport, verifyChain } from "../../src/audit/verify.js";
import type { MasterKey } from "../../src/crypto/sealed-box.js";
import { type Keyring, loadKeyring } from "../../src/keys/keyring.js";
import { decodeMasterKey } from "../../src/keys/master-key.js";
import { silentLogger } from "../../src/log/logger.js";
import type { EventRow } from "../../src/store/types.js";
import { type Backend, startTestGateway, type TestGateway } from "../support/gateway.js";
import { openRawDb, type RawDb, type Row } from "./raw-db.js";

export interface AuditHarness {
  t: TestGateway;
  db: RawDb;
  master: MasterKey;
  /** Writes `n` audit rows through the gateway's recorder (unsealed). */
  record(n: number): Promise<void>;
  sealAll(): Promise<number>;
  /** Loads the keyring afresh from the database, as `seal-gateway audit verify` does. */
  keyring(): Promise<Keyring>;
  verify(keys?: Map<string, KeyObject>): Promise<VerifyReport>;
  /** Sealed rows in chain order, read through the raw connection. */
  chain(): Promise<Row[]>;
  close(): Promise<void>;
}

export function masterOf(t: TestGateway): MasterKey {
  const b64 = t.config.secrets.master_key;
  if (b64 === undefined) throw new Error("test gateway has no configured master key");
  return decodeMasterKey(b64);
}

/** An EventRow from a raw gateway_events row (snake_case, as stored). */
export function eventFromRaw(r: Row): EventRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    seq: Number(r.seq),
    id: String(r.id),
    createdAt: Number(r.created_at),
    eventType: String(r.event_type),
    tenantId: String(r.tenant_id),
    executionId: str(r.execution_id),
    callId: str(r.call_id),
    agentId: str(r.agent_id),
    toolName: str(r.tool_name),
    decision: str(r.decision),
    stage: str(r.stage),
    code: num(r.code),
    requestId: str(r.request_id),
    payload: String(r.payload),
    chainSeq: num(r.chain_seq),
    prevHash: str(r.prev_hash),
    hash: str(r.hash),
  };
}

export async function auditHarness(backend: Backend): Promise<AuditHarness> {
  const t = await startTestGateway(backend);
  const db = openRawDb(t.config.database.url ?? "");
  const master = masterOf(t);
  let counter = 0;
  const h: AuditHarness = {
    t,
    db,
    master,
    async record(n) {
      for (let i = 0; i < n; i++) {
        counter += 1;
        await t.gw.audit.record({
          eventType: "ToolCallAuthorized",
          tenantId: "default",
          executionId: `exe-${counter}`,
          callId: `call-${counter}`,
          agentId: "agent-1",
          toolName: "demo.tool",
          decision: "allow",
          stage: "authorize",
          code: null,
          requestId: `req-${counter}`,
          payload: { rule: `capabilities[${counter}]`, arguments_digest: "0".repeat(64) },
        });
      }
    },
    sealAll: () => t.gw.sealer.sealNow(true),
    keyring: () => loadKeyring(t.gw.store, master, silentLogger),
    async verify(keys) {
      return await verifyChain(t.gw.store, keys ?? (await h.keyring()).publicKeys());
    },
    chain: () => db.rows("select * from gateway_events where chain_seq is not null order by chain_seq"),
    async close() {
      await db.close();
      await t.close();
    },
  };
  return h;
}
