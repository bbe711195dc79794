import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEgressClient } from "../../src/egress/client.js";
import type { EgressClient, EgressClientOptions } from "../../src/egress/types.js";
import {
  expectGatewayError,
  startServer,
  stubResolver,
  type TestServer,
  TLS_CERT,
} from "./support/servers.js";

// The fixture certificate names only `tls.test` (valid 2000–2099). The client dials the pinned
// 127.0.0.1 but must present and verify the hostname.
let server: TestServer;
const clients: EgressClient[] = [];
const dns = stubResolver({ "tls.test": ["127.0.0.1"], "wrong.test": ["127.0.0.1"] });

function client(overrides: Partial<EgressClientOptions> = {}): EgressClient {
  const c = createEgressClient({
    allowNetworks: ["127.0.0.0/8"],
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxResponseBytes: 1 << 16,
    resolver: dns.resolver,
    ca: TLS_CERT,
    ...overrides,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer((_req, res) => res.end("secure"), { tls: true });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe("egress over TLS", () => {
  it("dials the pinned address with SNI, Host and certificate check on the hostname", async () => {
    const res = await client().request({
      method: "GET",
      url: `https://tls.test:${server.port}/`,
      allowedHosts: ["tls.test"],
    });
    expect(res.body.toString()).toBe("secure");
    const seen = server.seen.at(-1);
    expect(seen?.servername).toBe("tls.test");
    expect(seen?.headers.host).toBe(`tls.test:${server.port}`);
  });

  it("refuses a certificate that does not name the host", async () => {
    await expectGatewayError(
      client().request({
        method: "GET",
        url: `https://wrong.test:${server.port}/`,
        allowedHosts: ["wrong.test"],
      }),
      "UPSTREAM_ERROR",
      "tls_error",
    );
  });

  it("refuses an untrusted certificate (no way to turn verification off)", async () => {
    await expectGatewayError(
      client({ ca: undefined }).request({
        method: "GET",
        url: `https://tls.test:${server.port}/`,
        allowedHosts: ["tls.test"],
      }),
      "UPSTREAM_ERROR",
      "tls_error",
    );
  });

  it("an IP-literal https URL is verified against the IP (the fixture has no IP SAN)", async () => {
    await expectGatewayError(
      client().request({
        method: "GET",
        url: `https://127.0.0.1:${server.port}/`,
        allowedHosts: ["127.0.0.1"],
      }),
      "UPSTREAM_ERROR",
      "tls_error",
    );
  });

  it("reuses the TLS connection for the same host and address", async () => {
    const c = client();
    const before = server.connections;
    for (let i = 0; i < 3; i++) {
      await c.request({ method: "GET", url: `https://tls.test:${server.port}/`, allowedHosts: ["tls.test"] });
    }
    expect(server.connections - before).toBe(1);
  });
});
