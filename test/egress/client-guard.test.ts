import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEgressClient } from "../../src/egress/client.js";
import type { EgressClient, EgressClientOptions } from "../../src/egress/types.js";
import { expectGatewayError, ok, startServer, stubResolver, type TestServer } from "./support/servers.js";

let server: TestServer;
const clients: EgressClient[] = [];

function client(overrides: Partial<EgressClientOptions> = {}): EgressClient {
  const c = createEgressClient({
    allowNetworks: [],
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxResponseBytes: 1 << 20,
    ...overrides,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer(ok);
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe("egress guard: destinations", () => {
  it("refuses loopback without allow_networks, and reaches it once allowed", async () => {
    const url = `http://127.0.0.1:${server.port}/x`;
    const before = server.seen.length;
    const err = await expectGatewayError(
      client().request({ method: "GET", url, allowedHosts: ["127.0.0.1"] }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(err.details).toMatchObject({ host: "127.0.0.1", range: "loopback" });
    expect(err.httpStatus).toBe(403);
    expect(err.sealCode).toBe(4030);
    expect(server.seen.length).toBe(before);

    const res = await client({ allowNetworks: ["127.0.0.0/8"] }).request({
      method: "GET",
      url,
      allowedHosts: ["127.0.0.1"],
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("ok");
    expect(server.seen.length).toBe(before + 1);
  });

  it("refuses localhost through the real system resolver", async () => {
    await expectGatewayError(
      client().request({
        method: "GET",
        url: `http://localhost:${server.port}/`,
        allowedHosts: ["localhost"],
      }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
  });

  it.each([
    ["metadata.test", ["169.254.169.254"], "link-local"],
    ["internal.test", ["10.0.0.1"], "private-use"],
    ["cgnat.test", ["100.64.0.1"], "shared-address-space"],
    ["zero.test", ["0.0.0.0"], "this-network"],
    ["ula.test", ["fd00::1"], "unique-local"],
    ["v6local.test", ["::1"], "loopback"],
    ["mapped.test", ["::ffff:127.0.0.1"], "loopback"],
    ["mappedhex.test", ["::ffff:7f00:1"], "loopback"],
    ["nat64.test", ["64:ff9b::7f00:1"], "nat64:loopback"],
    ["nat64meta.test", ["64:ff9b::a9fe:a9fe"], "nat64:link-local"],
    ["sixtofour.test", ["2002:7f00:1::"], "6to4:loopback"],
    ["mixed.test", ["93.184.216.34", "10.0.0.1"], "private-use"],
    ["mixed2.test", ["10.0.0.1", "93.184.216.34"], "private-use"],
    ["mixed6.test", ["2606:4700::1111", "fe80::1"], "link-local"],
  ])("refuses %s resolving to %j before connecting", async (host, answers, range) => {
    const dns = stubResolver({ [host]: answers });
    const err = await expectGatewayError(
      client({ resolver: dns.resolver }).request({
        method: "GET",
        url: `http://${host}/`,
        allowedHosts: [host],
      }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(err.details).toMatchObject({ host, range });
    expect(dns.calls).toEqual([host]);
  });

  it("refuses a private answer mixed with an allowed one, without touching the live server", async () => {
    const dns = stubResolver({ "api.test": ["127.0.0.1", "10.0.0.1"] });
    const before = server.seen.length;
    await expectGatewayError(
      client({ allowNetworks: ["127.0.0.0/8"], resolver: dns.resolver }).request({
        method: "GET",
        url: `http://api.test:${server.port}/`,
        allowedHosts: ["api.test"],
      }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(server.seen.length).toBe(before);
  });

  it.each([
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
    ["http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]"],
    ["http://[::ffff:7f00:1]/", "::ffff:7f00:1"],
    ["http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"],
    ["http://[2002:7f00:1::]/", "2002:7f00:1::"],
    ["http://[::1]/", "::1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://2130706433/", "127.0.0.1"],
    ["http://0/", "0.0.0.0"],
  ])("refuses the IP literal %s even when its host is allowed", async (url, allowed) => {
    const dns = stubResolver({});
    await expectGatewayError(
      client({ resolver: dns.resolver }).request({ method: "GET", url, allowedHosts: [allowed] }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(dns.calls).toEqual([]);
  });

  it("connects an allowed IPv4-mapped literal to the IPv4 address it names", async () => {
    const res = await client({ allowNetworks: ["127.0.0.0/8"] }).request({
      method: "GET",
      url: `http://[::ffff:127.0.0.1]:${server.port}/mapped`,
      allowedHosts: ["[::ffff:127.0.0.1]"],
    });
    expect(res.status).toBe(200);
    expect(server.seen.at(-1)?.headers.host).toBe(`[::ffff:7f00:1]:${server.port}`);
  });

  it("does not let an IPv4 allow entry cover NAT64 or 6to4 spellings", async () => {
    await expectGatewayError(
      client({ allowNetworks: ["127.0.0.0/8"] }).request({
        method: "GET",
        url: `http://[64:ff9b::7f00:1]:${server.port}/`,
        allowedHosts: ["64:ff9b::7f00:1"],
      }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
  });
});

describe("egress guard: hosts and schemes", () => {
  const dns = stubResolver({ "api.test": ["127.0.0.1"] });

  it.each([
    "http://evil.test/",
    "http://api.test.evil.test/",
    "http://xapi.test/",
    "http://sub.api.test/",
    "http://api.test./",
    "http://api.test%2eevil/",
  ])("refuses %s when only api.test is allowed, without resolving it", async (url) => {
    const calls = dns.calls.length;
    await expectGatewayError(
      client({ resolver: dns.resolver }).request({ method: "GET", url, allowedHosts: ["api.test"] }),
      "EGRESS_DENIED",
      "host_not_allowed",
    );
    expect(dns.calls.length).toBe(calls);
  });

  it("matches hosts case-insensitively and ignores the port", async () => {
    const res = await client({ resolver: dns.resolver, allowNetworks: ["127.0.0.0/8"] }).request({
      method: "GET",
      url: `http://API.Test:${server.port}/case`,
      allowedHosts: ["api.TEST"],
    });
    expect(res.status).toBe(200);
  });

  it("refuses everything when no hosts are allowed", async () => {
    await expectGatewayError(
      client().request({ method: "GET", url: "http://8.8.8.8/", allowedHosts: [] }),
      "EGRESS_DENIED",
      "host_not_allowed",
    );
  });

  it.each([
    "file:///etc/passwd",
    "ftp://api.test/",
    "gopher://api.test:70/",
    "ws://api.test/",
    "wss://api.test/",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "dict://api.test:11211/",
  ])("refuses the scheme of %s", async (url) => {
    await expectGatewayError(
      client({ resolver: dns.resolver }).request({ method: "GET", url, allowedHosts: ["api.test"] }),
      "EGRESS_DENIED",
      "scheme_not_allowed",
    );
  });

  it.each(["not a url", "/relative/path", "http://", "http://[::1/", "http://api.test:99999/"])(
    "refuses the malformed URL %j",
    async (url) => {
      await expectGatewayError(
        client().request({ method: "GET", url, allowedHosts: ["api.test"] }),
        "INVALID_ARGUMENTS",
        "invalid_url",
      );
    },
  );

  it("refuses credentials in the URL's userinfo", async () => {
    await expectGatewayError(
      client().request({ method: "GET", url: "http://user:pw@api.test/", allowedHosts: ["api.test"] }),
      "INVALID_ARGUMENTS",
      "url_userinfo",
    );
  });

  it("resolver failure and empty answers are resolution_failed", async () => {
    const broken = stubResolver({ "empty.test": [] });
    for (const host of ["missing.test", "empty.test"]) {
      await expectGatewayError(
        client({ resolver: broken.resolver }).request({
          method: "GET",
          url: `http://${host}/`,
          allowedHosts: [host],
        }),
        "EGRESS_DENIED",
        "resolution_failed",
      );
    }
  });

  it("refuses unsupported methods and invalid headers without echoing values", async () => {
    const c = client({ resolver: dns.resolver, allowNetworks: ["127.0.0.0/8"] });
    const url = `http://api.test:${server.port}/`;
    await expectGatewayError(
      c.request({ method: "TRACE", url, allowedHosts: ["api.test"] }),
      "INVALID_ARGUMENTS",
      "bad_method",
    );
    await expectGatewayError(
      c.request({ method: "CONNECT", url, allowedHosts: ["api.test"] }),
      "INVALID_ARGUMENTS",
      "bad_method",
    );
    const err = await expectGatewayError(
      c.request({
        method: "GET",
        url,
        allowedHosts: ["api.test"],
        headers: { "x-api-key": "SECRET-VALUE\r\nx-injected: 1" },
      }),
      "INVALID_ARGUMENTS",
      "bad_header",
    );
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain("SECRET");
    await expectGatewayError(
      c.request({ method: "GET", url, allowedHosts: ["api.test"], headers: { "bad header": "v" } }),
      "INVALID_ARGUMENTS",
      "bad_header",
    );
  });

  it("client options are checked at construction", () => {
    expect(() => client({ allowNetworks: ["127.0.0.1"] })).toThrow(/allow_networks\[0\]/);
    expect(() => client({ connectTimeoutMs: 0 })).toThrow(/connectTimeoutMs/);
    expect(() => client({ maxResponseBytes: -1 })).toThrow(/maxResponseBytes/);
    expect(() => client({ requestTimeoutMs: Number.NaN })).toThrow(/requestTimeoutMs/);
  });
});
