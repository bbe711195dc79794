/**
 * The HTTP load generator, run as a child process so that it does not share the gateway's
 * event loop: autocannon POSTs unique pre-signed envelopes to /v1/invoke and prints one JSON
 * line with the result. Input: one JSON argument {url, token, pkcs8B64, seconds, connections, count}.
 */
import { createPrivateKey } from "node:crypto";
import autocannon from "autocannon";
import { presign } from "./fixture.js";

interface LoadInput {
  url: string;
  token: string;
  pkcs8B64: string;
  seconds: number;
  connections: number;
  count: number;
}

const input = JSON.parse(process.argv[2] ?? "{}") as LoadInput;
const fx = {
  agentToken: input.token,
  agentKey: createPrivateKey({ key: Buffer.from(input.pkcs8B64, "base64"), format: "der", type: "pkcs8" }),
};
const pool = presign(fx, input.count, "http");
let next = 0;
let signedLate = 0;
const body = (): string => {
  const e = pool[next++];
  if (e) return e.body;
  // Pool exhausted: sign on the fly (costs the client CPU, counted in the output).
  signedLate += 1;
  return presign(fx, 1, `late-${next}`)[0]?.body ?? "";
};

const result = await autocannon({
  url: input.url,
  connections: input.connections,
  duration: input.seconds,
  requests: [
    {
      method: "POST",
      path: "/v1/invoke",
      headers: { "content-type": "application/json" },
      setupRequest: (req) => ({ ...req, body: body() }),
    },
  ],
});
const counts: Record<string, number> = {};
for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) counts[code] = Number(v.count);
process.stdout.write(
  `${JSON.stringify({
    seconds: result.duration,
    total: result.requests.total,
    perSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCounts: counts,
    signedLate,
  })}\n`,
);
