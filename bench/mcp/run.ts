/**
 * system.echo through /v1/invoke, through POST /mcp (the SDK client, envelope in _meta) and
 * through the signing bridge (`seal-gateway mcp` on stdio, SDK client), in one run on one
 * gateway process. Run from the project root after `npm run build`:
 *
 *   npx tsx bench/mcp/run.ts [--calls 300] [--warmup 30]
 *
 * Sequential calls (one in flight): the figure is the added latency of each MCP path over
 * /v1/invoke, not throughput under load (bench/workflow measures that). Prints a markdown table.
 */
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";
import { MAIN, startFixture } from "./fixture.js";

const { values } = parseArgs({
  options: { calls: { type: "string", default: "300" }, warmup: { type: "string", default: "30" } },
});
const CALLS = Number(values.calls);
const WARMUP = Number(values.warmup);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(name: string, call: (i: number) => Promise<void>) {
  for (let i = 0; i < WARMUP; i++) await call(-i - 1);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call(i);
    times.push(performance.now() - t0);
  }
  const total = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  process.stderr.write(`${name}: done\n`);
  return { name, p50: pct(times, 50), p99: pct(times, 99), rate: CALLS / total };
}

const fx = await startFixture();
try {
  const sign = (args: Record<string, unknown>) =>
    signEnvelope({
      securityToken: fx.token,
      payload: toolCallPayload({ name: "system.echo", arguments: args }),
      privateKeyB64: fx.privateKeyB64,
    });
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`a ${what} call failed`);
  };

  const invoke = await measure("/v1/invoke", async (i) => {
    const res = await fetch(`${fx.url}/v1/invoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: sign({ i }).body,
    });
    check(res.status === 200, "/v1/invoke");
    await res.arrayBuffer();
  });

  const direct = new Client({ name: "bench", version: "1" });
  await direct.connect(
    new StreamableHTTPClientTransport(new URL(`${fx.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
    }),
  );
  const mcp = await measure("POST /mcp", async (i) => {
    const r = await direct.callTool({
      name: "system.echo",
      arguments: { i },
      _meta: { "seal/envelope": sign({ i }).envelope },
    });
    check(r.isError === false, "/mcp");
  });
  await direct.close();

  const bridged = new Client({ name: "bench", version: "1" });
  await bridged.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, "mcp", "--url", fx.url, "--key-file", fx.keyFile],
      env: { ...(fx.env as Record<string, string>), SEAL_TOKEN: fx.token },
    }),
  );
  const bridge = await measure("bridge (stdio) → /mcp", async (i) => {
    const r = await bridged.callTool({ name: "system.echo", arguments: { i } });
    check(r.isError === false, "bridge");
  });
  await bridged.close();

  const base = invoke;
  const row = (r: typeof invoke) =>
    `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r === base ? "—" : `+${(r.p50 - base.p50).toFixed(2)} / +${(r.p99 - base.p99).toFixed(2)}`} | ${r.rate.toFixed(0)} |`;
  console.log(
    `${CALLS} sequential system.echo calls per path (after ${WARMUP} warm-up), one gateway process (SQLite)\n`,
  );
  console.log("| path | p50 ms | p99 ms | added p50 / p99 ms vs /v1/invoke | calls/s (one in flight) |");
  console.log("|---|---|---|---|---|");
  for (const r of [invoke, mcp, bridge]) console.log(row(r));
} finally {
  fx.close();
}
