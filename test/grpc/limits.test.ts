/**
 * The listener's limits, each observed from outside: the concurrent-stream cap (the SETTINGS
 * frame an HTTP/2 client receives, and calls queued past it), keepalive pings on an idle
 * connection (and the connection closed when they go unanswered), TLS and mutual TLS with real
 * TLS clients (grpc-js and grpcurl), the envelope's metadata limit, and messages past the size
 * limit — up to twice the limit refused by the gateway with an audit row, beyond that by grpc-js
 * before any gateway code sees the call (no row: docs/grpc.md).
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ClientUnaryCall, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { staticTools } from "../../src/tools/registry.js";
import { events, putContext, type SessionAgent, sessionAgent, testTool } from "../authorization/support.js";
import { tempDir } from "../cli/process.js";
import { envelopeBody, startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearerMd, call, clientsFor, type GrpcEnv, md, startGrpc } from "./support.js";

const root = packageRoot();
const grpcurl = join(root, ".cache", "bin", "grpcurl");
const echo = testTool("lim.echo", {
  info: { kind: "cli" },
  result: () => ({ exit_code: 0, stdout: "ok", stderr: "" }),
});
/** Answers with `size` bytes of stdout (its subcommand). */
const big = testTool("lim.big", {
  info: { kind: "cli" },
  result: (ctx) => ({ exit_code: 0, stdout: "b".repeat(Number(ctx.arguments.subcommand)), stderr: "" }),
});
/** Waits until its signal aborts (as an engine's container is killed then). */
const hang = {
  ...testTool("lim.hang", { info: { kind: "cli" } }),
  started: 0,
  run({ signal }: { signal: AbortSignal }) {
    hang.started += 1;
    return new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  },
};

