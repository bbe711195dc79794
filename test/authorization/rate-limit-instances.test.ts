/**
 * A rate limit holds across gateway instances: two real `seal-gateway start` processes on
 * one PostgreSQL database count against the same window (DESIGN §3 "shared across instances").
 * No engine registers tools in a bare process, so an allowed call ends at lookup (4004) —
 * after authorization counted it — and a refused one is 2005.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { type GatewayProcess, jsonPost, lastLine, runCli, startGateway, tempDir } from "../cli/process.js";
import { type FreshPgDatabase, freshPgDatabase } from "../support/pg.js";

type Answer = { status?: string; error?: { code: number; details: { reason: string } } };
const WINDOW_SECONDS = 600;
const CALLS = 4;

async function post(
  gw: GatewayProcess,
  body: string,
): Promise<{ status: number; code: number | undefined; retryAfter: string | null }> {
  const res = await fetch(`${gw.url}/v1/invoke`, jsonPost(body));
  const json = (await res.json()) as Answer;
  return { status: res.status, code: json.error?.code, retryAfter: res.headers.get("retry-after") };
}

describe("rate limit across two gateway processes on one PostgreSQL database", () => {
  let db: FreshPgDatabase;
  const dirs = [tempDir(), tempDir(), tempDir()];
  let shared: Record<string, string>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let admin = "";

  beforeAll(async () => {
    db = await freshPgDatabase();
    shared = {
      SEAL_GATEWAY_DATABASE_URL: db.url,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    a = await startGateway({ env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[0] ?? "" }, cwd: dirs[0] ?? "" });
    b = await startGateway({ env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[1] ?? "" }, cwd: dirs[1] ?? "" });
    const r = await runCli(["token", "--role", "admin"], {
      env: { ...shared, SEAL_GATEWAY_DATA_DIR: dirs[2] ?? "" },
      cwd: dirs[2] ?? "",
    });
    expect(r.code, r.stderr).toBe(0);
    admin = lastLine(r.stdout);
    const ctx = await fetch(
      `${a.url}/v1/security-contexts`,
      jsonPost(
        {
          name: "shared-limit",
          capabilities: [
            { tool_pattern: "demo.*", rate_limit: { calls: CALLS, per_seconds: WINDOW_SECONDS } },
          ],
        },
        admin,
      ),
    );
    expect(ctx.status, await ctx.text()).toBe(201);
  });
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Real time drives both processes: never start a run in the last seconds of a window. */
  async function awayFromWindowEdge(): Promise<void> {
    const windowMs = WINDOW_SECONDS * 1000;
    const left = windowMs - (Date.now() % windowMs);
    if (left < 30_000) await new Promise((r) => setTimeout(r, left + 500));
  }

  async function agentOn(gw: GatewayProcess, sub: string) {
    const pair = generateKeyPair();
    const res = await fetch(
      `${gw.url}/v1/seal/sessions`,
      jsonPost({ sub, security_context_name: "shared-limit", public_key_b64: pair.publicKeyB64 }, admin),
    );
    expect(res.status).toBe(201);
    const token = ((await res.json()) as { security_token: string }).security_token;
    return (args: Record<string, unknown>) =>
      signEnvelope({
        securityToken: token,
        payload: toolCallPayload({ name: "demo.tool", arguments: args }),
        privateKeyB64: pair.privateKeyB64,
      }).body;
  }

  it("alternating between the instances, the limit holds in total", { timeout: 60_000 }, async () => {
    await awayFromWindowEdge();
    const sign = await agentOn(a, "alternating-agent");
    const answers = [];
    for (let i = 0; i < CALLS * 2; i++) answers.push(await post(i % 2 === 0 ? a : b, sign({ i })));
    // Authorized (and counted) calls reach lookup; there is no such tool in a bare gateway.
    expect(answers.slice(0, CALLS).map((x) => x.code)).toEqual(Array(CALLS).fill(4004));
    for (const x of answers.slice(CALLS)) {
      expect(x.status).toBe(429);
      expect(x.code).toBe(2005);
      const retry = Number(x.retryAfter);
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(WINDOW_SECONDS);
    }
  });

  it("a concurrent burst split over both instances admits exactly the limit", {
    timeout: 60_000,
  }, async () => {
    await awayFromWindowEdge();
    const sign = await agentOn(b, "burst-agent");
    const bodies = Array.from({ length: 12 }, (_, i) => sign({ burst: i }));
    const answers = await Promise.all(bodies.map((body, i) => post(i % 2 === 0 ? a : b, body)));
    const codes = answers.map((x) => x.code);
    expect(codes.filter((c) => c === 4004)).toHaveLength(CALLS);
    expect(codes.filter((c) => c === 2005)).toHaveLength(12 - CALLS);
  });

  it("both instances recorded the refusals in one audit (PolicyDenied rows with the rate-limit rule)", async () => {
    const res = await fetch(`${a.url}/v1/events?type=PolicyDenied&limit=100`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const items = ((await res.json()) as { items: Array<{ code: number; payload: { rule: string } }> }).items;
    expect(items.filter((e) => e.code === 2005)).toHaveLength(CALLS + (12 - CALLS));
    expect(items.every((e) => e.payload.rule === "capabilities[0].rate_limit")).toBe(true);
  });
});
