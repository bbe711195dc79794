/**
 * Runs once before the suite: brings PostgreSQL up (scripts/pg.sh; a failure fails the run,
 * it never skips the PostgreSQL half), builds promtool for the metrics lint (scripts/promtool.sh,
 * instant once cached; .ci/run builds it ahead in the background) and builds dist/ for the tests
 * that run the real CLI.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";
import { pgUrl } from "./pg.js";

export async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  const root = packageRoot();
  const url = await pgUrl();
  process.env.SEAL_GATEWAY_TEST_PG_URL = url;
  provide("pgUrl", url);
  execFileSync("bash", [join(root, "scripts", "promtool.sh")], { stdio: "inherit" });
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
    // In CI the tests, benches and sources are type-checked together as well.
    if (process.env.CI)
      execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.test.json")], { stdio: "inherit" });
  } catch (err) {
    // tsc still emits on type errors; locally the suite goes on (others may be mid-edit),
    // in CI a type error fails the run.
    if (process.env.CI) throw err;
    process.stderr.write("global setup: tsc reported type errors (ignored outside CI)\n");
  }
}
