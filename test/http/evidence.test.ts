/**
 * Evidence packs: GET /v1/executions/{execution_id}/evidence hands an auditor one execution's
 * events with their Merkle proofs and signed checkpoints; verifyEvidence checks a pack against
 * the keys of GET /v1/audit/keys alone, and catches every way of bending one.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowHash, signCheckpoint } from "../../src/audit/chain.js";
import {
  EVIDENCE_FORMAT,
  type EvidencePack,
  evidenceExitCode,
  summarize,
  toEventRow,
  verifyEvidence,
} from "../../src/audit/evidence.js";
import { canonicalJson } from "../../src/seal/canonical.js";
import {
  call,
  eventsOf,
  putContext,
  type SessionAgent,
  sessionAgent,
  testTool,
} from "../authorization/support.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import { expectError, expectJson } from "./support.js";

interface Jwks {
  keys: Array<{ kty: string; crv: string; x: string; kid: string; alg: string; use: string }>;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Re-signs a pack the way a forger holding `key` would (after changing its body). */
function resign(pack: EvidencePack, kid: string, key: KeyObject): EvidencePack {
  const { signature: _, ...body } = pack;
  const value = sign(null, Buffer.from(`${EVIDENCE_FORMAT}\n${canonicalJson(body)}`), key).toString("base64");
  return { ...body, signature: { kid, alg: "EdDSA", value } };
}

