/**
 * Secret values at rest, with a REAL gateway process on a fresh data directory (dev mode: the
 * master key is generated there): secrets written, rotated and deleted through the API, real
 * calls injecting them as a bearer token, basic credentials and a query key towards upstreams
 * that echo them — then every file in the data directory (database, WAL, shared memory, the
 * master key file), every row of the PostgreSQL database and every log line is searched for
 * each value and its encodings, while running and after shutdown. None may be found.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGateway, tempDir } from "../cli/process.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { cliToken, http, ok, type ProcessApi, processAgent, signedCall } from "./process-support.js";
import { newSecret, type Reflector, securedSpec, startReflector } from "./support.js";

/** Every byte form a value could be stored or logged in. */
function needles(value: string): Buffer[] {
  const b = Buffer.from(value, "utf8");
  const text = [
    value,
    b.toString("base64"),
    b.toString("base64").replace(/=+$/, ""),
    b.toString("base64url"),
    b.toString("hex"),
    encodeURIComponent(value),
  ];
  return [...text.map((t) => Buffer.from(t, "utf8")), Buffer.from(value, "utf16le")];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Where each value was found: "file: form" entries (empty when clean). */
function findings(sources: Array<{ name: string; bytes: Buffer }>, values: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [label, value] of Object.entries(values)) {
    for (const needle of needles(value)) {
      for (const s of sources) if (s.bytes.includes(needle)) out.push(`${label} in ${s.name}`);
    }
  }
  return [...new Set(out)];
}

