/**
 * `seal-gateway keys rotate` on SQLite: a new active signing key, the old one retired and still
 * verifying; usage errors exit 2; a master key that does not open the current key exits 1 and
 * changes nothing. (Across a fleet, while serving: test/ops/rolling.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { lastLine, runCli, tempDir } from "./process.js";

describe("seal-gateway keys rotate", () => {
  const dir = tempDir("seal-keys-");
  const env = { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64") };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli(args, { env: { ...env, ...extra }, cwd: dir });
  const kidOf = (jwt: string) =>
    (JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString()) as { kid: string }).kid;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a missing or unknown subcommand and unknown options (exit 2)", async () => {
    for (const args of [
      ["keys"],
      ["keys", "rotat"],
      ["keys", "rotate", "--force"],
      ["keys", "rotate", "extra"],
    ]) {
      const r = await cli(args);
      expect([args.join(" "), r.code], r.stderr).toEqual([args.join(" "), 2]);
      expect(r.stderr).toMatch(/usage/);
    }
  });

  it("rotates: tokens are then signed by the new key; the chain, checkpoints of either key, verifies", async () => {
    const before = lastLine((await cli(["token", "--role", "admin"])).stdout);
    const r = await cli(["keys", "rotate"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(lastLine(r.stdout)) as { kid: string; retired: string[] };
    expect(out.retired).toEqual([kidOf(before)]);
    expect(out.kid).toMatch(/^gk_/);
    expect(out.kid).not.toBe(kidOf(before));
    const after = lastLine((await cli(["token", "--role", "admin"])).stdout);
    expect(kidOf(after)).toBe(out.kid);
    // Checkpoints signed by either key verify.
    const verified = await cli(["audit", "verify", "--json"]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const again = JSON.parse(lastLine((await cli(["keys", "rotate"])).stdout)) as { retired: string[] };
    expect(again.retired).toEqual([out.kid]);
  });

  it("with a master key that does not open the active key: exit 1, nothing changed", async () => {
    const kidBefore = kidOf(lastLine((await cli(["token", "--role", "admin"])).stdout));
    const r = await cli(["keys", "rotate"], { SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not open under this master key/);
    expect(kidOf(lastLine((await cli(["token", "--role", "admin"])).stdout))).toBe(kidBefore);
  });
});
