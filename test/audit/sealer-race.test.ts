/**
 * Sealing from several instances at once: the chain never forks, and every row is sealed
 * exactly once — including rows whose transactions commit out of sequence order (PostgreSQL),
 * and rows written while a batch is being sealed in slices.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { Sealer } from "../../src/audit/sealer.js";
import { verifyChain } from "../../src/audit/verify.js";
import { masterKeyFromBytes } from "../../src/crypto/sealed-box.js";
import { type Keyring, loadKeyring } from "../../src/keys/keyring.js";
import { silentLogger } from "../../src/log/logger.js";
import { openStore } from "../../src/store/open.js";
import type { NewEvent, Store } from "../../src/store/types.js";
import { BACKENDS, type Backend } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { openRawDb } from "./raw-db.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function databaseUrl(backend: Backend): Promise<string> {
  if (backend === "postgres") {
    const db = await freshPgDatabase();
    cleanups.push(db.drop);
    return db.url;
  }
  const dir = mkdtempSync(join(tmpdir(), "seal-race-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return `sqlite://${join(dir, "gateway.db")}`;
}

async function instance(url: string, master: Buffer): Promise<{ store: Store; keyring: Keyring }> {
  const store = await openStore({ url, durability: "normal" });
  cleanups.push(() => store.close());
  await store.migrate();
  const keyring = await loadKeyring(store, masterKeyFromBytes(master), silentLogger);
  return { store, keyring };
}

function sealerFor(store: Store, keyring: Keyring, batchSize = 7): Sealer {
  return new Sealer({ store, signingKey: () => keyring.active, log: silentLogger, settleMs: 0, batchSize });
}

let counter = 0;
function event(): NewEvent {
  counter += 1;
  return {
    id: `evt_${randomBytes(8).toString("hex")}`,
    createdAt: Date.now(),
    eventType: "ToolCallAuthorized",
    tenantId: "default",
    executionId: `exe-${counter}`,
    callId: null,
    agentId: "agent-1",
    toolName: "demo.tool",
    decision: "allow",
    stage: "authorize",
    code: null,
    requestId: null,
    payload: JSON.stringify({ n: counter }),
  };
}

async function expectSealedOnceAndContiguous(url: string, total: number) {
  const raw = openRawDb(url);
  try {
    const rows = await raw.rows("select id, chain_seq from gateway_events order by chain_seq");
    expect(rows).toHaveLength(total);
    expect(rows.map((r) => r.chain_seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.id)).size).toBe(total);
  } finally {
    await raw.close();
  }
}

describe.each(BACKENDS)("concurrent sealers on %s", (backend) => {
  it("two instances sealing while two instances write never fork the chain", async () => {
    const url = await databaseUrl(backend);
    const master = randomBytes(32);
    const [a, b] = await Promise.all([instance(url, master), instance(url, master)]);
    expect(a.keyring.active.kid).toBe(b.keyring.active.kid);
    const sealers = [sealerFor(a.store, a.keyring), sealerFor(b.store, b.keyring)];
    let writing = true;
    const writers = [a.store, b.store].map(async (store) => {
      for (let i = 0; i < 15; i++)
        await Promise.all(Array.from({ length: 8 }, () => store.appendEvent(event())));
    });
    const sealing = sealers.map(async (s) => {
      while (writing) await s.sealNow();
    });
    await Promise.all(writers);
    writing = false;
    await Promise.all(sealing);
    await Promise.all(sealers.map((s) => s.sealNow(true)));
    const report = await verifyChain(a.store, a.keyring.publicKeys());
    expect(report).toMatchObject({ status: "intact", sealedRows: 240, unsealedRows: 0, problems: [] });
    await expectSealedOnceAndContiguous(url, 240);
  });

  it("a sealer that lost the race re-reads the head and chains after the winner", async () => {
    const url = await databaseUrl(backend);
    const master = randomBytes(32);
    const [a, b] = await Promise.all([instance(url, master), instance(url, master)]);
    for (let i = 0; i < 5; i++) await a.store.appendEvent(event());
    const winner = sealerFor(b.store, b.keyring, 500);
    let aborted = 0;
    let interfered = false;
    // Instance A reads the head, then B seals everything before A writes its batch.
    const slowStore: Store = new Proxy(a.store, {
      get(target, prop, receiver) {
        if (prop === "unsealedEvents") {
          return async (limit: number) => {
            const rows = await target.unsealedEvents(limit);
            if (!interfered) {
              interfered = true;
              expect(await winner.sealNow(true)).toBe(5);
              for (let i = 0; i < 2; i++) await target.appendEvent(event());
            }
            return rows;
          };
        }
        if (prop === "sealBatch") {
          return async (...args: Parameters<Store["sealBatch"]>) => {
            const ok = await target.sealBatch(...args);
            if (!ok) aborted += 1;
            return ok;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const loser = sealerFor(slowStore, a.keyring, 500);
    expect(await loser.sealNow(true)).toBe(2);
    expect(aborted).toBe(1);
    expect(await verifyChain(a.store, a.keyring.publicKeys())).toMatchObject({
      status: "intact",
      sealedRows: 7,
      checkpoints: 2,
    });
    await expectSealedOnceAndContiguous(url, 7);
  });
});

describe("rows committed out of sequence order (postgres)", () => {
  it("a row whose transaction commits after later rows were sealed is sealed later, once", async () => {
    const url = await databaseUrl("postgres");
    const { store, keyring } = await instance(url, randomBytes(32));
    const sealer = sealerFor(store, keyring, 500);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 5 }));
    const e = event();
    const late = await sql.begin(async (tx) => {
      const [row] = await tx`insert into gateway_events (id, created_at, event_type, tenant_id, payload)
        values (${e.id}, ${e.createdAt}, ${e.eventType}, ${e.tenantId}, ${e.payload}) returning seq`;
      // While this transaction is open, three later rows commit and are sealed.
      for (let i = 0; i < 3; i++) await store.appendEvent(event());
      expect(await sealer.sealNow(true)).toBe(3);
      return Number(row?.seq);
    });
    expect(await verifyChain(store, keyring.publicKeys())).toMatchObject({
      status: "unsealed_tail",
      unsealedRows: 1,
    });
    expect(await sealer.sealNow(true)).toBe(1);
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    const [row] = await raw.rows("select seq, chain_seq from gateway_events where id = $1", [e.id]);
    expect(row).toEqual({ seq: late, chain_seq: 4 });
    const [minSeq] = await raw.rows("select min(seq) as n from gateway_events");
    expect(minSeq?.n).toBe(late);
    expect(await verifyChain(store, keyring.publicKeys())).toMatchObject({
      status: "intact",
      sealedRows: 4,
      unsealedRows: 0,
    });
  });

  it("many concurrent transactions committing in random order all end up sealed exactly once", async () => {
    const url = await databaseUrl("postgres");
    const { store, keyring } = await instance(url, randomBytes(32));
    const sealer = sealerFor(store, keyring, 5);
    const sql = postgres(url, { max: 12, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 5 }));
    let writing = true;
    const sealing = (async () => {
      while (writing) await sealer.sealNow();
    })();
    await Promise.all(
      Array.from({ length: 60 }, async () => {
        const e = event();
        await sql.begin(async (tx) => {
          await tx`insert into gateway_events (id, created_at, event_type, tenant_id, payload)
            values (${e.id}, ${e.createdAt}, ${e.eventType}, ${e.tenantId}, ${e.payload})`;
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
        });
      }),
    );
    writing = false;
    await sealing;
    await sealer.sealNow(true);
    expect(await verifyChain(store, keyring.publicKeys())).toMatchObject({
      status: "intact",
      sealedRows: 60,
      unsealedRows: 0,
    });
    await expectSealedOnceAndContiguous(url, 60);
    // Some rows were necessarily chained out of seq order (that is what the test provokes).
    const raw = openRawDb(url);
    cleanups.push(() => raw.close());
    const rows = await raw.rows("select seq from gateway_events order by chain_seq");
    const seqs = rows.map((r) => Number(r.seq));
    expect(seqs.some((s, i) => i > 0 && s < (seqs[i - 1] ?? 0))).toBe(true);
  });
});

describe("sealing shares the event loop with calls (sqlite)", () => {
  // On SQLite every store method runs synchronously, so only the sealer's own turns let other
  // work in; on PostgreSQL each query already is one, so this would prove nothing there.
  it("a batch is sealed in slices, and rows written between them are sealed after it, once", async () => {
    const url = await databaseUrl("sqlite");
    const { store, keyring } = await instance(url, randomBytes(32));
    for (let i = 0; i < 100; i++) await store.appendEvent(event());
    const sealer = sealerFor(store, keyring, 100);
    let turns = 0;
    let sealing = true;
    // Stands for the calls: each turn it gets, it writes one audit row.
    const call = () => {
      if (!sealing) return;
      turns += 1;
      void store.appendEvent(event());
      setImmediate(call);
    };
    setImmediate(call);
    await sealer.sealNow();
    sealing = false;
    // The read, two slices of 50 hashed rows, and the write: other work ran between each.
    expect(turns).toBeGreaterThanOrEqual(3);
    await sealer.sealNow(true);
    const total = 100 + turns;
    expect(await verifyChain(store, keyring.publicKeys())).toMatchObject({
      status: "intact",
      sealedRows: total,
      unsealedRows: 0,
    });
    await expectSealedOnceAndContiguous(url, total);
  });
});
