import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { decodeMasterKey as decodeConfiguredKey } from "../config/master-key.js";
import type { GatewayConfig } from "../config/schema.js";
import { type MasterKey, masterKeyFromBytes, withPreviousKeys } from "../crypto/sealed-box.js";
import type { Logger } from "../log/logger.js";

export interface MasterKeySource {
  /** base64 of 32 bytes, from secrets.master_key / SEAL_GATEWAY_MASTER_KEY. */
  configured: string | undefined;
  /** secrets.previous_master_keys: earlier keys that still open, during a rotation. */
  previous?: readonly string[];
  devMode: boolean;
  dataDir: string;
}

/** Where a configuration says the master key comes from. */
export function masterKeySource(config: GatewayConfig): MasterKeySource {
  return {
    configured: config.secrets.master_key,
    previous: config.secrets.previous_master_keys,
    devMode: config.dev_mode,
    dataDir: config.data_dir,
  };
}

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MasterKeyError";
  }
}

export function decodeMasterKey(text: string): MasterKey {
  const bytes = decodeConfiguredKey(text);
  // The value is never echoed: a master key in an error message is a leaked master key.
  if (!bytes) throw new MasterKeyError("secrets.master_key must be the base64 encoding of exactly 32 bytes");
  return masterKeyFromBytes(Buffer.from(bytes));
}

/**
 * Resolves the master key. Outside dev mode it must be configured (fail closed). In dev mode
 * a key is generated once into `<data_dir>/master.key` with owner-only permissions; several
 * instances sharing one PostgreSQL must be given the same configured key instead.
 */
export function resolveMasterKey(src: MasterKeySource, log: Logger): MasterKey {
  const current = currentMasterKey(src, log);
  const previous = (src.previous ?? []).map(decodeMasterKey);
  if (previous.some((k) => k.id === current.id))
    throw new MasterKeyError("secrets.previous_master_keys must not list the current master key");
  return withPreviousKeys(current, previous);
}

function currentMasterKey(src: MasterKeySource, log: Logger): MasterKey {
  if (src.configured) return decodeMasterKey(src.configured);
  if (!src.devMode)
    throw new MasterKeyError(
      "no master key configured (set SEAL_GATEWAY_MASTER_KEY); refusing to start outside dev mode",
    );
  mkdirSync(src.dataDir, { recursive: true, mode: 0o700 });
  const file = join(src.dataDir, "master.key");
  if (!existsSync(file)) {
    try {
      // O_EXCL: two processes starting together cannot both write a key.
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, `${randomBytes(32).toString("base64")}\n`);
      } finally {
        closeSync(fd);
      }
      log.warn("dev mode: generated a master key; set SEAL_GATEWAY_MASTER_KEY in production", { path: file });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new MasterKeyError(`${file} must be readable by its owner only (chmod 600)`);
  return decodeMasterKey(readFileSync(file, "utf8").trim());
}
