/**
 * What the audit event id's shape costs a SQLite commit. The gateway's real SQLite schema (drizzle's
 * migrator over drizzle/sqlite/migrations, WAL, synchronous NORMAL, as the store opens it) takes
 * batches shaped like the group commit's under a closed loop: 4 calls per commit, each with its
 * replay record and 4 event rows. The same batches run twice, once with random ids (`newId`, as
 * before) and once with time-ordered ones (`newTimeOrderedId`, as now); only the id differs.
 * Prints the mean commit time per block of batches, so its growth with the table shows too.
 *
 *   npx tsx bench/audit/event-ids.ts [--batches 75000] [--every 12500]
 *
 * Not a test: figures go to docs/performance.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { newId, newTimeOrderedId } from "../../src/ids.js";
import { migrationsFolder } from "../../src/paths.js";

const { values } = parseArgs({
  options: {
    batches: { type: "string", default: "75000" },
    every: { type: "string", default: "12500" },
  },
});
const BATCHES = Number(values.batches);
const EVERY = Number(values.every);
if (!(Number.isInteger(EVERY) && EVERY > 0 && Number.isInteger(BATCHES) && BATCHES >= EVERY))
  throw new Error("--batches and --every must be positive integers, --batches ≥ --every");
const CALLS_PER_BATCH = 4;
const TYPES = [
  "ToolCallAuthorized",
  "WorkflowInvocationStarted",
  "WorkflowStepExecuted",
  "ToolCallCompleted",
];
const PAYLOAD = JSON.stringify({ security_context: "bench", transport: "http", detail: "x".repeat(300) });

function openDb(dir: string): Database.Database {
  const db = new Database(join(dir, "seal.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  migrate(drizzle(db), { migrationsFolder: migrationsFolder("sqlite") });
  return db;
}

function run(label: string, id: (now: number) => string): void {
  const dir = mkdtempSync(join(tmpdir(), "seal-bench-ids-"));
  const db = openDb(dir);
  try {
    const insertEvent = db.prepare(
      `INSERT INTO gateway_events (id, created_at, event_type, tenant_id, execution_id, call_id, agent_id,
         tool_name, decision, stage, code, request_id, payload) VALUES (?, ?, ?, 'acme', 'ses_bench', ?, 'agent',
         'petstore.find-available', 'allow', 'execute', NULL, ?, ?)`,
    );
    const insertReplay = db.prepare(
      "INSERT INTO replay_records (key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    );
    const batch = db.transaction((now: number) => {
      for (let c = 0; c < CALLS_PER_BATCH; c++) {
        insertReplay.run(randomBytes(32).toString("base64url"), now + 30_000);
        const callId = newId("call");
        for (const type of TYPES) insertEvent.run(id(now), now, type, callId, newId("req"), PAYLOAD);
      }
    });
    let t0 = performance.now();
    for (let b = 1; b <= BATCHES; b++) {
      batch.immediate(Date.now());
      if (b % EVERY === 0) {
        const t = performance.now();
        const rows = b * CALLS_PER_BATCH * TYPES.length;
        console.log(
          `| ${label} | ${rows.toLocaleString("en-US")} | ${((1000 * (t - t0)) / EVERY).toFixed(0)} |`,
        );
        t0 = t;
      }
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `${CALLS_PER_BATCH} calls per commit (${CALLS_PER_BATCH} replay records, ${CALLS_PER_BATCH * TYPES.length} events), ${BATCHES.toLocaleString("en-US")} commits per id shape; Node ${process.version}.`,
);
console.log("| event id | events in the table | µs per commit (mean over the block) |");
console.log("|---|---:|---:|");
run("random (`newId`)", () => newId("evt"));
run("time-ordered (`newTimeOrderedId`)", (now) => newTimeOrderedId("evt", now));
