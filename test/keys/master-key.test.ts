import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { masterKeyFromBytes } from "../../src/crypto/sealed-box.js";
import { MasterKeyError, masterKeySource, resolveMasterKey } from "../../src/keys/master-key.js";
import { silentLogger } from "../../src/log/logger.js";

/** secrets.previous_master_keys: read from the environment, resolved into the master key. */

const key = () => randomBytes(32).toString("base64");
const idOf = (b64: string) => masterKeyFromBytes(Buffer.from(b64, "base64")).id;

function configFrom(env: Record<string, string>) {
  const r = loadConfig({ env: { SEAL_GATEWAY_DEV_MODE: "false", ...env }, cwd: "/nonexistent" });
  return r;
}

describe("previous master keys", () => {
  it("reads SEAL_GATEWAY_PREVIOUS_MASTER_KEYS as a comma-separated list and resolves them as opening-only keys", () => {
    const [current, a, b] = [key(), key(), key()];
    const r = configFrom({
      SEAL_GATEWAY_MASTER_KEY: current,
      SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: `${a}, ${b}`,
    });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.config.secrets.previous_master_keys).toEqual([a, b]);
    const master = resolveMasterKey(masterKeySource(r.config), silentLogger);
    expect(master.id).toBe(idOf(current));
    expect(master.previous?.map((k) => k.id)).toEqual([idOf(a), idOf(b)]);
  });

  it("defaults to none: the master key alone", () => {
    const r = configFrom({ SEAL_GATEWAY_MASTER_KEY: key() });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.secrets.previous_master_keys).toEqual([]);
    expect(resolveMasterKey(masterKeySource(r.config), silentLogger).previous).toBeUndefined();
  });

  it("refuses a malformed previous key without showing it, and more than four", () => {
    const garbage = `${key().slice(0, 20)}!!not-a-key`;
    const bad = configFrom({ SEAL_GATEWAY_MASTER_KEY: key(), SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: garbage });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(JSON.stringify(bad.problems)).toContain("secrets.previous_master_keys");
    expect(JSON.stringify(bad.problems)).not.toContain(garbage);
    const many = configFrom({
      SEAL_GATEWAY_MASTER_KEY: key(),
      SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: [key(), key(), key(), key(), key()].join(","),
    });
    expect(many.ok).toBe(false);
  });

  it("refuses the current key listed as a previous one", () => {
    const current = key();
    const r = configFrom({ SEAL_GATEWAY_MASTER_KEY: current, SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: current });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const err = (() => {
      try {
        resolveMasterKey(masterKeySource(r.config), silentLogger);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MasterKeyError);
    expect(String(err)).toMatch(/must not list the current master key/);
    expect(String(err)).not.toContain(current);
  });
});
