/** Global setup for test/pipeline/vitest.config.ts: PostgreSQL up once for every worker. */
import { pgUrl } from "../support/pg.js";

export async function setup(): Promise<void> {
  process.env.SEAL_GATEWAY_TEST_PG_URL = await pgUrl();
}
