// `npm test`: the whole suite (SQLite and PostgreSQL; the global setup starts PostgreSQL).
// Prints a closing "N passed, N failed" line that CI can read.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = join(mkdtempSync(join(tmpdir(), "seal-test-")), "results.json");
const args = [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
];
const r = spawnSync("npx", args, { stdio: "inherit" });
let summary = null;
try {
  const json = JSON.parse(readFileSync(out, "utf8"));
  summary = `${json.numPassedTests} passed, ${json.numFailedTests} failed, ${json.numPendingTests + json.numTodoTests} skipped`;
} catch {
  // no results file: vitest failed before running tests
}
if (summary) console.log(`\ntests: ${summary}`);
process.exit(r.status ?? 1);