describe("gRPC limits", () => {
  let t: TestGateway;
  let agent: SessionAgent;
  const open: GrpcEnv[] = [];
  const serve = async (...args: Parameters<typeof startGrpc> extends [unknown, ...infer R] ? R : never) => {
    const g = await startGrpc(t, ...args);
    open.push(g);
    return g;
  };
  const orchestrator = () => bearerMd(t.operatorToken("orchestrator"));
  const cli = (tool: string, subcommand = "x") => ({
    execution_id: agent.executionId,
    tool_name: tool,
    subcommand,
  });

  beforeAll(async () => {
    execFileSync("bash", [join(root, "scripts", "grpcurl.sh")], { stdio: "inherit" });
    t = await startTestGateway("sqlite", {}, { tools: [staticTools([echo, big, hang])] });
    await putContext(t, { name: "lim", capabilities: [{ tool_pattern: "lim.*" }] });
    agent = await sessionAgent(t, { context: "lim" });
  }, 600_000);
  afterAll(async () => {
    for (const c of clientOnly) for (const client of Object.values(c)) client.close();
    for (const g of open) await g.close();
    await t?.close();
  });

  it("max_concurrent_streams: the SETTINGS frame says it, and a call past it waits for a free stream", async () => {
    const g = await serve({ max_concurrent_streams: 2 });
    const session = http2Connect(`http://127.0.0.1:${g.serving.port}`);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      session.once("remoteSettings", resolve),
    );
    session.close();
    expect(settings.maxConcurrentStreams).toBe(2);

    // Three calls on one connection (one client = one channel): two run, the third waits.
    const client = g.clients.GatewayInvocationService;
    const before = hang.started;
    const results: Array<ServiceError | null> = [];
    const calls: ClientUnaryCall[] = [0, 1, 2].map(
      () =>
        (
          client.InvokeCli as unknown as (
            r: unknown,
            m: unknown,
            cb: (e: ServiceError | null) => void,
          ) => ClientUnaryCall
        )(cli("lim.hang"), orchestrator(), (e) => results.push(e)) as ClientUnaryCall,
    );
    await expect.poll(() => hang.started - before).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(hang.started - before, "the third call must wait for a stream").toBe(2);
    calls[0]?.cancel();
    await expect.poll(() => hang.started - before).toBe(3);
    calls[1]?.cancel();
    calls[2]?.cancel();
    await expect.poll(() => results.length).toBe(3);
    for (const e of results) expect(e?.code).toBe(status.CANCELLED);
  });

  it("keepalive: an idle connection is pinged every keepalive_time_ms, and closed when a ping goes unanswered", async () => {
    // Two listeners, so a slow machine's late ACK cannot close the answering connection.
    const patient = await serve({ keepalive_time_ms: 1000, keepalive_timeout_ms: 10_000 });
    const strict = await serve({ keepalive_time_ms: 1000, keepalive_timeout_ms: 1000 });
    const [answering, silent] = await Promise.all([
      rawHttp2(patient.serving.port, { ackPings: true, until: (seen) => seen.pings >= 2 }),
      rawHttp2(strict.serving.port, { ackPings: false, until: (seen) => seen.closed }),
    ]);
    // A client that answers stays connected through ping after ping.
    expect(answering).toMatchObject({ closed: false });
    expect(answering.pings).toBeGreaterThanOrEqual(2);
    // One that does not is sent GOAWAY or dropped after keepalive_timeout_ms.
    expect(silent.pings).toBe(1);
    expect(silent.closed).toBe(true);
  });

  it("max_metadata_bytes: a larger envelope is RESOURCE_EXHAUSTED with an audit row; past HTTP/2's 64 KiB header list the transport resets it", async () => {
    const g = await serve({ max_metadata_bytes: 8192 });
    const client = g.clients.GatewayInvocationService;
    const attempt = async (size: number) => {
      const args = { subcommand: "x", args: ["y".repeat(size)] };
      const envelope = envelopeBody(t, agent, "lim.echo", args);
      const before = Math.max(0, ...(await events(t, {})).map((e) => e.seq));
      const runs = echo.runs.length;
      const a = await call(
        client,
        "InvokeCli",
        { tool_name: "lim.echo", ...args },
        md({ "x-seal-envelope": envelope }),
      );
      const rows = (await events(t, {})).filter((e) => e.seq > before);
      return {
        a,
        bytes: Buffer.byteLength(envelope),
        rows: rows.length,
        reasons: rows.map((e) => e.payload.reason),
        ran: echo.runs.length - runs,
      };
    };
    const small = await attempt(6000);
    expect(small.bytes).toBeLessThanOrEqual(8192);
    expect([small.a.ok, small.ran]).toEqual([true, 1]);

    const over = await attempt(9000);
    expect(over.bytes).toBeGreaterThan(8192);
    if (over.a.ok) throw new Error("an envelope over max_metadata_bytes answered OK");
    expect([over.a.code, over.a.seal.code, over.a.seal.reason]).toEqual([
      status.RESOURCE_EXHAUSTED,
      "1000",
      "body_too_large",
    ]);
    expect([over.rows, over.ran]).toEqual([1, 0]);
    expect(over.reasons).toEqual(["body_too_large"]);

    // Node's HTTP/2 (under grpc-js, which cannot raise it) resets a header list past 64 KiB
    // before any gateway code runs: no row, nothing run (docs/grpc.md, hence the config's cap).
    const huge = await attempt(100_000);
    if (huge.a.ok) throw new Error("a 100 kB envelope answered OK");
    expect([huge.a.code, huge.a.seal.code, huge.rows, huge.ran]).toEqual([status.INTERNAL, undefined, 0, 0]);
  });

  it("max_message_bytes: past the limit the gateway refuses with a row; past twice the limit grpc-js does, unaudited", async () => {
    const g = await serve({ max_message_bytes: 4096 });
    const client = g.clients.GatewayInvocationService;
    const attempt = async (size: number) => {
      const before = Math.max(0, ...(await events(t, {})).map((e) => e.seq));
      const runs = echo.runs.length;
      const a = await call(
        client,
        "InvokeCli",
        { ...cli("lim.echo"), args: ["z".repeat(size)] },
        orchestrator(),
      );
      const rows = (await events(t, {})).filter((e) => e.seq > before);
      return {
        a,
        rows: rows.length,
        reasons: rows.map((e) => e.payload.reason),
        ran: echo.runs.length - runs,
      };
    };
    const fits = await attempt(3000);
    expect([fits.a.ok, fits.ran]).toEqual([true, 1]);
    const over = await attempt(5000);
    if (over.a.ok) throw new Error("a message over max_message_bytes answered OK");
    expect([over.a.code, over.a.seal.reason, over.rows, over.ran]).toEqual([
      status.RESOURCE_EXHAUSTED,
      "message_too_large",
      1,
      0,
    ]);
    expect(over.reasons).toEqual(["message_too_large"]);
    for (const size of [9000, 100_000]) {
      const cut = await attempt(size);
      if (cut.a.ok) throw new Error("a message over twice max_message_bytes answered OK");
      expect(cut.a.details).toMatch(/^Received message larger than max \(\d+ vs 8192\)$/);
      expect([cut.a.code, cut.a.seal.code, cut.rows, cut.ran]).toEqual([
        status.RESOURCE_EXHAUSTED,
        undefined,
        0,
        0,
      ]);
    }
  });

  it("an answer larger than max_message_bytes: the tool ran and is audited, the client gets RESOURCE_EXHAUSTED", async () => {
    const g = await serve({ max_message_bytes: 4096 });
    const client = g.clients.GatewayInvocationService;
    const before = Math.max(0, ...(await events(t, {})).map((e) => e.seq));
    const fits = await call(client, "InvokeCli", cli("lim.big", "3000"), orchestrator());
    expect(fits).toMatchObject({ ok: true });
    const a = await call(client, "InvokeCli", cli("lim.big", "5000"), orchestrator());
    if (a.ok) throw new Error("an answer over max_message_bytes arrived");
    expect(a.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(a.details).toMatch(/^Sent message larger than max/);
    // The answer exists only after the run, so the row says what ran (docs/grpc.md).
    const rows = (await events(t, { tool: "lim.big" })).filter((e) => e.seq > before);
    expect(rows.filter((e) => e.event_type === "ToolCallCompleted")).toHaveLength(2);
  });

  describe("TLS", () => {
    const dir = tempDir("seal-grpc-tls-");
    const pem = (name: string) => join(dir, name);
    const read = (name: string) => readFileSync(pem(name));
    const ssl = (name: string) => {
      const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
      openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        `/CN=${name} test CA`,
        "-keyout",
        `${name}-ca.key`,
        "-out",
        `${name}-ca.pem`,
      );
      return (cn: string, out: string, ext: string) => {
        openssl(
          "req",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-subj",
          `/CN=${cn}`,
          "-keyout",
          `${out}.key`,
          "-out",
          `${out}.csr`,
        );
        writeFileSync(pem(`${out}.ext`), ext);
        openssl(
          "x509",
          "-req",
          "-in",
          `${out}.csr`,
          "-CA",
          `${name}-ca.pem`,
          "-CAkey",
          `${name}-ca.key`,
          "-CAcreateserial",
          "-days",
          "2",
          "-extfile",
          `${out}.ext`,
          "-out",
          `${out}.pem`,
        );
      };
    };
    beforeAll(() => {
      ssl("server")("127.0.0.1", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
      const clients = ssl("clients");
      clients("orchestrator-1", "client", "extendedKeyUsage=clientAuth\n");
      // A client certificate from a CA the server does not trust.
      ssl("rogue")("rogue", "rogue", "extendedKeyUsage=clientAuth\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const tls = (mutual: boolean) => ({
      cert_file: pem("server.pem"),
      key_file: pem("server.key"),
      ...(mutual ? { client_ca_file: pem("clients-ca.pem") } : {}),
    });
    const grpcurlRun = (args: string[]) =>
      promisify(execFile)(grpcurl, ["-connect-timeout", "3", ...args], {
        encoding: "utf8",
        timeout: 15_000,
      }).then(
        (r) => ({ ok: true, out: r.stdout }),
        (e: { stdout?: string; stderr?: string }) => ({
          ok: false,
          out: `${e.stdout ?? ""}${e.stderr ?? ""}`,
        }),
      );
    const invoke = async (g: GrpcEnv) => {
      const args = { subcommand: "tls", args: [] as string[] };
      return await call(
        g.clients.GatewayInvocationService,
        "InvokeCli",
        { tool_name: "lim.echo", ...args },
        md({ "x-seal-envelope": envelopeBody(t, agent, "lim.echo", args) }),
      );
    };

    it("grpc.tls: a TLS client that trusts the CA calls; plaintext and an untrusting client cannot", async () => {
      const g = await serve({ tls: tls(false) }, credentials.createSsl(read("server-ca.pem")));
      expect(await invoke(g)).toMatchObject({ ok: true, res: { stdout: "ok" } });
      const plain = await startClientOnly(g.serving.port, credentials.createInsecure());
      expect(await invoke(plain)).toMatchObject({ ok: false, code: status.UNAVAILABLE });
      const untrusting = await startClientOnly(g.serving.port, credentials.createSsl(read("rogue-ca.pem")));
      expect(await invoke(untrusting)).toMatchObject({ ok: false, code: status.UNAVAILABLE });
      // grpcurl (Go's TLS stack): with the CA it lists by reflection; without it, refused.
      const addr = `127.0.0.1:${g.serving.port}`;
      const listed = await grpcurlRun(["-cacert", pem("server-ca.pem"), addr, "list"]);
      expect(listed.ok, listed.out).toBe(true);
      expect(listed.out).toContain("aegis.seal_gateway.v1.GatewayInvocationService");
      expect((await grpcurlRun([addr, "list"])).ok).toBe(false);
      expect((await grpcurlRun(["-plaintext", addr, "list"])).ok).toBe(false);
    });

    it("grpc.tls.client_ca_file: mutual TLS — only a certificate the client CA signed gets in", async () => {
      const ca = read("server-ca.pem");
      const g = await serve(
        { tls: tls(true) },
        credentials.createSsl(ca, read("client.key"), read("client.pem")),
      );
      expect(await invoke(g)).toMatchObject({ ok: true, res: { stdout: "ok" } });
      const anonymous = await startClientOnly(g.serving.port, credentials.createSsl(ca));
      expect(await invoke(anonymous)).toMatchObject({ ok: false, code: status.UNAVAILABLE });
      const rogue = await startClientOnly(
        g.serving.port,
        credentials.createSsl(ca, read("rogue.key"), read("rogue.pem")),
      );
      expect(await invoke(rogue)).toMatchObject({ ok: false, code: status.UNAVAILABLE });
      const addr = `127.0.0.1:${g.serving.port}`;
      const base = ["-cacert", pem("server-ca.pem")];
      const withCert = await grpcurlRun([
        ...base,
        "-cert",
        pem("client.pem"),
        "-key",
        pem("client.key"),
        addr,
        "list",
      ]);
      expect(withCert.ok, withCert.out).toBe(true);
      expect((await grpcurlRun([...base, addr, "list"])).ok).toBe(false);
    });

    it("refuses to start on a certificate file it cannot read", async () => {
      await expect(
        serve({ tls: { cert_file: pem("missing.pem"), key_file: pem("server.key") } }),
      ).rejects.toThrow(/ENOENT/);
    });
  });
});

/** A client for an already running listener (another channel's credentials). */
async function startClientOnly(
  port: number,
  channel: ReturnType<typeof credentials.createInsecure>,
): Promise<GrpcEnv> {
  const clients = clientsFor(port, channel);
  clientOnly.push(clients);
  return { serving: { port, stop: async () => undefined }, clients, close: async () => undefined };
}
const clientOnly: GrpcEnv["clients"][] = [];

interface Seen {
  pings: number;
  goaway: boolean;
  closed: boolean;
}

/**
 * A bare HTTP/2 connection (preface and SETTINGS, nothing else) that counts the server's PING
 * frames, answering them or not, until `until` holds or 8 s pass.
 */
function rawHttp2(port: number, opts: { ackPings: boolean; until: (s: Seen) => boolean }): Promise<Seen> {
  const frame = (type: number, flags: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    return Buffer.concat([h, payload]);
  };
  return new Promise((resolve) => {
    const seen: Seen = { pings: 0, goaway: false, closed: false };
    let buf = Buffer.alloc(0);
    const sock = connect(port, "127.0.0.1", () => {
      sock.write(
        Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, Buffer.alloc(0))]),
      );
    });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...seen });
    };
    const timer = setTimeout(done, 8000);
    const check = () => {
      if (opts.until(seen)) done();
    };
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const [type, flags] = [buf[3], buf[4] ?? 0];
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 4 && (flags & 1) === 0) sock.write(frame(4, 1, Buffer.alloc(0)));
        if (type === 6 && (flags & 1) === 0) {
          seen.pings += 1;
          if (opts.ackPings) sock.write(frame(6, 1, payload));
        }
        if (type === 7) seen.goaway = true;
      }
      check();
    });
    sock.on("close", () => {
      seen.closed = true;
      check();
    });
    sock.on("error", () => undefined);
  });
}
