/**
 * The real CLI (`node dist/src/main.js`) against a real gateway process on SQLite: operator
 * tokens, key files, signing and calling, audit verification, and what SIGTERM and SIGKILL
 * leave behind in the audit chain.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";
import { Database } from "../../src/store/sqlite/driver.js";
import {
  auditVerifyUntil,
  type GatewayProcess,
  jsonPost,
  lastLine,
  runCli,
  startGateway,
  tempDir,
} from "./process.js";

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

type ErrorAnswer = { protocol: string; status: string; error: { code: number; details: { reason: string } } };

async function createSession(gw: GatewayProcess, adminToken: string, publicKeyB64: string, sub = "agent-1") {
  const res = await fetch(
    `${gw.url}/v1/seal/sessions`,
    jsonPost({ sub, security_context_name: "default", public_key_b64: publicKeyB64 }, adminToken),
  );
  const body = (await res.json()) as { security_token: string; execution_id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function post(gw: GatewayProcess, body: string): Promise<{ status: number; body: ErrorAnswer }> {
  const res = await fetch(`${gw.url}/v1/invoke`, jsonPost(body));
  return { status: res.status, body: (await res.json()) as ErrorAnswer };
}

function envelope(token: string, privateKeyB64: string): string {
  return signEnvelope({
    securityToken: token,
    payload: toolCallPayload({ name: "demo.tool", arguments: { q: "x" } }),
    privateKeyB64,
  }).body;
}

describe("seal-gateway CLI against a running gateway", () => {
  const dir = tempDir();
  const env = { SEAL_GATEWAY_DATA_DIR: dir };
  const opts = { env, cwd: dir };
  let gw: GatewayProcess;
  let admin = "";
  let keyFile = "";
  let agentToken = "";

  beforeAll(async () => {
    gw = await startGateway(opts);
  });
  afterAll(async () => {
    await gw.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("token --role admin prints an operator token as the last stdout line, accepted by the gateway", async () => {
    const r = await runCli(["token", "--role", "admin", "--tenant", "*"], opts);
    expect(r.code, r.stderr).toBe(0);
    admin = lastLine(r.stdout);
    expect(admin).toMatch(JWT);
    const res = await fetch(`${gw.url}/v1/events`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
  });

  it("token --role viewer reads but may not write", async () => {
    const r = await runCli(["token", "--role", "viewer", "--ttl", "15m"], opts);
    expect(r.code, r.stderr).toBe(0);
    const viewer = lastLine(r.stdout);
    expect(
      (await fetch(`${gw.url}/v1/events`, { headers: { authorization: `Bearer ${viewer}` } })).status,
    ).toBe(200);
    const res = await fetch(
      `${gw.url}/v1/seal/sessions`,
      jsonPost(
        { sub: "a", security_context_name: "default", public_key_b64: generateKeyPair().publicKeyB64 },
        viewer,
      ),
    );
    expect(res.status).toBe(403);
  });

  it("token --ttl 24h is the longest accepted lifetime", async () => {
    const r = await runCli(["token", "--role", "operator", "--ttl", "24h"], opts);
    expect(r.code, r.stderr).toBe(0);
    const payload = JSON.parse(
      Buffer.from(lastLine(r.stdout).split(".")[1] ?? "", "base64url").toString(),
    ) as { iat: number; exp: number };
    expect(payload.exp - payload.iat).toBe(86_400);
  });

  it.each([
    ["--ttl 25h", ["--role", "admin", "--ttl", "25h"]],
    ["--ttl 24h1s", ["--role", "admin", "--ttl", "86401s"]],
    ["--ttl 0s", ["--role", "admin", "--ttl", "0s"]],
    ["--ttl -1h", ["--role", "admin", "--ttl=-1h"]],
    ["--ttl abc", ["--role", "admin", "--ttl", "abc"]],
    ["a bad role", ["--role", "root"]],
    ["a role in the wrong case", ["--role", "Admin"]],
    ["no role", []],
    ["a non-admin across tenants", ["--role", "viewer", "--tenant", "*"]],
    ["an unknown option", ["--role", "admin", "--bogus"]],
  ])("token with %s is a usage error (exit 2) and prints no token", async (_name, args) => {
    const r = await runCli(["token", ...args], opts);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/usage|--ttl|--role|only admin|Unknown option/i);
  });

  it("keygen prints a working Ed25519 key pair as JSON", async () => {
    const r = await runCli(["keygen"], opts);
    expect(r.code, r.stderr).toBe(0);
    const pair = JSON.parse(r.stdout) as { public_key_b64: string; private_key_b64: string };
    expect(Object.keys(pair).sort()).toEqual(["private_key_b64", "public_key_b64"]);
    expect(Buffer.from(pair.public_key_b64, "base64")).toHaveLength(32);
    expect(Buffer.from(pair.private_key_b64, "base64")).toHaveLength(32);
    const priv = createPrivateKey({
      key: Buffer.concat([
        Buffer.from("302e020100300506032b657004220420", "hex"),
        Buffer.from(pair.private_key_b64, "base64"),
      ]),
      format: "der",
      type: "pkcs8",
    });
    const pub = createPublicKey({
      key: Buffer.concat([
        Buffer.from("302a300506032b6570032100", "hex"),
        Buffer.from(pair.public_key_b64, "base64"),
      ]),
      format: "der",
      type: "spki",
    });
    expect(edVerify(null, Buffer.from("m"), pub, edSign(null, Buffer.from("m"), priv))).toBe(true);
    const again = JSON.parse((await runCli(["keygen"], opts)).stdout) as { public_key_b64: string };
    expect(again.public_key_b64).not.toBe(pair.public_key_b64);
  });

  it("keygen --out writes an owner-only key file, keeps the private key off stdout, and refuses to overwrite", async () => {
    keyFile = join(dir, "agent.key.json");
    const r = await runCli(["keygen", "--out", keyFile], opts);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(keyFile, "utf8")) as {
      public_key_b64: string;
      private_key_b64: string;
    };
    expect(JSON.parse(r.stdout)).toMatchObject({ public_key_b64: stored.public_key_b64 });
    expect(r.stdout).not.toContain(stored.private_key_b64);
    const before = readFileSync(keyFile, "utf8");
    const again = await runCli(["keygen", "--out", keyFile], opts);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists/i);
    expect(readFileSync(keyFile, "utf8")).toBe(before);
    const missingDir = await runCli(["keygen", "--out", join(dir, "no", "such", "dir.json")], opts);
    expect(missingDir.code).not.toBe(0);
  });

  it("call --key-file prints the gateway's JSON error (2006: no tool can be allowed yet) and exits 1", async () => {
    const stored = JSON.parse(readFileSync(keyFile, "utf8")) as { public_key_b64: string };
    agentToken = (await createSession(gw, admin, stored.public_key_b64)).security_token;
    const r = await runCli(
      [
        "call",
        "--tool",
        "demo.tool",
        "--args",
        '{"q":"x"}',
        "--url",
        gw.url,
        "--token",
        agentToken,
        "--key-file",
        keyFile,
      ],
      opts,
    );
    expect(r.code, r.stderr).toBe(1);
    const answer = JSON.parse(lastLine(r.stdout)) as ErrorAnswer;
    expect(answer).toMatchObject({ protocol: "seal/v1", status: "error", error: { code: 2006 } });
  });

  it("call with the wrong private key is refused at the signature (1002), not at authorization", async () => {
    const other = generateKeyPair();
    const r = await runCli(
      ["call", "--tool", "demo.tool", "--url", gw.url, "--token", agentToken, "--key", other.privateKeyB64],
      opts,
    );
    expect(r.code).toBe(1);
    expect((JSON.parse(lastLine(r.stdout)) as ErrorAnswer).error.code).toBe(1002);
  });

  it.each([
    ["no --tool", ["call", "--token", "t", "--key", "k"]],
    ["no token", ["call", "--tool", "x", "--key", "k"]],
    ["no key", ["sign", "--tool", "x", "--token", "t"]],
    ["--args that is not JSON", ["sign", "--tool", "x", "--token", "t", "--key", "k", "--args", "{nope"]],
    ["--args that is an array", ["sign", "--tool", "x", "--token", "t", "--key", "k", "--args", "[1]"]],
  ])("call/sign with %s is a usage error (exit 2)", async (_name, args) => {
    const r = await runCli(args, opts);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("sign prints an envelope that the gateway authenticates (2006, not 401) — once", async () => {
    const r = await runCli(
      [
        "sign",
        "--tool",
        "demo.tool",
        "--args",
        '{"q":"y"}',
        "--id",
        "req-cli-1",
        "--token",
        agentToken,
        "--key-file",
        keyFile,
      ],
      opts,
    );
    expect(r.code, r.stderr).toBe(0);
    const body = lastLine(r.stdout);
    expect(JSON.parse(body)).toMatchObject({
      protocol: "seal/v1",
      security_token: agentToken,
      payload: {
        id: "req-cli-1",
        method: "tools/call",
        params: { name: "demo.tool", arguments: { q: "y" } },
      },
    });
    const first = await post(gw, body);
    expect(first.status).toBe(403);
    expect(first.body.error.code).toBe(2006);
    const replay = await post(gw, body);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatchObject({ code: 1003, details: { reason: "replay" } });
  });

  it("sign --unix-timestamp sends integer seconds, also accepted", async () => {
    const r = await runCli(
      ["sign", "--tool", "demo.tool", "--unix-timestamp", "--token", agentToken, "--key-file", keyFile],
      opts,
    );
    expect(r.code, r.stderr).toBe(0);
    const body = lastLine(r.stdout);
    expect(Number.isInteger((JSON.parse(body) as { timestamp: unknown }).timestamp)).toBe(true);
    expect((await post(gw, body)).body.error.code).toBe(2006);
  });

  it("audit verify exits 0 once the running gateway has sealed (3 while rows are unsealed)", async () => {
    const first = await runCli(["audit", "verify", "--json"], opts);
    expect([0, 3]).toContain(first.code);
    const r = await auditVerifyUntil(0, opts);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "intact", unsealedRows: 0, problems: [] });
    expect((JSON.parse(r.stdout) as { sealedRows: number }).sealedRows).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ["an unknown command", ["frobnicate"]],
    ["no command", []],
    ["audit without verify", ["audit"]],
    ["audit verify with an unknown option", ["audit", "verify", "--bogus"]],
  ])("%s is a usage error (exit 2)", async (_name, args) => {
    const r = await runCli(args, opts);
    expect(r.code, r.stderr).toBe(2);
  });
});

describe("gateway process shutdown", () => {
  it("SIGTERM: in-flight calls finish, the process exits 0 within the grace period, and everything is sealed", async () => {
    const dir = tempDir();
    // The periodic sealer never runs here: only the shutdown can seal these rows.
    const env = {
      SEAL_GATEWAY_DATA_DIR: dir,
      SEAL_GATEWAY_AUDIT_SEAL_INTERVAL_MS: "3600000",
      SEAL_GATEWAY_SERVER_SHUTDOWN_GRACE_MS: "5000",
    };
    const opts = { env, cwd: dir };
    const gw = await startGateway(opts);
    try {
      const admin = lastLine((await runCli(["token", "--role", "admin"], opts)).stdout);
      const pair = generateKeyPair();
      const { security_token } = await createSession(gw, admin, pair.publicKeyB64);
      for (let i = 0; i < 3; i++)
        expect((await post(gw, envelope(security_token, pair.privateKeyB64))).body.error.code).toBe(2006);
      const before = await runCli(["audit", "verify", "--json"], opts);
      expect(before.code, before.stdout).toBe(3);
      expect(JSON.parse(before.stdout)).toMatchObject({ status: "unsealed_tail", sealedRows: 0 });

      const bodies = Array.from({ length: 40 }, () => envelope(security_token, pair.privateKeyB64));
      const inflight = bodies.map((b) =>
        post(gw, b).then(
          (r) => r.body.error.code,
          () => "connection error" as const,
        ),
      );
      // Stop as soon as the first answer arrives: the other calls are then queued or running.
      await Promise.race(inflight);
      const t0 = Date.now();
      gw.proc.kill("SIGTERM");
      const exit = await gw.exited;
      const elapsed = Date.now() - t0;
      const outcomes = await Promise.all(inflight);
      expect(exit, gw.output()).toEqual({ code: 0, signal: null });
      // Well inside the 5 s grace: connections that go idle after their last answer are closed
      // at once instead of holding the shutdown for the client's keep-alive (~4 s).
      expect(elapsed).toBeLessThan(2500);
      // Every call either got its real answer or was never accepted; none was cut off with a 5xx.
      for (const o of outcomes) expect([2006, "connection error"]).toContain(o);
      expect(outcomes.filter((o) => o === 2006).length).toBeGreaterThan(1);

      const after = await runCli(["audit", "verify", "--json"], opts);
      expect(after.code, after.stdout).toBe(0);
      expect(JSON.parse(after.stdout)).toMatchObject({ status: "intact", unsealedRows: 0 });
      // Each answer the callers saw has its audit row ("no audit, no action").
      const db = new Database(join(dir, "gateway.db"), { readonly: true });
      try {
        const row = db
          .prepare("select count(*) as n from gateway_events where event_type = 'PolicyDenied'")
          .get() as { n: number };
        expect(row.n).toBe(3 + outcomes.filter((o) => o === 2006).length);
      } finally {
        db.close();
      }
    } finally {
      await gw.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("SIGTERM while a request is half received: it is answered, then the idle keep-alive connection does not hold the exit", async () => {
    const dir = tempDir();
    const env = { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_SERVER_SHUTDOWN_GRACE_MS: "20000" };
    const opts = { env, cwd: dir };
    const gw = await startGateway(opts);
    try {
      const admin = lastLine((await runCli(["token", "--role", "admin"], opts)).stdout);
      const pair = generateKeyPair();
      const { security_token } = await createSession(gw, admin, pair.publicKeyB64);
      const body = Buffer.from(envelope(security_token, pair.privateKeyB64));
      const socket = connect(gw.port, "127.0.0.1");
      let received = "";
      socket.on("data", (d: Buffer) => {
        received += d.toString();
      });
      socket.on("error", () => undefined);
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write(
        `POST /v1/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 100));
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      gw.proc.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      socket.write(body.subarray(100));
      const exit = await gw.exited;
      const elapsed = Date.now() - t0;
      socket.destroy();
      expect(exit, gw.output()).toEqual({ code: 0, signal: null });
      expect(received).toMatch(/^HTTP\/1\.1 403/);
      expect(received).toContain('"code":2006');
      // The answered connection is idle keep-alive; waiting for its keep-alive timeout (5 s)
      // or for the 20 s grace would be a shutdown that never finishes under steady traffic.
      expect(elapsed).toBeLessThan(2500);
      const after = await runCli(["audit", "verify", "--json"], opts);
      expect(after.code, after.stdout).toBe(0);
    } finally {
      await gw.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("SIGKILL during traffic leaves an intact or unsealed chain (exit 0 or 3), never tampered (1)", async () => {
    const dir = tempDir();
    const env = { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_AUDIT_SEAL_INTERVAL_MS: "100" };
    const opts = { env, cwd: dir };
    const gw = await startGateway(opts);
    try {
      const admin = lastLine((await runCli(["token", "--role", "admin"], opts)).stdout);
      const pair = generateKeyPair();
      const { security_token } = await createSession(gw, admin, pair.publicKeyB64);
      let running = true;
      let answered = 0;
      const workers = Array.from({ length: 8 }, async () => {
        while (running) {
          try {
            await post(gw, envelope(security_token, pair.privateKeyB64));
            answered += 1;
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 1200));
      gw.proc.kill("SIGKILL");
      await gw.exited;
      running = false;
      await Promise.all(workers);
      expect(answered).toBeGreaterThan(10);
      expect(existsSync(join(dir, "gateway.db"))).toBe(true);
      const r = await runCli(["audit", "verify", "--json"], opts);
      expect([0, 3], r.stdout + r.stderr).toContain(r.code);
      expect((JSON.parse(r.stdout) as { problems: string[] }).problems).toEqual([]);
    } finally {
      await gw.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
