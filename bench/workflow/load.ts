/**
 * An open-loop, fixed-rate HTTP load generator (no coordinated omission): request i is due at
 * start + i / rate and its latency is measured from that due time, so a slow server shows up
 * as latency instead of silently lowering the offered rate. Keep-alive connections, opened as
 * needed. The same code drives both sides of the comparison.
 */
import { Agent, request } from "node:http";

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  body?: string;
}

export interface LoadResult {
  offeredPerSecond: number;
  sent: number;
  /** Answers with the expected status. */
  ok: number;
  /** Other statuses and transport errors, by kind. */
  failures: Record<string, number>;
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function send(agent: Agent, base: URL, req: LoadRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers:
          req.body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(req.body) },
      },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

/** One URL or several: request i (or caller i) goes to the i-th in turn. */
function targets(url: string | readonly string[]): URL[] {
  const list = typeof url === "string" ? [url] : url;
  if (list.length === 0) throw new Error("no URL to send to");
  return list.map((u) => new URL(u));
}

/** Sends `requests` (one per slot, in order) at `rate` per second and waits for every answer. */
export async function fixedRate(
  url: string | readonly string[],
  rate: number,
  requests: LoadRequest[],
  expectStatus = 200,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const bases = targets(url);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  const start = performance.now() + 20;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < requests.length; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const req = requests[i] as LoadRequest;
    // Late: timed from when it was due (the wait counts). Early (timer granularity): from
    // when it actually left.
    const from = Math.min(due, performance.now());
    pending.push(
      send(agent, bases[i % bases.length] as URL, req).then(
        (status) => {
          latencies.push(performance.now() - from);
          if (status === expectStatus) ok += 1;
          else failures[`HTTP ${status}`] = (failures[`HTTP ${status}`] ?? 0) + 1;
        },
        (err: unknown) => {
          const code =
            typeof err === "object" && err !== null ? String(Reflect.get(err, "code") ?? "error") : "error";
          failures[code] = (failures[code] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    offeredPerSecond: rate,
    sent: requests.length,
    ok,
    failures,
    achievedPerSecond: ok / elapsedS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
}

/**
 * Closed loop: `concurrency` callers, each sending its next request when the last answered
 * (after `pauseMs`, when given: a mostly idle server). With several URLs (gateway instances)
 * the callers are dealt out over them in turn.
 */
export async function closedLoop(
  url: string | readonly string[],
  concurrency: number,
  requests: LoadRequest[],
  expectStatus = 200,
  pauseMs = 0,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const bases = targets(url);
  let callers = 0;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    const base = bases[callers++ % bases.length] as URL;
    for (;;) {
      const req = requests[next++];
      if (req === undefined) return;
      const t0 = performance.now();
      try {
        const status = await send(agent, base, req);
        latencies.push(performance.now() - t0);
        if (status === expectStatus) ok += 1;
        else failures[`HTTP ${status}`] = (failures[`HTTP ${status}`] ?? 0) + 1;
      } catch (err) {
        const code =
          typeof err === "object" && err !== null ? String(Reflect.get(err, "code") ?? "error") : "error";
        failures[code] = (failures[code] ?? 0) + 1;
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    offeredPerSecond: Number.NaN,
    sent: requests.length,
    ok,
    failures,
    achievedPerSecond: ok / elapsedS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
}
