/**
 * PostgreSQL for tests. `pgUrl()` uses SEAL_GATEWAY_TEST_PG_URL when set, otherwise brings up
 * the local server with scripts/pg.sh (once per process). When PostgreSQL cannot be reached the
 * helpers throw: a PostgreSQL test must fail, never skip, or the dialect would go untested.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { packageRoot } from "../../src/paths.js";

const run = promisify(execFile);
const SCRIPT_TIMEOUT_MS = 10 * 60_000;

let pending: Promise<string> | undefined;

async function startLocal(): Promise<string> {
  const script = join(packageRoot(), "scripts", "pg.sh");
  try {
    const { stdout } = await run("bash", [script], { timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 16 << 20 });
    const lines = stdout.trim().split("\n");
    const url = lines[lines.length - 1]?.trim() ?? "";
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error("scripts/pg.sh printed no postgres:// URL");
    return url;
  } catch (err) {
    const stderr = typeof err === "object" && err !== null ? Reflect.get(err, "stderr") : undefined;
    const tail = typeof stderr === "string" ? stderr.trim().split("\n").slice(-15).join("\n") : "";
    throw new Error(`PostgreSQL is required for this test and could not be started:\n${tail}`, {
      cause: err,
    });
  }
}

/** The URL of a running PostgreSQL whose role may create databases. */
export function pgUrl(): Promise<string> {
  const fromEnv = process.env.SEAL_GATEWAY_TEST_PG_URL;
  if (fromEnv) return Promise.resolve(fromEnv);
  pending ??= startLocal();
  return pending;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs one statement on the server's maintenance connection (database names cannot be bound). */
async function admin(statement: string): Promise<void> {
  const sql = postgres(await pgUrl(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface FreshPgDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database (test_<random>) so test files never see each other's rows. */
export async function freshPgDatabase(): Promise<FreshPgDatabase> {
  const name = `test_${randomBytes(8).toString("hex")}`;
  await admin(`create database "${name}"`);
  const url = withDatabase(await pgUrl(), name);
  return {
    url,
    drop: () => admin(`drop database if exists "${name}" with (force)`),
  };
}
