import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { rotateSigningKey } from "../keys/keyring.js";
import { MasterKeyError, masterKeySource, resolveMasterKey } from "../keys/master-key.js";
import { createLogger } from "../log/logger.js";
import { openStore } from "../store/open.js";
import { configOrExit, UsageError } from "./common.js";

/** `keys rotate`: a new active gateway signing key; the old one retired, still verifying. */
export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "rotate") throw new UsageError("usage: seal-gateway keys rotate [--config FILE]");
  const { values } = parseArgs({ args: rest, options: { config: { type: "string" } } });
  const config = configOrExit(values.config);
  if (!config.secrets.master_key && !existsSync(join(config.data_dir, "master.key"))) {
    process.stderr.write(
      "seal-gateway: no master key: set SEAL_GATEWAY_MASTER_KEY (or secrets.master_key) to the key the database was created with\n",
    );
    return 1;
  }
  const log = createLogger("warn");
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    const master = resolveMasterKey(masterKeySource(config), log);
    await store.migrate();
    const { kid, retired } = await rotateSigningKey(store, master, log);
    process.stdout.write(`${JSON.stringify({ kid, retired })}\n`);
    process.stderr.write(
      "signing key rotated: each instance signs with the new key after its next restart; the retired key keeps verifying\n",
    );
    return 0;
  } catch (err) {
    if (err instanceof MasterKeyError) {
      process.stderr.write(`seal-gateway: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}
