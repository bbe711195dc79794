/**
 * `seal-gateway secrets rotate-master-key` end to end with the REAL CLI and gateway processes
 * (SQLite and PostgreSQL): secrets written under key 1, rotation to key 2, then the gateway
 * refuses to start with key 1 and with key 2 every secret still opens and is sent upstream.
 * Refusals (same key, wrong current key, unsafe key file, bad usage) change nothing.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, runCli, startGateway, tempDir } from "../cli/process.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import {
  cliToken,
  echoHeadersTool,
  http,
  ok,
  type ProcessApi,
  processAgent,
  signedCall,
} from "./process-support.js";
import { newSecret } from "./support.js";

const key = () => randomBytes(32).toString("base64");

describe.each(BACKENDS)("secrets rotate-master-key (%s)", (backend) => {
  const dir = tempDir("seal-rotate-");
  const K1 = key();
  const K2 = key();
  const base: Record<string, string> = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
  };
  const withKey = (k: string, extra: Record<string, string> = {}) => ({
    ...base,
    SEAL_GATEWAY_MASTER_KEY: k,
    ...extra,
  });
  const keyFile = (name: string, content: string, mode = 0o600) => {
    const path = join(dir, name);
    writeFileSync(path, `${content}\n`, { mode });
    chmodSync(path, mode);
    return path;
  };
  const values = { a: newSecret(), b: newSecret() };
  let up: Upstream;
  let gw: GatewayProcess | null = null;
  let drop: (() => Promise<void>) | null = null;
  let before: Record<string, unknown>;

  beforeAll(async () => {
    up = await startUpstream();
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      base.SEAL_GATEWAY_DATABASE_URL = db.url;
      drop = db.drop;
    }
    // Key 1: two secrets (two tenants), a spec and a tool using one of them.
    gw = await startGateway({ env: withKey(K1), cwd: dir });
    const p: ProcessApi = { url: gw.url, admin: await cliToken(withKey(K1), dir) };
    await ok(p, "PUT", "/v1/secrets/svc/token", { value: values.a });
    await ok(p, "PUT", "/v1/secrets/svc/token?tenant_id=tenant-b", { value: values.b });
    await echoHeadersTool(p, up.url, { StaticRef: { key: "svc/token" } });
    before = await ok(p, "GET", "/v1/secrets/svc/token");
    await gw.kill();
    gw = null;
  });
  afterAll(async () => {
    await gw?.kill();
    await up?.close();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses bad usage and unsafe input without changing anything", async () => {
    const run = (args: string[], env: Record<string, string>) =>
      runCli(["secrets", "rotate-master-key", ...args], { env, cwd: dir });
    const none = await run([], withKey(K1));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("new master key is required");
    const both = await run(
      ["--new-key-file", keyFile("k2", K2)],
      withKey(K1, { SEAL_GATEWAY_NEW_MASTER_KEY: K2 }),
    );
    expect(both.code).toBe(2);
    const readable = await run(["--new-key-file", keyFile("k2-open", K2, 0o644)], withKey(K1));
    expect(readable.code).toBe(1);
    expect(readable.stderr).toContain("owner only");
    const garbage = `${K2.slice(0, 20)}!!not-a-key`;
    const malformed = await run([], withKey(K1, { SEAL_GATEWAY_NEW_MASTER_KEY: garbage }));
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).not.toContain(garbage);
    const same = await run([], withKey(K1, { SEAL_GATEWAY_NEW_MASTER_KEY: K1 }));
    expect(same.code).toBe(1);
    expect(same.stderr).toContain("is the current master key");
    // A current key the database was not created with: nothing opens, nothing is written.
    const wrong = await run([], withKey(key(), { SEAL_GATEWAY_NEW_MASTER_KEY: key() }));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /3 value\(s\) do not open under the current master key.*nothing was changed/,
    );
    const sub = await runCli(["secrets", "rotate"], { env: withKey(K1), cwd: dir });
    expect(sub.code).toBe(2);
    for (const r of [none, both, readable, malformed, same, wrong])
      expect(r.stdout + r.stderr).not.toContain(K2);
  });

  it("re-wraps every secret and the signing key, printing counts only", async () => {
    const r = await runCli(["secrets", "rotate-master-key", "--new-key-file", keyFile("k2-final", K2)], {
      env: withKey(K1),
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({
      rotated_secrets: 2,
      rotated_signing_keys: 1,
      already_rotated: 0,
    });
    expect(r.stderr).toContain("start every instance with the new key");
    for (const secret of [K1, K2, values.a, values.b]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it("start refuses to run while the new key's variable is still set, without showing it", async () => {
    const err = await startGateway({
      env: withKey(K2, { SEAL_GATEWAY_NEW_MASTER_KEY: K2 }),
      cwd: dir,
      readyTimeoutMs: 10_000,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/SEAL_GATEWAY_NEW_MASTER_KEY: unknown configuration variable/);
    expect(String(err)).not.toContain(K2);
  });

  it("afterwards the gateway refuses to start with the old key", async () => {
    await expect(startGateway({ env: withKey(K1), cwd: dir, readyTimeoutMs: 10_000 })).rejects.toThrow(
      /does not open under this master key/,
    );
  });

  it("and with the new key every secret opens: metadata unchanged, the value sent upstream", async () => {
    gw = await startGateway({ env: withKey(K2), cwd: dir });
    const p: ProcessApi = { url: gw.url, admin: await cliToken(withKey(K2), dir) };
    expect(await ok(p, "GET", "/v1/secrets/svc/token")).toEqual(before);
    const agent = await processAgent(p);
    const from = up.requests.length;
    const answer = await signedCall(p, agent, "echo.headers");
    expect(answer.status, JSON.stringify(answer)).toBe("success");
    expect(up.requests.slice(from).map((q) => q.headers.authorization)).toEqual([`Bearer ${values.a}`]);
    expect(JSON.stringify(answer)).not.toContain(values.a);
    // The tenant-b secret is still listed (the command proved every re-wrapped value opens
    // under the new key before it wrote anything).
    const other = await http(p, "GET", "/v1/secrets/svc/token?tenant_id=tenant-b");
    expect(other.json).toMatchObject({ tenant_id: "tenant-b", version: 1 });
    // A second rotation with the same pair finds everything already rotated... from key 2.
    await gw.kill();
    gw = null;
    const again = await runCli(["secrets", "rotate-master-key"], {
      env: withKey(K1, { SEAL_GATEWAY_NEW_MASTER_KEY: K2 }),
      cwd: dir,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toEqual({
      rotated_secrets: 0,
      rotated_signing_keys: 0,
      already_rotated: 3,
    });
  });

  it("rotating back to key 1 works the same way", async () => {
    const back = await runCli(["secrets", "rotate-master-key"], {
      env: withKey(K2, { SEAL_GATEWAY_NEW_MASTER_KEY: K1 }),
      cwd: dir,
    });
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout.trim())).toEqual({
      rotated_secrets: 2,
      rotated_signing_keys: 1,
      already_rotated: 0,
    });
    gw = await startGateway({ env: withKey(K1), cwd: dir });
    const p: ProcessApi = { url: gw.url, admin: await cliToken(withKey(K1), dir) };
    const agent = await processAgent(p);
    const from = up.requests.length;
    expect((await signedCall(p, agent, "echo.headers")).status).toBe("success");
    expect(up.requests.slice(from).map((q) => q.headers.authorization)).toEqual([`Bearer ${values.a}`]);
  });
});