/** Raw HTTP/1.1 exchange, so the request target reaches the server exactly as written. */
function rawRequest(port: number, head: string, body = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString();
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(
      `${head}\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

describe.each(BACKENDS)("secret values at rest (%s)", (backend) => {
  const dir = tempDir("seal-at-rest-");
  const env: Record<string, string> = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
    SEAL_GATEWAY_LOG_LEVEL: "debug",
  };
  const values: Record<string, string> = {
    bearer: newSecret("bearer"),
    basicPassword: newSecret("pw"),
    query: newSecret("qk"),
    rotatedOld: newSecret("old"),
    rotatedNew: newSecret("new"),
    deleted: newSecret("del"),
  };
  let up: Upstream;
  let reflector: Reflector;
  let gw: GatewayProcess;
  let p: ProcessApi;
  let pgUrl: string | null = null;
  let drop: (() => Promise<void>) | null = null;
  const cliOutput: string[] = [];

  const tool = async (
    name: string,
    baseUrl: string,
    path: string,
    key: string,
    security?: { schemes: Record<string, unknown>; security: unknown[] },
  ) => {
    const spec = await ok(p, "POST", "/v1/specs", {
      name,
      inline_json: securedSpec({ paths: { [path]: "op" }, ...(security ?? {}) }),
      base_url: baseUrl,
      credential_path: { StaticRef: { key } },
    });
    await ok(p, "POST", "/v1/workflows", {
      name: `${name}.call`,
      description: name,
      input_schema: { type: "object" },
      api_spec_id: spec.id,
      steps: [{ name: "only", operation_id: "op", on_error: "AbortWorkflow" }],
    });
  };

  /** Files of the data directory, the database rows (PostgreSQL) and every log line. */
  const everything = async () => {
    const sources = filesUnder(dir).map((f) => ({ name: f.slice(dir.length + 1), bytes: readFileSync(f) }));
    sources.push(
      { name: "gateway log", bytes: Buffer.from(gw.output()) },
      { name: "CLI output", bytes: Buffer.from(cliOutput.join("\n")) },
    );
    if (pgUrl) {
      const sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
      try {
        const tables = await sql<
          { table_name: string }[]
        >`select table_name from information_schema.tables where table_schema = 'public'`;
        for (const { table_name } of tables) {
          const rows = await sql.unsafe(`select row_to_json(t)::text as j from "${table_name}" t`);
          sources.push({
            name: `table ${table_name}`,
            bytes: Buffer.from(rows.map((r) => String(r.j)).join("\n")),
          });
        }
        expect(tables.map((t) => t.table_name)).toContain("secrets");
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
    return sources;
  };

  beforeAll(async () => {
    up = await startUpstream();
    reflector = await startReflector();
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      env.SEAL_GATEWAY_DATABASE_URL = db.url;
      pgUrl = db.url;
      drop = db.drop;
    }
    gw = await startGateway({ env, cwd: dir });
    const admin = await cliToken(env, dir);
    cliOutput.push(admin);
    p = { url: gw.url, admin };

    await ok(p, "PUT", "/v1/secrets/a/bearer", { value: values.bearer });
    await ok(p, "PUT", "/v1/secrets/a/basic", { value: `ada:${values.basicPassword}` });
    await ok(p, "PUT", "/v1/secrets/a/query", { value: values.query });
    await ok(p, "PUT", "/v1/secrets/a/rotated", { value: values.rotatedOld });
    await ok(p, "PUT", "/v1/secrets/a/rotated", { value: values.rotatedNew });
    await ok(p, "PUT", "/v1/secrets/a/deleted", { value: values.deleted });
    await ok(p, "DELETE", "/v1/secrets/a/deleted");

    await tool("bearer", up.url, "/echo-headers", "a/bearer");
    await tool("basic", reflector.url, "/echo-headers", "a/basic", {
      schemes: { b: { type: "http", scheme: "basic" } },
      security: [{ b: [] }],
    });
    await tool("query", reflector.url, "/echo-url", "a/query", {
      schemes: { q: { type: "apiKey", in: "query", name: "key" } },
      security: [{ q: [] }],
    });
    await tool("rotated", reflector.url, "/escaped", "a/rotated");
    const agent = await processAgent(p);
    for (const name of ["bearer", "basic", "query", "rotated"]) {
      const answer = await signedCall(p, agent, `${name}.call`);
      expect(answer.status, JSON.stringify(answer)).toBe("success");
      cliOutput.push(JSON.stringify(answer));
    }
  });
  afterAll(async () => {
    await gw?.kill();
    await up?.close();
    await reflector?.close();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("dev mode generated the master key in the data directory, owner-only, and said so in the log", () => {
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    expect(gw.output()).toContain("dev mode: generated a master key");
  });

  it("the values really went upstream (the search below looks for the right bytes)", () => {
    const seen = JSON.stringify([
      up.requests.map((q) => q.headers),
      reflector.requests.map((q) => [q.url, q.headers]),
    ]);
    expect(seen).toContain(`Bearer ${values.bearer}`);
    expect(seen).toContain(Buffer.from(`ada:${values.basicPassword}`).toString("base64"));
    expect(seen).toContain(`key=${values.query}`);
    expect(seen).toContain(`Bearer ${values.rotatedNew}`);
  });

  it("refuses '..' and encoded dot segments in the raw request target, and writes nothing", async () => {
    const body = JSON.stringify({ value: "x-value" });
    for (const target of [
      "/v1/secrets/a/../b",
      "/v1/secrets/a/%2e%2e/b",
      "/v1/secrets/./b",
      "/v1/secrets/a/%2E/b",
    ]) {
      const answer = await rawRequest(
        gw.port,
        `PUT ${target} HTTP/1.1\r\nAuthorization: Bearer ${p.admin}\r\nContent-Type: application/json`,
        body,
      );
      expect(answer.split("\r\n")[0], target).toBe("HTTP/1.1 400 Bad Request");
      expect(answer, target).toContain('"reason":"invalid_key"');
    }
    expect((await http(p, "GET", "/v1/secrets/b")).status).toBe(404);
    expect((await http(p, "GET", "/v1/secrets/a/b")).status).toBe(404);
  });

  it("no value, in any encoding, in the data directory, the database or the logs while running", async () => {
    const sources = await everything();
    expect(sources.some((s) => s.name === "master.key")).toBe(true);
    if (backend === "sqlite") expect(sources.map((s) => s.name)).toContain("gateway.db-wal");
    expect(findings(sources, values)).toEqual([]);
  });

  it("nor after a graceful shutdown", async () => {
    gw.proc.kill("SIGTERM");
    const exit = await gw.exited;
    expect(exit.code).toBe(0);
    expect(findings(await everything(), values)).toEqual([]);
  });

  it("the search does find a value that is there (the test can fail)", async () => {
    const planted = `planted-${randomBytes(8).toString("hex")}`;
    const sources = [
      { name: "sample", bytes: Buffer.from(`xx${Buffer.from(planted).toString("base64url")}yy`) },
    ];
    expect(findings(sources, { planted })).toEqual(["planted in sample"]);
  });
});

describe("outside dev mode", () => {
  it("the gateway refuses to start without a master key", async () => {
    const dir = tempDir("seal-nodev-");
    try {
      await expect(
        startGateway({
          env: { SEAL_GATEWAY_DATA_DIR: dir, SEAL_GATEWAY_DEV_MODE: "false" },
          cwd: dir,
          readyTimeoutMs: 10_000,
        }),
      ).rejects.toThrow(/secrets\.master_key/);
      expect(readdirSync(dir)).not.toContain("master.key");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
