/**
 * What the admission benchmark runs against: a real gateway (buildGateway, background sealing
 * on, system clock) on SQLite or PostgreSQL, one agent session, and envelopes pre-signed with
 * node:crypto so that signing cost stays out of the measured loop. Every envelope is unique.
 */

import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { buildGateway, type Gateway } from "../../src/app.js";
import { systemClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/load.js";
import type { GatewayConfig } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log/logger.js";
import { packageRoot } from "../../src/paths.js";
import { canonicalize, signedMessage } from "../../src/sdk/canonical.js";

export type Backend = "sqlite" | "postgres";

export interface Fixture {
  gw: Gateway;
  config: GatewayConfig;
  agentToken: string;
  agentKey: KeyObject;
  agentPublic: KeyObject;
  /** The gateway's public key (it signed the agent token). */
  gatewayPublic: KeyObject;
  /** Set when the gateway is served over HTTP: stopping the server also closes the gateway. */
  stopServer?: () => Promise<void>;
  close(): Promise<void>;
}

export interface SignedEnvelope {
  body: string;
  /** The canonical bytes the signature covers (for the floor). */
  signed: Uint8Array;
  signature: Buffer;
}

let pgBase: string | undefined;

/** A PostgreSQL server URL: $BENCH_PG_URL, else the project's scripts/pg.sh (local server). */
function pgServerUrl(): string {
  pgBase ??=
    process.env.BENCH_PG_URL ??
    execFileSync("bash", [join(packageRoot(), "scripts", "pg.sh")], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() ??
    "";
  return pgBase;
}

async function freshPg(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(pgServerUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(pgServerUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(pgServerUrl(), { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

export async function startFixture(backend: Backend, durability: "normal" | "full"): Promise<Fixture> {
  const dataDir = mkdtempSync(join(tmpdir(), "seal-bench-"));
  const pg = backend === "postgres" ? await freshPg() : null;
  const r = loadConfig({
    env: {
      SEAL_GATEWAY_DATA_DIR: dataDir,
      SEAL_GATEWAY_DATABASE_URL: pg?.url ?? `sqlite://${join(dataDir, "gateway.db")}`,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      SEAL_GATEWAY_AUDIT_DURABILITY: durability,
    },
    cwd: dataDir,
  });
  if (!r.ok) throw new Error(`bench config refused: ${JSON.stringify(r.problems)}`);
  const gw = await buildGateway(r.config, { log: silentLogger, clock: systemClock });
  const nowS = Math.floor(Date.now() / 1000);
  const admin = gw.services.tokens.mintOperatorToken({
    sub: "bench",
    role: "admin",
    tenant: "*",
    ttlSeconds: 3600,
    nowSeconds: nowS,
  });
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const rawPublic = Buffer.from(String(publicKey.export({ format: "jwk" }).x), "base64url").toString(
    "base64",
  );
  const res = await gw.app.request("/v1/seal/sessions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
    body: JSON.stringify({
      sub: "bench-agent",
      security_context_name: "default",
      public_key_b64: rawPublic,
      ttl_seconds: 86_400,
    }),
  });
  if (res.status !== 201) throw new Error(`session create failed: ${res.status} ${await res.text()}`);
  const { security_token } = (await res.json()) as { security_token: string };
  const fx: Fixture = {
    gw,
    config: r.config,
    agentToken: security_token,
    agentKey: privateKey,
    agentPublic: publicKey,
    gatewayPublic: createPublicKey(gw.services.tokens.signingKey.privateKey),
    async close() {
      if (fx.stopServer) await fx.stopServer();
      else await gw.close();
      if (pg) await pg.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fx;
}

/** `n` unique envelopes signed now (fresh for the 30 s window), with a ~100-byte argument. */
export function presign(
  fx: Pick<Fixture, "agentToken" | "agentKey">,
  n: number,
  tag: string,
): SignedEnvelope[] {
  const seconds = Math.floor(Date.now() / 1000);
  const timestamp = new Date(seconds * 1000).toISOString();
  const out: SignedEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    const payload = {
      jsonrpc: "2.0",
      id: `${tag}-${i}`,
      method: "tools/call",
      params: {
        name: "demo.search",
        arguments: { query: "quarterly revenue by region", limit: 20, page: i },
      },
    };
    const signed = signedMessage(payload, fx.agentToken, seconds);
    const signature = sign(null, signed, fx.agentKey);
    const body = `{"protocol":"seal/v1","security_token":${JSON.stringify(fx.agentToken)},"signature":"${signature.toString("base64")}","payload":${canonicalize(payload)},"timestamp":"${timestamp}"}`;
    out.push({ body, signed, signature });
  }
  return out;
}
