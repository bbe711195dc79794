/**
 * A fleet (issue 17 items 5 and 6): three gateway processes on ONE PostgreSQL database behind a
 * small round-robin load balancer, so consecutive requests land on different instances. Replay,
 * session revocation, approvals and rate limits hold across them; then one instance is killed
 * with SIGKILL under load and restarted: every call answered with success has all its audit
 * rows, envelopes seen before the crash are still refused as replays, and the chain verifies
 * once the tail is sealed. (Two instances and signing keys: test/cli/multi-instance.test.ts;
 * CLI containers left by a killed instance: test/cli-tools/crash.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { openRawDb, type RawDb } from "../audit/raw-db.js";
import {
  auditVerifyUntil,
  type GatewayProcess,
  jsonPost,
  lastLine,
  runCli,
  startGateway,
  tempDir,
} from "../cli/process.js";
import { type FreshPgDatabase, freshPgDatabase } from "../support/pg.js";
import { loadBalancer } from "./support/balancer.js";

interface Answer {
  status: number;
  body: {
    status?: string;
    request_id?: string;
    approval_id?: string;
    error?: { code: number; details: { reason: string } };
  };
}

describe("a fleet of three gateway processes on one PostgreSQL, behind a round-robin load balancer", () => {
  let db: FreshPgDatabase;
  let raw: RawDb;
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  let shared: Record<string, string>;
  const gateways: GatewayProcess[] = [];
  const lb = loadBalancer(() =>
    gateways.filter((g) => g.proc.exitCode === null && !g.proc.killed).map((g) => g.url),
  );
  let url = "";
  let admin = "";

  const start = (i: number) =>
    startGateway({ env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[i] ?? "" }, cwd: dirs[i] ?? "" });
  const cli = (args: string[]) =>
    runCli(args, { env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[3] ?? "" }, cwd: dirs[3] ?? "" });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(
      `${url}${path}`,
      body === undefined
        ? { method, headers: { authorization: `Bearer ${admin}` } }
        : { ...jsonPost(body, admin), method },
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const agent = async (context: string) => {
    const pair = generateKeyPair();
    const r = await api("POST", "/v1/seal/sessions", {
      sub: `agent-${randomBytes(3).toString("hex")}`,
      security_context_name: context,
      public_key_b64: pair.publicKeyB64,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { pair, token: String(r.body.security_token), executionId: String(r.body.execution_id) };
  };
  type FleetAgent = Awaited<ReturnType<typeof agent>>;
  const envelope = (
    a: FleetAgent,
    tool: string,
    args: Record<string, unknown>,
    meta?: Record<string, unknown>,
  ) =>
    signEnvelope({
      securityToken: a.token,
      payload: toolCallPayload({ name: tool, arguments: args, ...(meta ? { meta } : {}) }),
      privateKeyB64: a.pair.privateKeyB64,
    }).body;
  const invoke = async (body: string): Promise<Answer> => {
    const res = await fetch(`${url}/v1/invoke`, jsonPost(body));
    return { status: res.status, body: (await res.json()) as Answer["body"] };
  };
  const codeOf = (a: Answer) => a.body.error?.code ?? (a.status === 200 ? 0 : a.status);

  beforeAll(async () => {
    db = await freshPgDatabase();
    raw = openRawDb(db.url);
    shared = {
      SEAL_GATEWAY_DATABASE_URL: db.url,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    gateways.push(...(await Promise.all([0, 1, 2].map(start))));
    url = await lb.listen();
    const t = await cli(["token", "--role", "admin"]);
    expect(t.code, t.stderr).toBe(0);
    admin = lastLine(t.stdout);
    for (const doc of [
      {
        name: "fleet",
        capabilities: [
          { tool_pattern: "system.whoami", approval: "required" },
          { tool_pattern: "system.echo" },
        ],
      },
      {
        name: "fleet-limited",
        capabilities: [{ tool_pattern: "system.echo", rate_limit: { calls: 5, per_seconds: 3600 } }],
      },
    ]) {
      const r = await api("POST", "/v1/security-contexts", doc);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await lb.close();
    await Promise.all(gateways.map((g) => g.kill()));
    await raw?.close();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("spreads calls over all three, and an envelope is accepted once whichever instance sees it", async () => {
    const a = await agent("fleet");
    const before = new Map(lb.served);
    for (let i = 0; i < 6; i++) expect(codeOf(await invoke(envelope(a, "system.echo", { i })))).toBe(0);
    for (const g of gateways)
      expect((lb.served.get(new URL(g.url).host) ?? 0) - (before.get(new URL(g.url).host) ?? 0)).toBe(2);
    const body = envelope(a, "system.echo", { once: true });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(codeOf(await invoke(body)));
    expect(codes).toEqual([0, 1003, 1003]);
    // Raced to every instance at once: still exactly one.
    const raced = envelope(a, "system.echo", { raced: true });
    const all = await Promise.all(
      gateways.map((g) => fetch(`${g.url}/v1/invoke`, jsonPost(raced)).then((r) => r.json())),
    );
    expect(all.map((r) => (r as Answer["body"]).error?.code ?? 0).sort()).toEqual([0, 1003, 1003]);
  });

  it("a session revoked on one instance is refused by every instance on the next call", async () => {
    const a = await agent("fleet");
    expect(codeOf(await invoke(envelope(a, "system.echo", {})))).toBe(0);
    expect((await api("DELETE", `/v1/seal/sessions/${a.executionId}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const r = await invoke(envelope(a, "system.echo", { after: i }));
      expect([r.status, r.body.error?.code, r.body.error?.details.reason]).toEqual([
        401,
        1006,
        "session_revoked",
      ]);
    }
  });

  it("an approval requested on one instance, granted on another, is redeemed once on a third", async () => {
    const a = await agent("fleet");
    const pending = await invoke(envelope(a, "system.whoami", {}));
    expect([pending.status, pending.body.status]).toEqual([202, "pending"]);
    const id = String(pending.body.approval_id);
    expect((await api("POST", `/v1/approvals/${id}/approve`, { reason: "fleet test" })).status).toBe(200);
    const ran = await invoke(envelope(a, "system.whoami", {}, { approval_id: id }));
    expect(ran.status, JSON.stringify(ran.body)).toBe(200);
    const again = await invoke(envelope(a, "system.whoami", {}, { approval_id: id }));
    expect([again.body.error?.code, again.body.error?.details.reason]).toEqual([4009, "approval_used"]);
  });

  it("a rate limit counts calls on every instance together", async () => {
    const a = await agent("fleet-limited");
    const codes = await Promise.all(
      Array.from({ length: 9 }, (_, i) => invoke(envelope(a, "system.echo", { i }))),
    );
    const sorted = codes.map(codeOf).sort((x, y) => x - y);
    expect(sorted).toEqual([0, 0, 0, 0, 0, 2005, 2005, 2005, 2005]);
  });

  it("kill -9 under load: every success has its rows, pre-crash envelopes stay replays, the chain verifies", async () => {
    const a = await agent("fleet");
    const bodies = Array.from({ length: 60 }, (_, i) => envelope(a, "system.echo", { load: i }));
    const answers: Answer[] = [];
    let sent = 0;
    const victim = gateways[1] as GatewayProcess;
    const worker = async () => {
      for (;;) {
        const i = sent++;
        if (i >= bodies.length) return;
        if (i === 25) victim.proc.kill("SIGKILL");
        answers[i] = await invoke(bodies[i] as string).catch(() => ({ status: 0, body: {} }));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect((await victim.exited).signal).toBe("SIGKILL");
    const ok = answers.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(30);
    // Answered with success ⇒ authorized and completed rows, committed before the answer.
    for (const r of ok) {
      const types = (
        await raw.rows("select event_type from gateway_events where request_id = $1 order by seq", [
          r.body.request_id,
        ])
      ).map((row) => row.event_type);
      expect(types, String(r.body.request_id)).toEqual(
        expect.arrayContaining(["ToolCallAuthorized", "ToolCallCompleted"]),
      );
    }
    // Restarted on a new port, it rejoins; every envelope it or the others saw is a replay.
    gateways[1] = await start(1);
    const seen = bodies.filter((_, i) => answers[i]?.status === 200 || codeOf(answers[i] as Answer) === 1003);
    for (const body of seen.slice(0, 12)) expect(codeOf(await invoke(body))).toBe(1003);
    const verified = await auditVerifyUntil(0, {
      env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[3] ?? "" },
      cwd: dirs[3] ?? "",
      timeoutMs: 20_000,
    });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ status: "intact", problems: [] });
  }, 120_000);
});
