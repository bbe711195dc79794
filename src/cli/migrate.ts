import { parseArgs } from "node:util";
import { openStore } from "../store/open.js";
import { configOrExit } from "./common.js";

/** `migrate`: applies the database migrations of the configured dialect. */
export async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string" } } });
  const config = configOrExit(values.config);
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    await store.migrate();
    process.stdout.write(`migrations applied (${store.dialect})\n`);
    return 0;
  } finally {
    await store.close();
  }
}
