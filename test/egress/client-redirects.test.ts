import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEgressClient } from "../../src/egress/client.js";
import type { EgressClient, EgressClientOptions } from "../../src/egress/types.js";
import { expectGatewayError, ok, startServer, stubResolver, type TestServer } from "./support/servers.js";

let main: TestServer;
let other: TestServer;
const clients: EgressClient[] = [];
const dns = stubResolver({ "api.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });

function client(overrides: Partial<EgressClientOptions> = {}): EgressClient {
  const c = createEgressClient({
    allowNetworks: ["127.0.0.0/8"],
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxResponseBytes: 1 << 20,
    resolver: dns.resolver,
    ...overrides,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  other = await startServer(ok);
  main = await startServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const to = url.searchParams.get("to");
    const status = Number(url.searchParams.get("status") ?? "302");
    if (url.pathname === "/redirect") {
      res.writeHead(status, to === null ? {} : { location: to });
      res.end("moved");
    } else if (url.pathname.startsWith("/chain/") && url.pathname !== "/chain/0") {
      const n = Number(url.pathname.slice(7));
      res.writeHead(302, { location: `/chain/${n - 1}` });
      res.end();
    } else {
      res.writeHead(200);
      res.end(`final ${req.method} ${url.pathname}`);
    }
  });
});
afterAll(async () => {
  await main.close();
  await other.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

const base = () => `http://api.test:${main.port}`;

describe("egress redirects", () => {
  it("follows a same-origin redirect and reports the final URL", async () => {
    const res = await client().request({
      method: "GET",
      url: `${base()}/redirect?to=${encodeURIComponent("/done?x=1")}`,
      allowedHosts: ["api.test"],
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("final GET /done");
    expect(res.url).toBe(`${base()}/done?x=1`);
  });

  it("re-resolves and re-checks every hop", async () => {
    let call = 0;
    const flipping = stubResolver({ "api.test": () => (call++ === 0 ? ["127.0.0.1"] : ["10.0.0.1"]) });
    const before = main.seen.length;
    await expectGatewayError(
      client({ resolver: flipping.resolver }).request({
        method: "GET",
        url: `${base()}/redirect?to=/next`,
        allowedHosts: ["api.test"],
      }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(flipping.calls).toEqual(["api.test", "api.test"]);
    expect(main.seen.length).toBe(before + 1);
  });

  it.each([
    ["another allowed host", () => `http://other.test:${other.port}/`],
    ["the same host on another port", () => `http://api.test:${other.port}/`],
    ["the same host over https", () => `https://api.test:${main.port}/`],
    ["the cloud metadata address", () => "http://169.254.169.254/latest/meta-data/"],
    ["a loopback literal", () => `http://127.0.0.1:${main.port}/`],
    ["a protocol-relative URL", () => `//other.test:${other.port}/`],
    ["a file URL", () => "file:///etc/passwd"],
  ])("refuses a redirect to %s", async (_label, target) => {
    const before = other.seen.length;
    const err = await expectGatewayError(
      client().request({
        method: "GET",
        url: `${base()}/redirect?to=${encodeURIComponent(target())}`,
        allowedHosts: ["api.test", "other.test", "127.0.0.1", "169.254.169.254"],
      }),
      "EGRESS_DENIED",
      "cross_host_redirect",
    );
    expect(err.details.host).toBe("api.test");
    expect(other.seen.length).toBe(before);
  });

  it("follows up to the limit (default 3) and stops after it", async () => {
    const c = client();
    const three = await c.request({ method: "GET", url: `${base()}/chain/3`, allowedHosts: ["api.test"] });
    expect(three.body.toString()).toBe("final GET /chain/0");
    const before = main.seen.length;
    await expectGatewayError(
      c.request({ method: "GET", url: `${base()}/chain/4`, allowedHosts: ["api.test"] }),
      "UPSTREAM_ERROR",
      "too_many_redirects",
    );
    // The original request and three redirects, then it stops without a fifth request.
    expect(main.seen.length - before).toBe(4);
    const five = await c.request({
      method: "GET",
      url: `${base()}/chain/5`,
      allowedHosts: ["api.test"],
      followRedirects: 5,
    });
    expect(five.status).toBe(200);
  });

  it("followRedirects: 0 returns the redirect itself, even a cross-origin one", async () => {
    const res = await client().request({
      method: "GET",
      url: `${base()}/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`,
      allowedHosts: ["api.test"],
      followRedirects: 0,
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe("http://169.254.169.254/");
  });

  it("303 turns a POST into a body-less GET; 307 keeps method and body", async () => {
    const c = client();
    const r303 = await c.request({
      method: "POST",
      url: `${base()}/redirect?status=303&to=/after`,
      allowedHosts: ["api.test"],
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
    });
    expect(r303.body.toString()).toBe("final GET /after");
    const last303 = main.seen.at(-1);
    expect(last303?.body).toBe("");
    expect(last303?.headers["content-type"]).toBeUndefined();

    const r307 = await c.request({
      method: "POST",
      url: `${base()}/redirect?status=307&to=/after`,
      allowedHosts: ["api.test"],
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
    });
    expect(r307.body.toString()).toBe("final POST /after");
    expect(main.seen.at(-1)?.body).toBe('{"a":1}');
  });

  it.each([
    ["without", `/redirect?status=301`],
    ["with an empty", `/redirect?status=301&to=`],
  ])("a redirect %s Location is returned as is", async (_label, path) => {
    const res = await client().request({
      method: "GET",
      url: `${base()}${path}`,
      allowedHosts: ["api.test"],
    });
    expect(res.status).toBe(301);
    expect(res.body.toString()).toBe("moved");
  });

  it("refuses a bad followRedirects value", async () => {
    await expectGatewayError(
      client().request({ method: "GET", url: `${base()}/`, allowedHosts: ["api.test"], followRedirects: -1 }),
      "INVALID_ARGUMENTS",
      "bad_redirect_limit",
    );
  });

  it("an unparseable Location is an upstream error", async () => {
    await expectGatewayError(
      client().request({
        method: "GET",
        url: `${base()}/redirect?to=${encodeURIComponent("http://[::1")}`,
        allowedHosts: ["api.test"],
      }),
      "UPSTREAM_ERROR",
      "bad_redirect",
    );
  });
});
