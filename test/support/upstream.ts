/**
 * A real HTTP upstream for engine tests, on 127.0.0.1 and an ephemeral port:
 * - Petstore 3 operations under /api/v3 (paths of test/fixtures/openapi/petstore/openapi.yaml),
 * - the billing API of test/fixtures/openapi/billing.yaml (customers, invoices, sums),
 * - misbehaving variants: /slow, /fail, /flaky, /huge, /text, /redirect-same,
 *   /redirect-other-host, /echo, /echo-headers (echoes Authorization too: redaction tests),
 * - the Petstore description itself at /api/v3/openapi.json and .yaml (source_url tests).
 * Every request is recorded (raw path, query, headers, body) so a test can assert what was —
 * or that nothing was — sent upstream.
 */

import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { packageRoot } from "../../src/paths.js";

export interface RecordedRequest {
  method: string;
  /** The path exactly as sent (still percent-encoded). */
  rawPath: string;
  /** The path percent-decoded (as an application would read it). */
  path: string;
  /** Query parameters, decoded, each name with all its values. */
  query: Record<string, string[]>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Reply = { status: number; body?: unknown; text?: string; headers?: Record<string, string> };
type Handler = (
  req: RecordedRequest,
  match: RegExpMatchArray,
  res: ServerResponse,
) => Reply | Promise<Reply | null> | null;

export const CUSTOMERS = [
  { id: "cus_1", email: "ada@example.com", name: "Ada Lovelace" },
  { id: "cus_2", email: "alan@example.com", name: "Alan Turing" },
];
export const INVOICES: Record<string, { id: string; total: number; status: string }[]> = {
  cus_1: [
    { id: "inv_1", total: 120.5, status: "paid" },
    { id: "inv_2", total: 79.5, status: "open" },
    { id: "inv_3", total: 300, status: "open" },
  ],
  cus_2: [],
};

interface Pet {
  id: number;
  name: string;
  status: string;
  photoUrls: string[];
  tags: { id: number; name: string }[];
  category?: { id: number; name: string };
}

function initialPets(): Map<number, Pet> {
  const pets: Pet[] = [
    { id: 1, name: "Rex", status: "available", photoUrls: [], tags: [{ id: 1, name: "dog" }] },
    { id: 2, name: "Tom", status: "sold", photoUrls: [], tags: [{ id: 2, name: "cat" }] },
    { id: 3, name: "Kiwi", status: "available", photoUrls: [], tags: [{ id: 3, name: "bird" }] },
  ];
  return new Map(pets.map((p) => [p.id, p]));
}

function json(status: number, body: unknown): Reply {
  return { status, body };
}

function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function petRoutes(pets: Map<number, Pet>): [string, RegExp, Handler][] {
  const byId = (m: RegExpMatchArray) => {
    const id = Number(m[1]);
    return Number.isSafeInteger(id) ? id : null;
  };
  const orders = new Map<number, { id: number }>();
  const save = (req: RecordedRequest): Reply => {
    const pet = parseJsonBody(req.body) as Pet | undefined;
    if (pet === undefined || typeof pet !== "object" || typeof pet.name !== "string") {
      return json(400, { code: 400, message: "Invalid input" });
    }
    const id = typeof pet.id === "number" ? pet.id : pets.size + 100;
    const stored: Pet = {
      ...pet,
      id,
      photoUrls: pet.photoUrls ?? [],
      tags: pet.tags ?? [],
      status: pet.status ?? "available",
    };
    pets.set(id, stored);
    return json(200, stored);
  };
  return [
    [
      "GET",
      /^\/api\/v3\/pet\/findByStatus$/,
      (r) =>
        json(
          200,
          [...pets.values()].filter((p) => (r.query.status ?? ["available"]).includes(p.status)),
        ),
    ],
    [
      "GET",
      /^\/api\/v3\/pet\/findByTags$/,
      (r) =>
        json(
          200,
          [...pets.values()].filter((p) => p.tags.some((t) => (r.query.tags ?? []).includes(t.name))),
        ),
    ],
    ["POST", /^\/api\/v3\/pet$/, save],
    ["PUT", /^\/api\/v3\/pet$/, save],
    [
      "GET",
      /^\/api\/v3\/pet\/([^/]+)$/,
      (_r, m) => {
        const id = byId(m);
        if (id === null) return json(400, { code: 400, message: "Invalid ID supplied" });
        const pet = pets.get(id);
        return pet ? json(200, pet) : json(404, { code: 404, message: "Pet not found" });
      },
    ],
    [
      "DELETE",
      /^\/api\/v3\/pet\/([^/]+)$/,
      (_r, m) => {
        const id = byId(m);
        return id !== null && pets.delete(id)
          ? json(200, { code: 200, message: "Pet deleted" })
          : json(404, { code: 404, message: "Pet not found" });
      },
    ],
    [
      "POST",
      /^\/api\/v3\/pet\/([^/]+)$/,
      (r, m) => {
        const pet = pets.get(byId(m) ?? Number.NaN);
        if (pet === undefined) return json(404, { code: 404, message: "Pet not found" });
        if (r.query.name?.[0] !== undefined) pet.name = r.query.name[0];
        if (r.query.status?.[0] !== undefined) pet.status = r.query.status[0];
        return json(200, pet);
      },
    ],
    [
      "POST",
      /^\/api\/v3\/store\/order$/,
      (r) => {
        const order = parseJsonBody(r.body);
        if (typeof order !== "object" || order === null)
          return json(400, { code: 400, message: "Invalid input" });
        const stored = { id: orders.size + 1, status: "placed", complete: false, ...order };
        orders.set(stored.id, stored);
        return json(200, stored);
      },
    ],
    [
      "GET",
      /^\/api\/v3\/store\/order\/([^/]+)$/,
      (_r, m) => {
        const order = orders.get(byId(m) ?? Number.NaN);
        return order ? json(200, order) : json(404, { code: 404, message: "Order not found" });
      },
    ],
    [
      "GET",
      /^\/api\/v3\/store\/inventory$/,
      () => {
        const counts: Record<string, number> = {};
        for (const p of pets.values()) counts[p.status] = (counts[p.status] ?? 0) + 1;
        return json(200, counts);
      },
    ],
    [
      "GET",
      /^\/api\/v3\/user\/login$/,
      (r) => ({ status: 200, body: `logged in user session:${(r.query.username ?? [""])[0]}` }),
    ],
    [
      "GET",
      /^\/api\/v3\/user\/([^/]+)$/,
      (_r, m) => json(200, { id: 1, username: decodeURIComponent(m[1] ?? ""), email: "user@example.com" }),
    ],
  ];
}

function billingRoutes(port: () => number): [string, RegExp, Handler][] {
  const flaky = new Map<string, number>();
  return [
    [
      "GET",
      /^\/customers$/,
      (r) => json(200, { data: CUSTOMERS.filter((c) => (r.query.email ?? []).includes(c.email)) }),
    ],
    [
      "GET",
      /^\/customers\/([^/]+)\/invoices$/,
      (r, m) => {
        const list = INVOICES[decodeURIComponent(m[1] ?? "")];
        if (list === undefined) return json(404, { error: "no such customer" });
        const status = r.query.status?.[0];
        return json(200, { data: status === undefined ? list : list.filter((i) => i.status === status) });
      },
    ],
    [
      "POST",
      /^\/invoices\/sum$/,
      (r) => {
        const body = parseJsonBody(r.body) as { amounts?: unknown } | undefined;
        const amounts = body?.amounts;
        if (!Array.isArray(amounts) || !amounts.every((a) => typeof a === "number"))
          return json(400, { error: "amounts must be numbers" });
        return json(200, {
          total: amounts.reduce((a: number, b: number) => a + b, 0),
          count: amounts.length,
        });
      },
    ],
    ["GET", /^\/items\/([^?]*)$/, (_r, m) => json(200, { item_id: safeDecode(m[1] ?? ""), raw: m[1] })],
    [
      "POST",
      /^\/echo$/,
      (r) =>
        json(200, {
          received: parseJsonBody(r.body) ?? null,
          raw: r.body,
          content_type: r.headers["content-type"] ?? null,
        }),
    ],
    ["GET", /^\/echo-headers$/, (r) => json(200, { headers: r.headers })],
    [
      "GET",
      /^\/slow$/,
      (r, _m, res) =>
        new Promise<Reply | null>((resolve) => {
          const timer = setTimeout(
            () => resolve(json(200, { ok: true, waited_ms: Number(r.query.ms?.[0] ?? 0) })),
            Number(r.query.ms?.[0] ?? 1000),
          );
          res.on("close", () => {
            clearTimeout(timer);
            resolve(null);
          });
        }),
    ],
    ["GET", /^\/fail$/, (r) => json(Number(r.query.status?.[0] ?? 500), { error: "failure requested" })],
    [
      "GET",
      /^\/flaky$/,
      (r) => {
        const key = r.query.key?.[0] ?? "";
        const seen = (flaky.get(key) ?? 0) + 1;
        flaky.set(key, seen);
        return seen <= Number(r.query.failures?.[0] ?? 0)
          ? json(503, { error: "try again", attempt: seen })
          : json(200, { ok: true, attempts: seen });
      },
    ],
    [
      "GET",
      /^\/text$/,
      () => ({ status: 200, text: "hello, not json", headers: { "content-type": "text/plain" } }),
    ],
    ["GET", /^\/redirect-same$/, () => ({ status: 302, text: "", headers: { location: "/echo-headers" } })],
    [
      "GET",
      /^\/redirect-other-host$/,
      () => ({ status: 302, text: "", headers: { location: `http://localhost:${port()}/echo-headers` } }),
    ],
  ];
}

/**
 * The Petstore description where the real Petstore 3 server publishes it
 * (`/api/v3/openapi.json`, with its relative server URL `/api/v3`), in JSON and YAML, for
 * `source_url` registration.
 */
function specFileRoutes(): [string, RegExp, Handler][] {
  const yamlText = readFileSync(
    join(packageRoot(), "test", "fixtures", "openapi", "petstore", "openapi.yaml"),
    "utf8",
  ).replace("- url: https://petstore3.swagger.io/api/v3", "- url: /api/v3");
  const doc = parseYaml(yamlText) as Record<string, unknown>;
  return [
    ["GET", /^\/api\/v3\/openapi\.json$/, () => json(200, doc)],
    [
      "GET",
      /^\/api\/v3\/openapi\.yaml$/,
      () => ({ status: 200, text: yamlText, headers: { "content-type": "application/yaml" } }),
    ],
  ];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function queryOf(url: URL): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    const list = out[k] ?? [];
    list.push(v);
    out[k] = list;
  }
  return out;
}

