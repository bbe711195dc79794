import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { freshPgDatabase } from "../support/pg.js";
import { runStoreContract } from "./contract.js";
import { runMultiInstanceContract } from "./contract-multi.js";
import { declaredColumns, type TableColumns } from "./schema-drift.js";

/** Each store gets its own database, dropped when the store is closed. */
async function freshStore(): Promise<Store> {
  const db = await freshPgDatabase();
  const store = await openStore({ url: db.url, durability: "normal" });
  const close = store.close.bind(store);
  let dropped = false;
  return Object.assign(store, {
    close: async () => {
      await close();
      if (dropped) return;
      dropped = true;
      await db.drop();
    },
  });
}

runStoreContract("postgres", freshStore);

runMultiInstanceContract("postgres (several pools, one database)", async () => {
  const db = await freshPgDatabase();
  return { open: () => openStore({ url: db.url, durability: "full" }), drop: db.drop };
});

describe("postgres connection failures", () => {
  it("rejects with a StoreError that names no credential when the server is unreachable", async () => {
    const store = await openStore({
      url: "postgres://seal:hunter2-secret@127.0.0.1:1/seal",
      durability: "normal",
    });
    try {
      const err: unknown = await store.ping().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ name: "StoreError", operation: "ping", driverCode: "ECONNREFUSED" });
      expect(String(err)).not.toContain("hunter2");
      await expect(store.recordReplay("k", 1)).rejects.toMatchObject({ operation: "recordReplay" });
    } finally {
      await store.close();
    }
  });
});

describe("postgres schema", () => {
  it("migrates to exactly the tables and columns drizzle/pg/schema.ts declares", async () => {
    const db = await freshPgDatabase();
    const store = await openStore({ url: db.url, durability: "normal" });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await store.migrate();
      const rows = await sql<{ table_name: string; column_name: string }[]>`
        select table_name, column_name from information_schema.columns where table_schema = 'public'`;
      const actual: TableColumns = {};
      for (const r of rows) actual[r.table_name] = [...(actual[r.table_name] ?? []), r.column_name].sort();
      expect(actual).toEqual(declaredColumns("postgres"));
    } finally {
      await sql.end();
      await store.close();
      await db.drop();
    }
  });

  it("keeps the hot reads on indexes once the tables are large", async () => {
    const db = await freshPgDatabase();
    const store = await openStore({ url: db.url, durability: "normal" });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await store.migrate();
      // 20,000 sealed rows, a short unsealed tail, 100,000 replay records: the shape of a live gateway.
      await sql`insert into gateway_events (id, created_at, event_type, tenant_id, execution_id, payload, chain_seq)
        select 'e' || g, g, 't', 'tenant-' || (g % 50), 'exe_' || (g % 5000), '{}',
               case when g <= 20000 then g end
        from generate_series(1, 20010) g`;
      await sql`insert into replay_records (key, expires_at) select 'k' || g, g from generate_series(1, 100000) g`;
      await sql`analyze`;
      const plan = async (query: string) =>
        (await sql.unsafe(`explain ${query}`)).map((r) => String(Object.values(r)[0])).join("\n");
      expect(
        await plan("select * from gateway_events where chain_seq is null order by seq limit 500"),
      ).toContain("gateway_events_chain_seq_uq");
      expect(await plan("select max(chain_seq) from gateway_events")).toContain(
        "gateway_events_chain_seq_uq",
      );
      expect(
        await plan("select * from gateway_events where execution_id = 'exe_7' order by seq desc limit 50"),
      ).toContain("gateway_events_execution_seq_idx");
      const sweep = await plan(
        "delete from replay_records where ctid in (select ctid from replay_records where expires_at < 500 limit 100)",
      );
      expect(sweep).toContain("replay_records_expires_idx");
      expect(sweep).toContain("Tid Scan");
    } finally {
      await sql.end();
      await store.close();
      await db.drop();
    }
  });

  it("keeps keyset pages of sessions and agent keys on indexes once the tables are large", async () => {
    const db = await freshPgDatabase();
    const store = await openStore({ url: db.url, durability: "normal" });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await store.migrate();
      await sql`insert into sessions (execution_id, tenant_id, sub, security_context, public_key_b64,
          allowed_tool_patterns, token_jti, status, created_at, expires_at)
        select 'exe_' || g, 'tenant-' || (g % 50), 'agent', 'ctx', 'k', '[]', 'j' || g, 'Active', g, g + 1000
        from generate_series(1, 50000) g`;
      await sql`insert into agent_keys (id, tenant_id, sub, public_key_b64, status, created_at)
        select 'akey_' || g, 'tenant-' || (g % 50), 'agent', 'k', 'active', g
        from generate_series(1, 50000) g`;
      await sql`analyze`;
      const plan = async (query: string) =>
        (await sql.unsafe(`explain ${query}`)).map((r) => String(Object.values(r)[0])).join("\n");
      // The statements src/store/keyset.ts writes for a tenant's next page.
      expect(
        await plan(
          `select * from sessions where tenant_id = 'tenant-7' and (created_at, execution_id collate "C") > (20000, 'exe_20000')
           order by created_at asc, execution_id collate "C" asc limit 101`,
        ),
      ).toContain("sessions_tenant_created_idx");
      expect(
        await plan(
          `select * from agent_keys where tenant_id = 'tenant-7' and (created_at, id collate "C") > (20000, 'akey_20000')
           order by created_at asc, id collate "C" asc limit 101`,
        ),
      ).toContain("agent_keys_tenant_created_idx");
    } finally {
      await sql.end();
      await store.close();
      await db.drop();
    }
  });

  it("keeps counter sweeps and approval listings on indexes once the tables are large", async () => {
    const db = await freshPgDatabase();
    const store = await openStore({ url: db.url, durability: "normal" });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await store.migrate();
      await sql`insert into counters (key, window_start, count, expires_at)
        select 'rl:' || (g % 5000), g, 1, g from generate_series(1, 100000) g`;
      await sql`insert into approvals (id, tenant_id, status, sub, execution_id, security_context,
          tool_name, arguments_digest, rule, summary, created_at, expires_at)
        select 'apr_' || g, 'tenant-' || (g % 50), case when g % 10 = 0 then 'pending' else 'used' end,
               'agent', 'exe', 'ctx', 'wf:x', 'd', 'capabilities[0]', '{}', g, g + 1000
        from generate_series(1, 50000) g`;
      await sql`analyze`;
      const plan = async (query: string) =>
        (await sql.unsafe(`explain ${query}`)).map((r) => String(Object.values(r)[0])).join("\n");
      const sweep = await plan(
        "delete from counters where ctid in (select ctid from counters where expires_at < 500 limit 100)",
      );
      expect(sweep).toContain("counters_expires_idx");
      expect(
        await plan("select * from approvals where tenant_id = 'tenant-7' order by created_at desc limit 50"),
      ).toContain("approvals_tenant_created_idx");
      expect(
        await plan("select * from approvals where status = 'pending' order by created_at desc limit 50"),
      ).toContain("approvals_status_created_idx");
      // A keyset page of approvals, as src/store/keyset.ts writes it (newest first).
      expect(
        await plan(
          `select * from approvals where tenant_id = 'tenant-7' and (created_at, id collate "C") < (40000, 'apr_40000')
           order by created_at desc, id collate "C" desc limit 101`,
        ),
      ).toContain("approvals_tenant_created_idx");
    } finally {
      await sql.end();
      await store.close();
      await db.drop();
    }
  });
});
