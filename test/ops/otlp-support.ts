/**
 * A real OpenTelemetry Collector for the tracing tests (built by scripts/otelcol.sh from the Go
 * module proxy: OTLP receiver → OTLP/HTTP exporter, JSON) and the sink it forwards to: the
 * gateway exports to the collector, which accepts only valid OTLP, and the test reads what the
 * collector passed on — raw bytes (searched for values that must never appear) and spans.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";

export interface OtlpSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  traceState: string;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message: string };
}

export interface Collector {
  /** `http://127.0.0.1:<port>/v1/traces`, the collector's OTLP/HTTP receiver. */
  endpoint: string;
  /** Every body the collector forwarded, as received. */
  raw: string[];
  spans(): OtlpSpan[];
  /** Waits until `done(spans)` holds (the collector forwards as it receives; this covers the hop). */
  waitFor(done: (spans: OtlpSpan[]) => boolean, timeoutMs?: number): Promise<OtlpSpan[]>;
  output(): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};

function plainValue(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return JSON.stringify(v);
}

function attributesOf(list: { key: string; value: AnyValue }[] | undefined) {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plainValue(a.value)]));
}

interface ExportBody {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        traceState?: string;
        attributes?: { key: string; value: AnyValue }[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

function spansOf(body: string): OtlpSpan[] {
  const doc = JSON.parse(body) as ExportBody;
  const out: OtlpSpan[] = [];
  for (const rs of doc.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          service,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          name: s.name,
          kind: s.kind ?? 0,
          traceState: s.traceState ?? "",
          attributes: attributesOf(s.attributes),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
        });
  }
  return out;
}

export function collectorBinary(): string {
  const bin = join(packageRoot(), ".cache", "bin", "seal-otelcol");
  if (!existsSync(bin))
    execFileSync("bash", [join(packageRoot(), "scripts", "otelcol.sh")], { stdio: "inherit" });
  return bin;
}

export async function startCollector(): Promise<Collector> {
  const raw: string[] = [];
  const sink: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces") raw.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const sinkPort = (sink.address() as { port: number }).port;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "seal-otelcol-"));
  const configFile = join(dir, "config.yaml");
  writeFileSync(
    configFile,
    [
      "receivers:",
      "  otlp:",
      "    protocols:",
      "      http:",
      `        endpoint: 127.0.0.1:${port}`,
      "exporters:",
      "  otlphttp:",
      `    endpoint: http://127.0.0.1:${sinkPort}`,
      "    encoding: json",
      "    compression: none",
      "    retry_on_failure: { enabled: false }",
      "    sending_queue: { enabled: false }",
      "service:",
      "  telemetry:",
      "    metrics: { level: none }",
      "    logs: { level: warn }",
      "  pipelines:",
      "    traces: { receivers: [otlp], exporters: [otlphttp] }",
      "",
    ].join("\n"),
  );
  let output = "";
  const child: ChildProcess = spawn(collectorBinary(), ["--config", `file:${configFile}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const endpoint = `http://127.0.0.1:${port}/v1/traces`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the collector exited: ${output}`);
    // An empty export is valid OTLP: the collector answers 200 once its receiver is up.
    const ok = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the collector did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const spans = () => raw.flatMap(spansOf);
  return {
    endpoint,
    raw,
    spans,
    output: () => output,
    async waitFor(done, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const now = spans();
        if (done(now)) return now;
        if (Date.now() > until)
          throw new Error(`spans not seen in time; have ${JSON.stringify(now.map((s) => s.name))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      child.kill("SIGTERM");
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