/** Streams about `bytes` bytes of valid JSON without holding them in memory. */
function sendHuge(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = `"${"x".repeat(1022)}",`;
  let sent = 1;
  res.write("[");
  const pump = () => {
    while (sent < bytes && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end('"end"]');
  };
  pump();
}

export async function startUpstream(): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  let port = 0;
  const routes = [...petRoutes(initialPets()), ...billingRoutes(() => port), ...specFileRoutes()];

  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const rawUrl = req.url ?? "/";
    const url = new URL(rawUrl, "http://upstream.invalid");
    const rawPath = rawUrl.split("?", 1)[0] ?? "/";
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      rawPath,
      path: safeDecode(rawPath),
      query: queryOf(url),
      headers: req.headers,
      body,
    };
    requests.push(recorded);
    if (rawPath === "/huge" && recorded.method === "GET")
      return sendHuge(res, Number(recorded.query.bytes?.[0] ?? 5_000_000));
    for (const [method, pattern, handler] of routes) {
      const match = rawPath.match(pattern);
      if (method !== recorded.method || match === null) continue;
      const reply = await handler(recorded, match, res);
      if (reply === null || res.destroyed) return;
      const text = reply.text ?? JSON.stringify(reply.body);
      const type = reply.text === undefined ? { "content-type": "application/json" } : {};
      res.writeHead(reply.status, { ...type, ...reply.headers });
      res.end(text);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "no such route" }));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString("utf8")).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    // A client that gives up mid-response (timeout, size cap) is expected here.
    res.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
