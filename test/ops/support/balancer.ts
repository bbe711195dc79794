/**
 * A small local load balancer for fleet tests and the fleet soak: round robin over the live
 * targets, a count of what each served. With `retryRefused`, a request whose connection to a
 * target was refused (nothing was sent: the target is not listening, e.g. it stopped at SIGTERM)
 * goes to the next target instead — the only retry that can never run a call twice. `drain`
 * takes a target out of rotation (a Kubernetes endpoint removal); `undrain` puts it back.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Balancer {
  served: Map<string, number>;
  /** Requests sent again to another target after a refused connection. */
  retried: () => number;
  drain(target: string): void;
  undrain(target: string): void;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function loadBalancer(targets: () => string[], opts: { retryRefused?: boolean } = {}): Balancer {
  let next = 0;
  let retried = 0;
  const drained = new Set<string>();
  const served = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const live = targets().filter((t) => !drained.has(new URL(t).host));
        if (live.length === 0) {
          res.writeHead(502, { "content-type": "application/json" });
          res.end('{"error":{"code":0,"details":{"reason":"no_backend"}}}');
          return;
        }
        const target = new URL(live[next++ % live.length] as string);
        const up = request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
            // A fresh connection per request: a refused connect is then the only way a
            // stopped target fails, and it proves nothing was sent.
            agent: false,
          },
          (r) => {
            served.set(target.host, (served.get(target.host) ?? 0) + 1);
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on("error", (err: NodeJS.ErrnoException) => {
          if (opts.retryRefused && err.code === "ECONNREFUSED" && tries < 6) {
            retried++;
            attempt(tries + 1);
            return;
          }
          if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
          res.end(`{"error":{"code":0,"details":{"reason":"backend_down","cause":"${err.code ?? ""}"}}}`);
        });
        up.end(body);
      };
      attempt(0);
    });
  });
  return {
    served,
    retried: () => retried,
    drain: (t) => drained.add(new URL(t).host),
    undrain: (t) => drained.delete(new URL(t).host),
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
