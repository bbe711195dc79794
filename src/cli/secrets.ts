import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RotationError, rotateMasterKey } from "../credentials/rotate-master-key.js";
import { masterKeyFromBytes, withPreviousKeys } from "../crypto/sealed-box.js";
import { decodeMasterKey, MasterKeyError, masterKeySource, resolveMasterKey } from "../keys/master-key.js";
import { createLogger } from "../log/logger.js";
import { openStore } from "../store/open.js";
import { configOrExit, UsageError } from "./common.js";

/** `secrets rotate-master-key`: re-wraps every secret and signing key under a new master key. */

const NEW_KEY_VARIABLE = "SEAL_GATEWAY_NEW_MASTER_KEY";

/** The new master key, from an owner-only file or the environment; never echoed; or none given. */
function newMasterKey(file: string | undefined) {
  const fromEnv = process.env[NEW_KEY_VARIABLE];
  if (file !== undefined && fromEnv !== undefined)
    throw new UsageError(`give the new key once: --new-key-file or ${NEW_KEY_VARIABLE}, not both`);
  if (file === undefined) return fromEnv === undefined ? null : decodeMasterKey(fromEnv);
  if ((statSync(file).mode & 0o077) !== 0)
    throw new MasterKeyError(`${file} must be readable by its owner only (chmod 600)`);
  return decodeMasterKey(readFileSync(file, "utf8").trim());
}

export async function secretsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "rotate-master-key")
    throw new UsageError(
      "usage: seal-gateway secrets rotate-master-key [--new-key-file FILE] [--config FILE]",
    );
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string" }, "new-key-file": { type: "string" } },
  });
  const to = newMasterKey(values["new-key-file"]);
  // The new key's variable is this command's input, not a configuration setting.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== NEW_KEY_VARIABLE));
  const config = configOrExit(values.config, env);
  if (!config.secrets.master_key && !existsSync(join(config.data_dir, "master.key"))) {
    throw new MasterKeyError(
      "no current master key: set SEAL_GATEWAY_MASTER_KEY (or secrets.master_key) to the key the database was created with",
    );
  }
  const log = createLogger("warn");
  const configured = resolveMasterKey(masterKeySource(config), log);
  // Without a new key, the rotation is finished instead: every value still sealed under one of
  // secrets.previous_master_keys is re-wrapped under the current key.
  const previous = configured.previous ?? [];
  const [first, ...older] = previous;
  if (to === null && first === undefined)
    throw new UsageError(
      `the new master key is required (--new-key-file FILE or ${NEW_KEY_VARIABLE}), or set secrets.previous_master_keys to finish a rotation`,
    );
  const from = to === null && first ? withPreviousKeys(first, older) : configured;
  const target = to ?? masterKeyFromBytes(configured.bytes);
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    await store.migrate();
    // Nothing is written unless every value opens under the current key (see rotateMasterKey).
    const summary = await rotateMasterKey(store, from, target);
    process.stdout.write(
      `${JSON.stringify({ rotated_secrets: summary.secrets, rotated_signing_keys: summary.signingKeys, already_rotated: summary.alreadyRotated })}\n`,
    );
    process.stderr.write(
      to === null
        ? "rotation finished: every value is under the current master key; secrets.previous_master_keys can be removed at the next restart\n"
        : "master key rotated: start every instance with the new key (SEAL_GATEWAY_MASTER_KEY); the old key no longer opens anything\n",
    );
    return 0;
  } catch (err) {
    if (err instanceof RotationError || err instanceof MasterKeyError) {
      process.stderr.write(`seal-gateway: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}
