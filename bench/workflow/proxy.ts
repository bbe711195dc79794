/**
 * The floor of any gateway on this machine: a bare Node reverse proxy in its own process, with
 * no authentication, policy, audit or credential — it reads the POSTed body, parses it as JSON,
 * sends the workflow's one GET to the upstream over a keep-alive agent, parses the answer and
 * answers with it wrapped, as the gateway does. What it adds over the direct call is the cost
 * of one more process hop and two JSON round trips; nothing the gateway does can cost less.
 *
 *   node --import tsx bench/workflow/proxy.ts UPSTREAM_URL   (prints its URL; stops when stdin closes)
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

const upstream = new URL(process.argv[2] ?? "");
const agent = new Agent({ keepAlive: true, scheduling: "lifo" });
const PATH = "/api/v3/pet/findByStatus?status=available";

function forward(): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: upstream.hostname, port: upstream.port, method: "GET", path: PATH },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let id: unknown = null;
    try {
      id =
        (JSON.parse(Buffer.concat(chunks).toString()) as { payload?: { id?: unknown } }).payload?.id ?? null;
    } catch {
      res.writeHead(400).end();
      return;
    }
    forward().then(
      (up) => {
        const body = JSON.stringify({
          id,
          status: "success",
          result: { state: { find: JSON.parse(up.body) } },
        });
        res.writeHead(up.status === 200 ? 200 : 502, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      },
      () => res.writeHead(502).end(),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on("end", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
