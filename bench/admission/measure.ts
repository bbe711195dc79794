/**
 * The measurements: the floor (the two Ed25519 verifications alone, node:crypto with cached
 * KeyObjects) and full admissions driven in-process, sequentially or with N concurrent callers.
 */
import { type KeyObject, verify } from "node:crypto";
import { cpus } from "node:os";
import type { SignedEnvelope } from "./fixture.js";

export interface Throughput {
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Envelope signature + the token's EdDSA signature, per envelope, as fast as node:crypto goes. */
export function measureFloor(
  envs: SignedEnvelope[],
  token: string,
  agentPublic: KeyObject,
  gatewayPublic: KeyObject,
  minSeconds = 1,
): Throughput {
  const [h, p, s] = token.split(".");
  const signingInput = Buffer.from(`${h}.${p}`, "utf8");
  const jwtSignature = Buffer.from(s ?? "", "base64url");
  const pair = (e: SignedEnvelope) =>
    verify(null, e.signed, agentPublic, e.signature) &&
    verify(null, signingInput, gatewayPublic, jwtSignature);
  for (let i = 0; i < Math.min(200, envs.length); i++) {
    const e = envs[i];
    if (e && !pair(e)) throw new Error("floor: a signature did not verify");
  }
  let n = 0;
  const start = performance.now();
  const deadline = start + minSeconds * 1000;
  while (performance.now() < deadline) {
    for (const e of envs) if (!pair(e)) throw new Error("floor: a signature did not verify");
    n += envs.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const us = (seconds * 1e6) / n;
  return { count: n, perSecond: n / seconds, p50Ms: us / 1000, p99Ms: us / 1000 };
}

/** One verification in libuv's thread pool (node:crypto's callback form). */
function verifyInPool(
  data: Buffer | Uint8Array,
  key: KeyObject,
  signature: Buffer | Uint8Array,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(null, data, key, signature, (err, ok) => (err ? reject(err) : resolve(ok)));
  });
}

/**
 * The same pair of verifications over every core: enough pairs in flight in libuv's thread pool
 * (node:crypto's callback form, 4 threads by default) to keep each core verifying. This is the
 * ceiling of admission on this machine if nothing but the signatures cost anything.
 */
export async function measureFloorAllCores(
  envs: SignedEnvelope[],
  token: string,
  agentPublic: KeyObject,
  gatewayPublic: KeyObject,
  minSeconds = 1,
): Promise<Throughput> {
  const [h, p, s] = token.split(".");
  const signingInput = Buffer.from(`${h}.${p}`, "utf8");
  const jwtSignature = Buffer.from(s ?? "", "base64url");
  const pair = async (e: SignedEnvelope) => {
    const [a, b] = await Promise.all([
      verifyInPool(e.signed, agentPublic, e.signature),
      verifyInPool(signingInput, gatewayPublic, jwtSignature),
    ]);
    if (!(a && b)) throw new Error("floor: a signature did not verify");
  };
  let n = 0;
  const start = performance.now();
  const deadline = start + minSeconds * 1000;
  await Promise.all(
    Array.from({ length: 2 * cpus().length }, async (_, lane) => {
      for (let i = lane; performance.now() < deadline; i += 2 * cpus().length) {
        await pair(envs[i % envs.length] as SignedEnvelope);
        n += 1;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const us = (seconds * 1e6) / n;
  return { count: n, perSecond: n / seconds, p50Ms: us / 1000, p99Ms: us / 1000 };
}

export type Sender = (body: string) => Promise<{ status: number; code: number | undefined; reason?: string }>;

/**
 * Sends every envelope once through `send` with `concurrency` callers. Every answer must be
 * 403/2006 (authenticated, then denied by authorization): anything else aborts the run, so a
 * fast failure path can never be mistaken for admission.
 */
export async function runAdmission(
  send: Sender,
  envs: SignedEnvelope[],
  concurrency: number,
): Promise<Throughput> {
  const latencies = new Array<number>(envs.length);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        const e = envs[i];
        if (e === undefined) return;
        const t0 = performance.now();
        const r = await send(e.body);
        latencies[i] = performance.now() - t0;
        if (r.status !== 403 || r.code !== 2006)
          throw new Error(`envelope ${i} was not admitted: HTTP ${r.status}, code ${r.code}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    count: envs.length,
    perSecond: envs.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}
