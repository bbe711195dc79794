/**
 * What-if over history at scale (issue 18): N recorded call events of one security context
 * (default 1,000,000) bulk-inserted straight into the store, then re-decided by the what-if
 * verb page after page (`limit` ≤ 100,000 per request, following `next_cursor`) under the
 * current definition and a narrower candidate, then suggested from. Prints the time, the calls
 * per second and the process RSS (streaming: it must stay flat, whatever N is).
 *
 * Run: `npx tsx bench/policy/what-if.ts [--calls 1000000] [--no-sqlite] [--no-pg]`
 * PostgreSQL: SEAL_GATEWAY_TEST_PG_URL (a role that may create databases; a fresh database is
 * created and dropped).
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { AuditRecorder } from "../../src/audit/recorder.js";
import { createLogger } from "../../src/log/logger.js";
import { recordedArguments } from "../../src/policy/recorded-call.js";
import type { ServiceContext, ServiceDeps } from "../../src/services/context.js";
import { suggestContext } from "../../src/services/suggest.js";
import { whatIfContext } from "../../src/services/what-if.js";
import { openStore } from "../../src/store/open.js";
import type { NewEvent, Store } from "../../src/store/types.js";
import { ToolRegistry } from "../../src/tools/registry.js";

const { values: opts } = parseArgs({
  options: {
    calls: { type: "string", default: "1000000" },
    "no-sqlite": { type: "boolean", default: false },
    "no-pg": { type: "boolean", default: false },
  },
});
const CALLS = Number(opts.calls);
const BATCH = 4000;

const CURRENT = {
  name: "bench-ctx",
  deny_list: ["fs.delete"],
  capabilities: [
    { tool_pattern: "fs.*", path_allowlist: ["/workspace/**"] },
    { tool_pattern: "pay.refund", approval: "required" },
    { tool_pattern: "web.*", domain_allowlist: ["example.com", "*.example.org"] },
  ],
};
const CANDIDATE = {
  name: "bench-ctx",
  deny_list: ["fs.delete", "pay.*"],
  capabilities: [
    { tool_pattern: "fs.*", path_allowlist: ["/workspace/tmp/**"] },
    { tool_pattern: "web.*", domain_allowlist: ["example.com"] },
  ],
};

const SHAPES: [string, Record<string, unknown>][] = [
  ["fs.read", { path: "/workspace/a.txt" }],
  ["fs.read", { path: "/workspace/tmp/b.txt", options: { follow: false } }],
  ["fs.write", { path: "/etc/passwd" }],
  ["pay.refund", { order: 7 }],
  ["web.get", { url: "https://api.example.org/v1/items" }],
  ["web.get", { url: "https://example.com/" }],
  ["fs.delete", { path: "/workspace/x" }],
  ["other.tool", {}],
];

function event(i: number, t0: number): NewEvent {
  const [tool, args] = SHAPES[i % SHAPES.length] as [string, Record<string, unknown>];
  return {
    id: `evt_${i.toString(36).padStart(10, "0")}${randomBytes(4).toString("hex")}`,
    createdAt: t0 + i,
    eventType: "ToolCallAuthorized",
    tenantId: "default",
    executionId: null,
    callId: `call_${i}`,
    agentId: "bench-agent",
    toolName: tool,
    decision: "allow",
    stage: "authorize",
    code: null,
    requestId: `req-${i}`,
    payload: JSON.stringify({
      rule: "capabilities[0]",
      arguments_digest: "0".repeat(64),
      security_context: "bench-ctx",
      arguments: recordedArguments(args),
    }),
  };
}

const mib = () => Math.round(process.memoryUsage().rss / 1048576);

async function run(label: string, store: Store): Promise<void> {
  await store.migrate();
  const now = Date.now();
  await store.insertSecurityContext({
    tenantId: "default",
    name: "bench-ctx",
    document: JSON.stringify(CURRENT),
    createdAt: now,
    updatedAt: now,
  });
  const t0 = now - CALLS;
  let started = performance.now();
  for (let i = 0; i < CALLS; i += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, CALLS - i) }, (_, j) => event(i + j, t0));
    await store.writeBatch({ events, replays: [] });
  }
  const insertS = (performance.now() - started) / 1000;
  console.log(
    `${label}: inserted ${CALLS.toLocaleString("en")} events in ${insertS.toFixed(1)} s (RSS ${mib()} MiB)`,
  );

  const log = createLogger("warn");
  const deps = {
    store,
    audit: new AuditRecorder(store, log, { preauthPerMinute: 60, summaryIntervalMs: 60_000 }),
    tools: new ToolRegistry([]),
    log,
  } as unknown as ServiceDeps; // the verb reads only these
  const ctx: ServiceContext = {
    actor: { kind: "cli", sub: "bench", role: "viewer", tenant: "default" },
    requestId: "bench",
    deps,
  };
  for (const [name, candidate] of [
    ["current as candidate", CURRENT],
    ["narrower candidate", CANDIDATE],
  ] as const) {
    started = performance.now();
    let evaluated = 0;
    let flips = 0;
    let requests = 0;
    let peak = mib();
    let cursor: string | null = null;
    do {
      const answer = (await whatIfContext({
        ctx,
        input: { name: "bench-ctx", candidate, ...(cursor ? { cursor } : {}) },
      })) as { evaluated: number; flips: unknown[]; next_cursor: string | null };
      evaluated += answer.evaluated;
      flips += answer.flips.length;
      cursor = answer.next_cursor;
      requests++;
      peak = Math.max(peak, mib());
    } while (cursor);
    const s = (performance.now() - started) / 1000;
    console.log(
      `${label}: what-if (${name}) re-decided ${evaluated.toLocaleString("en")} calls in ${s.toFixed(1)} s ` +
        `(${Math.round(evaluated / s).toLocaleString("en")}/s, ${requests} requests, ${flips.toLocaleString("en")} flips listed), peak RSS ${peak} MiB`,
    );
  }
  started = performance.now();
  const suggestion = (await suggestContext({ ctx, input: { name: "bench-ctx" } })) as { based_on: number };
  console.log(
    `${label}: suggest read ${CALLS.toLocaleString("en")} calls (${suggestion.based_on.toLocaleString("en")} allowed) ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${mib()} MiB`,
  );
  await store.close();
}

if (!opts["no-sqlite"]) {
  const dir = mkdtempSync(join(tmpdir(), "seal-whatif-"));
  try {
    await run("sqlite", await openStore({ url: `sqlite://${join(dir, "bench.db")}`, durability: "normal" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (!opts["no-pg"]) {
  const base = process.env.SEAL_GATEWAY_TEST_PG_URL;
  if (!base) throw new Error("set SEAL_GATEWAY_TEST_PG_URL (or pass --no-pg)");
  const name = `bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    await run("postgres", await openStore({ url: url.toString(), durability: "normal" }));
  } finally {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}
