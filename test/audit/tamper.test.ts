/**
 * The audit chain on both dialects: sealing links rows and signs checkpoints, `verifyChain`
 * reports an untouched chain as intact, and every kind of tampering done directly in the
 * database (through a separate connection, as an attacker with database access would) is
 * reported as tampered (exit 1) — while a merely unsealed tail is reported separately (exit 3).
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkpointSignatureValid, GENESIS_HASH, rowHash, signCheckpoint } from "../../src/audit/chain.js";
import { batchRoot } from "../../src/audit/merkle.js";
import { exitCodeFor } from "../../src/audit/verify.js";
import { BACKENDS } from "../support/gateway.js";
import { type AuditHarness, auditHarness, eventFromRaw } from "./harness.js";

describe.each(BACKENDS)("audit chain on %s", (backend) => {
  let h: AuditHarness;

  beforeEach(async () => {
    h = await auditHarness(backend);
    // Two sealing rounds, so the chain carries two checkpoints (at 3 and at 6).
    await h.record(3);
    expect(await h.sealAll()).toBe(3);
    await h.record(3);
    expect(await h.sealAll()).toBe(3);
  });
  afterEach(async () => {
    await h.close();
  });

  async function expectTampered(fragment: RegExp) {
    const report = await h.verify();
    expect(report.status).toBe("tampered");
    expect(exitCodeFor(report)).toBe(1);
    expect(
      report.problems.some((p) => fragment.test(p)),
      report.problems.join("\n"),
    ).toBe(true);
    return report;
  }

  it("chains rows in order with linked hashes and signed checkpoints", async () => {
    const chain = (await h.chain()).map(eventFromRaw);
    expect(chain.map((r) => r.chainSeq)).toEqual([1, 2, 3, 4, 5, 6]);
    // A single writer: chain order is insertion order.
    expect(chain.map((r) => r.seq)).toEqual([...chain.map((r) => r.seq)].sort((a, b) => a - b));
    let prev = GENESIS_HASH;
    for (const row of chain) {
      expect(row.prevHash).toBe(prev);
      expect(row.hash).toBe(rowHash(row, row.chainSeq ?? 0, prev));
      prev = row.hash ?? "";
    }
    const keyring = await h.keyring();
    const checkpoints = await h.t.gw.store.listCheckpoints();
    expect(checkpoints.map((c) => [c.lastChainSeq, c.rowCount])).toEqual([
      [3, 3],
      [6, 6],
    ]);
    expect(checkpoints[1]?.headHash).toBe(prev);
    for (const cp of checkpoints) {
      expect(cp.kid).toBe(keyring.active.kid);
      expect(checkpointSignatureValid(cp, keyring.active.publicKey)).toBe(true);
    }
  });

  it("reports an untouched chain as intact (exit 0)", async () => {
    const report = await h.verify();
    expect(report).toEqual({
      status: "intact",
      sealedRows: 6,
      unsealedRows: 0,
      checkpoints: 2,
      problems: [],
    });
    expect(exitCodeFor(report)).toBe(0);
  });

  it("reports an empty database as intact", async () => {
    await h.db.run("delete from audit_checkpoints");
    await h.db.run("delete from gateway_events");
    expect(await h.verify()).toMatchObject({ status: "intact", sealedRows: 0, unsealedRows: 0 });
  });

  it("detects a changed payload", async () => {
    await h.db.run("update gateway_events set payload = $1 where chain_seq = 3", [
      '{"n":3,"arguments_digest":"forged"}',
    ]);
    await expectTampered(/position 3\) was changed/);
  });

  it("detects a one-byte change in a payload's spacing (no re-serialization hides it)", async () => {
    const [row] = await h.db.rows("select payload from gateway_events where chain_seq = 2");
    await h.db.run("update gateway_events set payload = $1 where chain_seq = 2", [
      String(row?.payload).replace(":", ": "),
    ]);
    await expectTampered(/position 2\) was changed/);
  });

  it("detects a changed event_type", async () => {
    await h.db.run("update gateway_events set event_type = 'PolicyDenied' where chain_seq = 4");
    await expectTampered(/position 4\) was changed/);
  });

  it.each([
    ["decision", "'reject'"],
    ["agent_id", "'someone-else'"],
    ["tenant_id", "'other'"],
    ["code", "2006"],
    ["created_at", "created_at + 1"],
    ["tool_name", "null"],
  ])("detects a changed %s", async (column, value) => {
    await h.db.run(`update gateway_events set ${column} = ${value} where chain_seq = 5`);
    await expectTampered(/position 5\) was changed/);
  });

  it("detects a removed middle row", async () => {
    expect(await h.db.run("delete from gateway_events where chain_seq = 3")).toBe(1);
    await expectTampered(/chain position 3 is missing/);
  });

  it("detects a removed tail row: the checkpoint covers rows that are gone", async () => {
    expect(await h.db.run("delete from gateway_events where chain_seq = 6")).toBe(1);
    await expectTampered(/covers 6 rows but the chain ends at 5: rows were removed/);
  });

  it("detects a cut-off tail even when the attacker also deletes the newest checkpoint", async () => {
    await h.db.run("delete from gateway_events where chain_seq > 4");
    await h.db.run("delete from audit_checkpoints where last_chain_seq = 6");
    // The older checkpoint at 3 still verifies, but row 4 is chained and no checkpoint covers it.
    await expectTampered(/rows 4\.\.4 are chained but no signed checkpoint covers them/);
  });

  it("detects tail rows 'unsealed' again (chain fields cleared) as tampering, not as an unsealed tail", async () => {
    await h.db.run(
      "update gateway_events set chain_seq = null, prev_hash = null, hash = null where chain_seq >= 5",
    );
    const report = await expectTampered(/rows were removed/);
    expect(report.unsealedRows).toBe(2);
  });

  it("detects two rows whose chain positions were swapped", async () => {
    await h.db.run("update gateway_events set chain_seq = -1 where chain_seq = 2");
    await h.db.run("update gateway_events set chain_seq = 2 where chain_seq = 3");
    await h.db.run("update gateway_events set chain_seq = 3 where chain_seq = -1");
    await expectTampered(/does not link|was changed/);
  });

  it("detects two rows whose contents were swapped", async () => {
    const [a, b] = await h.db.rows(
      "select * from gateway_events where chain_seq in (2, 3) order by chain_seq",
    );
    if (!a || !b) throw new Error("rows missing");
    const cols = ["id", "event_type", "execution_id", "call_id", "request_id", "payload"];
    await h.db.run("update gateway_events set id = id || '-tmp' where chain_seq in (2, 3)");
    for (const [target, source] of [
      [a, b],
      [b, a],
    ] as const) {
      await h.db.run(
        `update gateway_events set ${cols.map((c, i) => `${c} = $${i + 1}`).join(", ")} where chain_seq = $${cols.length + 1}`,
        [...cols.map((c) => source[c]), target.chain_seq],
      );
    }
    const report = await expectTampered(/position 2\) was changed/);
    expect(report.problems.some((p) => /position 3\) was changed/.test(p))).toBe(true);
  });

  it("detects a forged extra row, correctly hashed onto the head, with no checkpoint", async () => {
    const [head] = await h.db.rows("select * from gateway_events where chain_seq = 6");
    const at = Number(head?.created_at) + 1;
    await h.db.run(
      "insert into gateway_events (id, created_at, event_type, tenant_id, agent_id, decision, payload) values ($1, $2, $3, $4, $5, $6, $7)",
      ["evt_forged", at, "ToolCallAuthorized", "default", "agent-1", "allow", "{}"],
    );
    const [raw] = await h.db.rows("select * from gateway_events where id = 'evt_forged'");
    if (!raw) throw new Error("forged row missing");
    const prev = String(head?.hash);
    const hash = rowHash(eventFromRaw(raw), 7, prev);
    await h.db.run(
      "update gateway_events set chain_seq = 7, prev_hash = $1, hash = $2 where id = 'evt_forged'",
      [prev, hash],
    );
    await expectTampered(/rows 7\.\.7 are chained but no signed checkpoint covers them/);
  });

  it("detects a sealed row with a chain position outside the chain (0)", async () => {
    await h.record(1);
    await h.db.run(
      "update gateway_events set chain_seq = 0, prev_hash = $1, hash = $1 where chain_seq is null",
      [GENESIS_HASH],
    );
    await expectTampered(/1 sealed rows are outside the chain/);
  });

  it("detects a checkpoint with a bad signature", async () => {
    const [cp] = await h.db.rows("select * from audit_checkpoints where last_chain_seq = 3");
    const sig = Buffer.from(String(cp?.signature), "base64");
    sig[10] = (sig[10] ?? 0) ^ 1;
    await h.db.run("update audit_checkpoints set signature = $1 where last_chain_seq = 3", [
      sig.toString("base64"),
    ]);
    await expectTampered(/has an invalid signature/);
  });

  it("detects a checkpoint whose head hash or count was edited (signature no longer matches)", async () => {
    await h.db.run("update audit_checkpoints set head_hash = $1 where last_chain_seq = 6", ["f".repeat(64)]);
    await expectTampered(/has an invalid signature/);
  });

  it("detects a checkpoint naming an unknown key", async () => {
    await h.db.run("update audit_checkpoints set kid = 'gk_unknown' where last_chain_seq = 6");
    await expectTampered(/has an invalid signature/);
  });

  describe("a rewritten chain (every hash recomputed after editing row 2)", () => {
    /** Rewrites payload 2, recomputes every later hash and re-signs every checkpoint with `key`. */
    async function rewrite(
      key: { kid: string; privateKey: import("node:crypto").KeyObject },
      opts: { keepBatchRoots?: boolean; v1?: boolean } = {},
    ) {
      await h.db.run("update gateway_events set payload = $1 where chain_seq = 2", [
        '{"n":2,"arguments_digest":"rewritten"}',
      ]);
      let prev = GENESIS_HASH;
      const hashes = new Map<number, string>();
      for (const raw of await h.chain()) {
        const row = eventFromRaw(raw);
        const hash = rowHash(row, row.chainSeq ?? 0, prev);
        await h.db.run("update gateway_events set prev_hash = $1, hash = $2 where chain_seq = $3", [
          prev,
          hash,
          row.chainSeq,
        ]);
        hashes.set(row.chainSeq ?? 0, hash);
        prev = hash;
      }
      for (const cp of await h.t.gw.store.listCheckpoints()) {
        const batch: string[] = [];
        for (let p = cp.firstChainSeq ?? 1; p <= cp.lastChainSeq; p++) batch.push(hashes.get(p) ?? "");
        const root = cp.batchRoot === null || opts.keepBatchRoots ? cp.batchRoot : batchRoot(batch);
        const batchFields = opts.v1 ? { firstChainSeq: null, batchRoot: null } : { batchRoot: root };
        const signed = signCheckpoint(
          { ...cp, headHash: hashes.get(cp.lastChainSeq) ?? "", ...batchFields, kid: key.kid },
          key.privateKey,
        );
        await h.db.run(
          "update audit_checkpoints set head_hash = $1, first_chain_seq = $2, batch_root = $3, kid = $4, signature = $5 where id = $6",
          [signed.headHash, signed.firstChainSeq, signed.batchRoot, signed.kid, signed.signature, cp.id],
        );
      }
    }

    it("passes only for a holder of the gateway's own signing key (control)", async () => {
      await rewrite((await h.keyring()).active);
      expect((await h.verify()).status).toBe("intact");
    });

    it("still verifies v1 checkpoints, signed before batch roots existed", async () => {
      await rewrite((await h.keyring()).active, { v1: true });
      expect((await h.t.gw.store.listCheckpoints())[0]).toMatchObject({
        firstChainSeq: null,
        batchRoot: null,
      });
      expect((await h.verify()).status).toBe("intact");
    });

    it("is detected when a key holder re-signs the heads but not the batches' Merkle roots", async () => {
      await rewrite((await h.keyring()).active, { keepBatchRoots: true });
      await expectTampered(/does not match the rows 1\.\.\d+ it sealed/);
    });

    it("is detected when re-signed with a key the attacker planted in signing_keys", async () => {
      const rogue = generateKeyPairSync("ed25519");
      const x = String(rogue.publicKey.export({ format: "jwk" }).x);
      await h.db.run(
        "insert into signing_keys (kid, generation, alg, public_jwk, private_sealed, status, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        [
          "gk_rogue",
          2,
          "EdDSA",
          JSON.stringify({ kty: "OKP", crv: "Ed25519", x, kid: "gk_rogue" }),
          "sb1.x.y.z",
          "retired",
          1,
        ],
      );
      await rewrite({ kid: "gk_rogue", privateKey: rogue.privateKey });
      await expectTampered(/has an invalid signature/);
    });
  });

  describe("unsealed tail", () => {
    it("reports rows appended after the last seal as unsealed_tail (exit 3), not tampered", async () => {
      await h.record(2);
      const report = await h.verify();
      expect(report).toEqual({
        status: "unsealed_tail",
        sealedRows: 6,
        unsealedRows: 2,
        checkpoints: 2,
        problems: [],
      });
      expect(exitCodeFor(report)).toBe(3);
      // Sealing it turns the report back to intact.
      expect(await h.sealAll()).toBe(2);
      expect(exitCodeFor(await h.verify())).toBe(0);
    });

    it("still reports tampering (exit 1) when there is also an unsealed tail", async () => {
      await h.record(2);
      await h.db.run("update gateway_events set payload = '{}' where chain_seq = 1");
      const report = await expectTampered(/position 1\) was changed/);
      expect(report.unsealedRows).toBe(2);
    });
  });

  it("never reports tampering when a sealer commits while the verifier reads (live gateway)", async () => {
    await h.record(3);
    const keys = (await h.keyring()).publicKeys();
    const store = h.t.gw.store;
    let sealedMidway = false;
    const src = {
      chainAfter: (after: number, limit: number) => store.chainAfter(after, limit),
      async listCheckpoints() {
        // The chain has been read; now another instance seals the 3 pending rows.
        if (!sealedMidway) {
          sealedMidway = true;
          expect(await h.sealAll()).toBe(3);
        }
        return await store.listCheckpoints();
      },
      countEvents: () => store.countEvents(),
    };
    const { verifyChain } = await import("../../src/audit/verify.js");
    expect(await verifyChain(src, keys)).toEqual({
      status: "intact",
      sealedRows: 9,
      unsealedRows: 0,
      checkpoints: 3,
      problems: [],
    });
    expect(sealedMidway).toBe(true);
  });

  it(`${backend === "postgres" ? "waits for the settle window" : "seals at once (SQLite has one writer)"} before sealing new rows`, async () => {
    await h.record(2);
    const sealedNow = await h.t.gw.sealer.sealNow();
    if (backend === "postgres") {
      expect(sealedNow).toBe(0);
      expect((await h.verify()).status).toBe("unsealed_tail");
      h.t.clock.advance(h.t.config.audit.seal_settle_ms + 1);
      expect(await h.t.gw.sealer.sealNow()).toBe(2);
    } else {
      expect(sealedNow).toBe(2);
    }
    expect((await h.verify()).status).toBe("intact");
  });
});
