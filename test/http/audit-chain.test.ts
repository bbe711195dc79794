/**
 * GET /v1/audit/chain: the chain's state as the console shows it — sealed through which
 * position, the unsealed tail, the newest signed checkpoint — read against the store itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventInput } from "../../src/audit/recorder.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { expectError, expectJson } from "./support.js";

interface ChainState {
  sealed_through: number;
  head_hash: string | null;
  unsealed: { rows: number; oldest_created_at: string | null };
  last_checkpoint: {
    id: string;
    created_at: string;
    last_chain_seq: number;
    row_count: number;
    head_hash: string;
    kid: string;
  } | null;
  verify: string;
}

const row = (n: number, tenantId: string): EventInput => ({
  eventType: "ToolCallAuthorized",
  tenantId,
  executionId: `exec-chain-${n}`,
  callId: `call-chain-${n}`,
  agentId: "agent-chain-secret-name",
  toolName: "chain.tool",
  decision: "allow",
  stage: "authorize",
  code: null,
  requestId: `req-chain-${n}`,
  payload: { rule: `r-${n}` },
});

describe.each(BACKENDS)("GET /v1/audit/chain (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const read = (token = t.operatorToken("viewer", "chain-a"), query = "") =>
    t.request(`/v1/audit/chain${query}`, { headers: { authorization: `Bearer ${token}` } });

  it("reports the sealed head, no tail and the newest checkpoint once everything is sealed", async () => {
    for (let i = 0; i < 3; i++) await t.gw.audit.record(row(i, "chain-a"));
    await t.gw.sealer.sealNow(true);
    const state = await expectJson<ChainState>(await read(), 200);
    const { total, sealed } = await t.gw.store.countEvents();
    const head = await t.gw.store.chainHead();
    const checkpoint = await t.gw.store.lastCheckpoint();
    expect(sealed).toBe(total);
    expect(state.sealed_through).toBe(sealed);
    expect(state.head_hash).toBe(head?.hash);
    expect(state.unsealed).toEqual({ rows: 0, oldest_created_at: null });
    expect(state.last_checkpoint).toEqual({
      id: checkpoint?.id,
      created_at: new Date(checkpoint?.createdAt ?? 0).toISOString(),
      last_chain_seq: sealed,
      row_count: checkpoint?.rowCount,
      head_hash: head?.hash,
      kid: checkpoint?.kid,
    });
    expect(state.verify).toBe("seal-gateway audit verify");
  });

  it("counts the unsealed tail and dates its oldest row", async () => {
    const before = await expectJson<ChainState>(await read(), 200);
    t.clock.advance(5000);
    const firstAt = t.clock.nowMs();
    await t.gw.audit.record(row(10, "chain-a"));
    t.clock.advance(1000);
    await t.gw.audit.record(row(11, "chain-b"));
    const state = await expectJson<ChainState>(await read(), 200);
    expect(state.sealed_through).toBe(before.sealed_through);
    expect(state.last_checkpoint).toEqual(before.last_checkpoint);
    expect(state.unsealed).toEqual({ rows: 2, oldest_created_at: new Date(firstAt).toISOString() });
    await t.gw.sealer.sealNow(true);
    const after = await expectJson<ChainState>(await read(), 200);
    expect(after.sealed_through).toBe(before.sealed_through + 2);
    expect(after.unsealed.rows).toBe(0);
    expect(after.last_checkpoint?.last_chain_seq).toBe(after.sealed_through);
    expect(after.last_checkpoint?.id).not.toBe(before.last_checkpoint?.id);
  });

  it("is instance-wide: every tenant's viewer and a '*' admin read the same answer, naming no row", async () => {
    const a = await (await read(t.operatorToken("viewer", "chain-a"))).text();
    const b = await (await read(t.operatorToken("viewer", "chain-b"))).text();
    const admin = await (await read(t.adminToken("*"))).text();
    expect(b).toBe(a);
    expect(admin).toBe(a);
    for (const leaked of ["chain-a", "chain-b", "agent-chain-secret-name", "chain.tool", "exec-chain", "r-1"])
      expect(a).not.toContain(leaked);
  });

  it("refuses unknown, hostile and oversized query parameters", async () => {
    for (const query of ["?limit=1", "?tenant_id=chain-b", `?x=${"a".repeat(5000)}`, "?__proto__=1"]) {
      await expectError(await read(undefined, query), 400, "invalid_query");
    }
  });

  it("needs an operator token", async () => {
    await expectError(await t.request("/v1/audit/chain"), 401);
    await expectError(await read("not-a-token"), 401);
  });
});