describe.each(BACKENDS)("evidence packs (%s)", (backend) => {
  let t: TestGateway;
  let agent: SessionAgent;
  let keys: Map<string, KeyObject>;
  const tool = testTool("ev.tool", { result: (ctx) => ({ ok: true, n: ctx.arguments.n ?? null }) });
  const answers: unknown[] = [];

  const viewer = (tenant = "default") => ({ authorization: `Bearer ${t.operatorToken("viewer", tenant)}` });
  const fetchPack = (executionId: string, headers: Record<string, string> = viewer()) =>
    t.request(`/v1/executions/${encodeURIComponent(executionId)}/evidence`, { headers });
  const pack = async (executionId = agent.executionId) =>
    expectJson<EvidencePack>(await fetchPack(executionId), 200);

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [{ lookup: async (_t, n) => (n === tool.name ? tool : null), list: async () => [tool] }] },
    );
    await putContext(t, { name: "ev-ctx", capabilities: [{ tool_pattern: "ev.*" }] });
    agent = await sessionAgent(t, { context: "ev-ctx" });
    // Two calls in two sealing batches, so the pack spans two checkpoints.
    for (const n of [1, 2]) {
      const r = await call(t, agent, "ev.tool", { n });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      answers.push(r.body.result);
      await t.gw.sealer.sealNow(true);
    }
    const jwks = await expectJson<Jwks>(await t.request("/v1/audit/keys", { headers: viewer() }), 200);
    keys = new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: "jwk" })]));
  });
  afterAll(async () => {
    await t?.close();
  });

  it("publishes the signing keys as a JWKS that holds the active key", async () => {
    const jwks = await expectJson<Jwks>(await t.request("/v1/audit/keys", { headers: viewer() }), 200);
    expect(jwks.keys.map((k) => k.kid)).toContain(t.gw.services.keyring.active.kid);
    for (const k of jwks.keys)
      expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    await expectError(await t.request("/v1/audit/keys"), 401);
    await expectError(await t.request("/v1/audit/keys?x=1", { headers: viewer() }), 400, "invalid_query");
  });

  it("holds every event of the execution in order, each proven into a signed checkpoint", async () => {
    const p = await pack();
    const listed = await eventsOf(t, agent.executionId);
    expect(p.events.map((e) => e.id)).toEqual(listed.map((e) => e.id));
    expect(p.status).toBe("sealed");
    expect(p.checkpoints.length).toBeGreaterThanOrEqual(2);
    for (const e of p.events) expect(e.proof?.path).not.toBeNull();
    const report = verifyEvidence(p, keys);
    expect(report).toMatchObject({
      status: "intact",
      events: listed.length,
      proven: listed.length,
      problems: [],
    });
    expect(evidenceExitCode(report)).toBe(0);
  });

  it("summarizes decisions, digests and definition hashes that match what the caller saw", async () => {
    const p = await pack();
    expect(p.summary).toEqual(summarize(p.events));
    expect(p.summary.decisions.length).toBeGreaterThan(0);
    expect(p.summary.definition_hashes).toContain(tool.definitionHash);
    const digest = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
    expect(p.summary.result_digests).toEqual(answers.map(digest));
    const argDigests = p.summary.arguments_digests;
    expect(argDigests).toHaveLength(2);
  });

  it("says when some events are not sealed yet, and the verifier answers incomplete (exit 3)", async () => {
    const fresh = await sessionAgent(t, { context: "ev-ctx" });
    expect((await call(t, fresh, "ev.tool", { n: 3 })).status).toBe(200);
    const p = await pack(fresh.executionId);
    expect(p.status).toBe("partly_unsealed");
    expect(p.events.every((e) => e.chain_seq === null && e.proof === null)).toBe(true);
    const report = verifyEvidence(p, keys);
    expect(report.status).toBe("incomplete");
    expect(report.unsealed).toBe(p.events.length);
    expect(evidenceExitCode(report)).toBe(3);
    await t.gw.sealer.sealNow(true);
    expect(verifyEvidence(await pack(fresh.executionId), keys).status).toBe("intact");
  });

  it("answers 404 for an execution another tenant's viewer asks about, or one that does not exist", async () => {
    await expectError(await fetchPack(agent.executionId, viewer("other-tenant")), 404, "not_found");
    await expectError(await fetchPack("exe_does_not_exist"), 404, "not_found");
    // An admin across tenants reads it.
    expect((await fetchPack(agent.executionId, { authorization: `Bearer ${t.adminToken()}` })).status).toBe(
      200,
    );
    await expectError(await fetchPack(agent.executionId, {}), 401);
    await expectError(await fetchPack("x".repeat(201)), 400);
  });

  it("names the approvals and credentials of the execution in the summary", async () => {
    const base = {
      tenantId: "default",
      executionId: "exe_ev_summary",
      callId: null,
      agentId: "agent-ev",
      toolName: "ev.tool",
      code: null,
      requestId: "req-ev",
    } as const;
    await t.gw.audit.record({
      ...base,
      eventType: "ApprovalGranted",
      decision: "allow",
      stage: "approval",
      payload: { approval_id: "apr_1", actor: "approver-1", reason: "looks fine" },
    });
    await t.gw.audit.record({
      ...base,
      eventType: "CredentialExchangeCompleted",
      decision: null,
      stage: "credentials",
      payload: { credential_path: "builtin", key: "billing/api", fingerprint: "fp_abc" },
    });
    await t.gw.sealer.sealNow(true);
    const p = await pack("exe_ev_summary");
    expect(p.summary.approvals).toEqual([
      { event_id: p.events[0]?.id, event_type: "ApprovalGranted", approval_id: "apr_1", actor: "approver-1" },
    ]);
    expect(p.summary.credentials).toEqual([
      {
        event_id: p.events[1]?.id,
        event_type: "CredentialExchangeCompleted",
        credential_path: "builtin",
        key: "billing/api",
        fingerprint: "fp_abc",
      },
    ]);
    expect(verifyEvidence(p, keys).status).toBe("intact");
  });

  describe("a bent pack is caught", () => {
    const tampered = (p: unknown, pattern: RegExp) => {
      const report = verifyEvidence(p, keys);
      expect(report.status, JSON.stringify(report)).toBe("tampered");
      expect(evidenceExitCode(report)).toBe(1);
      expect(report.problems.join("\n")).toMatch(pattern);
    };

    it("a changed event", async () => {
      const p = clone(await pack());
      const e = p.events[0];
      if (!e) throw new Error("no event");
      e.payload = e.payload.replace("}", ',"x":1}');
      tampered(p, /does not match its hash/);
      tampered(p, /signature is invalid/);
    });

    it("a removed event, and a reordered one", async () => {
      const removed = clone(await pack());
      removed.events.splice(1, 1);
      tampered(removed, /signature is invalid/);
      const reordered = clone(await pack());
      reordered.events.reverse();
      tampered(reordered, /out of order/);
    });

    it("a forged signature, a key the verifier was not given, and an attacker's own key", async () => {
      const forged = clone(await pack());
      forged.signature.value = Buffer.alloc(64, 1).toString("base64");
      tampered(forged, /signature is invalid/);
      const other = generateKeyPairSync("ed25519");
      const unknown = verifyEvidence(await pack(), new Map([["gk_other", other.publicKey]]));
      expect(unknown.status).toBe("tampered");
      expect(unknown.problems.join("\n")).toMatch(/not one of the given keys/);
      const rogue = generateKeyPairSync("ed25519");
      const p = await pack();
      const onlyRogue = new Map([[p.signature.kid, rogue.publicKey]]);
      const report = verifyEvidence(p, onlyRogue);
      expect(report.status).toBe("tampered");
      expect(report.problems.join("\n")).toMatch(/signature is invalid/);
    });

    it("a changed event re-hashed and re-signed with the gateway's own key still fails its proof", async () => {
      const p = clone(await pack());
      const e = p.events[0];
      if (!e?.chain_seq || !e.prev_hash) throw new Error("unsealed");
      e.payload = e.payload.replace("}", ',"x":1}');
      e.hash = rowHash(toEventRow(e), e.chain_seq, e.prev_hash);
      p.summary = summarize(p.events);
      const active = t.gw.services.keyring.active;
      tampered(resign(p, active.kid, active.privateKey), /inclusion proof does not lead to checkpoint/);
    });

    it("a bent proof, a wrong leaf, a checkpoint with a changed root or signature", async () => {
      const active = t.gw.services.keyring.active;
      const bent = clone(await pack());
      const path = bent.events[0]?.proof?.path;
      if (!path || path.length === 0) throw new Error("no proof path");
      path[0] = "0".repeat(64);
      tampered(resign(bent, active.kid, active.privateKey), /inclusion proof/);

      const leaf = clone(await pack());
      const proof = leaf.events[0]?.proof;
      if (!proof || proof.leaf_index === null) throw new Error("no proof");
      proof.leaf_index += 1;
      tampered(resign(leaf, active.kid, active.privateKey), /wrong leaf/);

      const root = clone(await pack());
      const cp = root.checkpoints[0];
      if (!cp) throw new Error("no checkpoint");
      cp.batch_root = "f".repeat(64);
      tampered(resign(root, active.kid, active.privateKey), /checkpoint .* has an invalid signature/);

      const missing = clone(await pack());
      missing.checkpoints.splice(0, 1);
      tampered(resign(missing, active.kid, active.privateKey), /which the pack does not hold/);
    });

    it("a summary or status that says something the events do not", async () => {
      const active = t.gw.services.keyring.active;
      const p = clone(await pack());
      p.summary.result_digests = ["0".repeat(64)];
      tampered(resign(p, active.kid, active.privateKey), /summary does not match/);
      const q = clone(await pack());
      q.status = "partly_unsealed";
      tampered(resign(q, active.kid, active.privateKey), /says partly_unsealed/);
    });

    it("an event of another execution slipped in", async () => {
      const active = t.gw.services.keyring.active;
      const p = clone(await pack());
      const other = (await pack("exe_ev_summary")).events[0];
      if (!other) throw new Error("no event");
      p.events.push(other);
      p.summary = summarize(p.events);
      tampered(resign(p, active.kid, active.privateKey), /belongs to execution exe_ev_summary/);
    });

    it("malformed files: wrong format, missing fields, extra fields, wrong types, oversized proofs", async () => {
      const good = await pack();
      tampered(null, /not a well-formed/);
      tampered("a string", /not a well-formed/);
      tampered({ ...good, format: "seal-gateway/evidence/v0" }, /format/);
      tampered({ ...good, events: [] }, /events/);
      tampered({ ...good, extra: 1 }, /not a well-formed/);
      const wrongType = clone(good) as unknown as { events: Array<{ seq: unknown }> };
      if (wrongType.events[0]) wrongType.events[0].seq = "1";
      tampered(wrongType, /events\.0\.seq/);
      const long = clone(good);
      const proof = long.events[0]?.proof;
      if (proof) proof.path = Array.from({ length: 65 }, () => "0".repeat(64));
      tampered(long, /path/);
    });
  });

  it("reports events under a checkpoint without a batch root (written before v2) as sealed but unproven", async () => {
    const active = t.gw.services.keyring.active;
    const p = clone(await pack());
    p.checkpoints = p.checkpoints.map((cp) => {
      const v1 = signCheckpoint(
        {
          id: cp.id,
          createdAt: cp.created_at_ms,
          lastChainSeq: cp.last_chain_seq,
          rowCount: cp.row_count,
          headHash: cp.head_hash,
          kid: cp.kid,
          firstChainSeq: null,
          batchRoot: null,
        },
        active.privateKey,
      );
      return { ...cp, first_chain_seq: null, batch_root: null, signature: v1.signature };
    });
    for (const e of p.events) if (e.proof) e.proof = { ...e.proof, leaf_index: null, path: null };
    const report = verifyEvidence(resign(p, active.kid, active.privateKey), keys);
    expect(report).toMatchObject({ status: "incomplete", unproven: p.events.length, problems: [] });
    expect(evidenceExitCode(report)).toBe(3);
  });
});
