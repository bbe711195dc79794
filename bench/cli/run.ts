/**
 * DESIGN §9 (c): a CLI tool call through the gateway versus a bare `docker run --rm` of the same
 * image, in the same run, interleaved call by call so machine load hits both alike. A third
 * column is the engine alone (`executeCli`: the lockdown, attach, wait, forced removal — no
 * envelope, policy or audit), which splits the gateway's added time into engine and pipeline.
 *
 * Run: `npx tsx bench/cli/run.ts [runs] [image]` (default 40 runs of seal-test/jq; needs
 * scripts/docker.sh and scripts/docker-images.sh). The gateway is built in-process
 * (`buildGateway`, SQLite, audit durability normal) and called with `app.request` — signed
 * envelopes through the whole pipeline, without an HTTP socket.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildGateway } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { CliToolDefinition } from "../../src/engines/cli/definition.js";
import { dockerRuntime } from "../../src/engines/cli/docker-runtime.js";
import { executeCli } from "../../src/engines/cli/execute.js";
import { createLogger } from "../../src/log/logger.js";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../src/sdk/index.js";

const runs = Number(process.argv[2] ?? "40");
const imageName = process.argv[3] ?? "seal-test/jq";
const socketPath = process.env.SEAL_DOCKER_SOCKET ?? "/var/run/docker.sock";
if (!(runs >= 5)) throw new Error("usage: tsx bench/cli/run.ts [runs >= 5] [image]");

const exec = promisify(execFile);
const image = (
  await exec("docker", ["-H", `unix://${socketPath}`, "image", "inspect", imageName, "--format", "{{.Id}}"])
).stdout.trim();

/** `docker run --rm -i` of the image with the same argv and stdin; resolves with its stdout. */
function bareRun(): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("docker", [
      "-H",
      `unix://${socketPath}`,
      "run",
      "--rm",
      "-i",
      "--network",
      "none",
      image,
      "-c",
      ".",
    ]);
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`docker run exited ${code}`))));
    p.stdin.end('{"a":1}');
  });
}

const dir = mkdtempSync(join(tmpdir(), "seal-bench-cli-"));
const loaded = loadConfig({
  env: {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    SEAL_GATEWAY_CLI_SOCKET_PATH: socketPath,
  },
  cwd: dir,
});
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const config = loaded.config;
const gw = await buildGateway(config, { log: createLogger("warn"), background: false });
const admin = gw.services.tokens.mintOperatorToken({
  sub: "bench",
  role: "admin",
  tenant: "*",
  ttlSeconds: 3600,
  nowSeconds: Math.floor(Date.now() / 1000),
});
async function control(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await gw.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}
const tool = {
  name: "bench.jq",
  command: "jq",
  docker_image: image,
  allowed_subcommands: ["-c"],
  argv_profile: "jq",
};
await control("/v1/cli-tools", tool);
await control("/v1/security-contexts", { name: "bench", capabilities: [{ tool_pattern: "bench.*" }] });
const pair = generateKeyPair();
const session = await control("/v1/seal/sessions", {
  sub: "bench-agent",
  security_context_name: "bench",
  public_key_b64: pair.publicKeyB64,
});

async function gatewayCall(i: number): Promise<string> {
  const body = signEnvelope({
    securityToken: String(session.security_token),
    payload: toolCallPayload({
      name: "bench.jq",
      arguments: { subcommand: "-c", args: ["."], stdin: '{"a":1}' },
      id: `b-${i}`,
    }),
    privateKeyB64: pair.privateKeyB64,
  }).body;
  const res = await gw.app.request("/v1/invoke", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const answer = (await res.json()) as { result?: { stdout: string } };
  if (res.status !== 200 || !answer.result)
    throw new Error(`gateway call ${i}: ${res.status} ${JSON.stringify(answer)}`);
  return answer.result.stdout;
}

const runtime = dockerRuntime({ socketPath });
const def = CliToolDefinition.parse(tool);
async function engineCall(i: number): Promise<string> {
  const out = await executeCli({
    runtime,
    settings: config.cli,
    tool: def,
    call: { subcommand: "-c", args: ["."], stdin: '{"a":1}' },
    ids: { tenantId: "bench", executionId: "exe_bench", callId: `call_bench_${i}` },
  });
  return out.result.stdout;
}

const kinds = { bare: bareRun, engine: engineCall, gateway: gatewayCall } as const;
type Kind = keyof typeof kinds;
const samples: Record<Kind, number[]> = { bare: [], engine: [], gateway: [] };
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
// Two warm-up rounds (image layers in the page cache, the JIT warm), not counted.
for (let i = -2; i < runs; i++) {
  // The order rotates, so none of the three always runs right after another.
  const order = (["bare", "engine", "gateway"] as Kind[]).map((_, j, a) => a[(j + i + 3) % 3] as Kind);
  for (const kind of order) {
    const t0 = performance.now();
    const out = await kinds[kind](i);
    const ms = performance.now() - t0;
    if (out !== '{"a":1}\n') throw new Error(`${kind}: unexpected output ${JSON.stringify(out)}`);
    if (i >= 0) samples[kind].push(ms);
  }
}
await gw.close();
rmSync(dir, { recursive: true, force: true });

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}
const row = (k: Kind) => ({ p50: pct(samples[k], 50), p99: pct(samples[k], 99) });
const bare = row("bare");
console.log(
  `CLI call (${imageName}, jq -c . over stdin) — ${runs} runs each, interleaved; Node ${process.version}; load average at start ${load}.`,
);
console.log("| path | p50 ms | p99 ms | p50 vs bare docker run |");
console.log("|---|---:|---:|---:|");
for (const k of ["bare", "engine", "gateway"] as Kind[]) {
  const r = row(k);
  const label = {
    bare: "`docker run --rm -i` (CLI)",
    engine: "engine only (`executeCli`)",
    gateway: "gateway (signed envelope, policy, audit)",
  }[k];
  console.log(
    `| ${label} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(((r.p50 - bare.p50) / bare.p50) * 100).toFixed(1)} % |`,
  );
}
