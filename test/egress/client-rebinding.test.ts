import http from "node:http";
import type { LookupFunction } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { classifyAddress } from "../../src/egress/classify.js";
import { createEgressClient } from "../../src/egress/client.js";
import type { EgressClient } from "../../src/egress/types.js";
import { expectGatewayError, startServer, stubResolver, type TestServer } from "./support/servers.js";

// Two servers on the same port: 127.0.0.1 plays the checked, allowed address; 127.0.0.2 the
// forbidden one a rebinding resolver answers the second time it is asked. Only 127.0.0.1/32
// is allowed, so reaching 127.0.0.2 at all would be the bypass.
let allowed: TestServer;
let forbidden: TestServer;
const clients: EgressClient[] = [];

beforeAll(async () => {
  allowed = await startServer((_req, res) => res.end("allowed"));
  forbidden = await startServer((_req, res) => res.end("forbidden"), {
    host: "127.0.0.2",
    port: allowed.port,
  });
});
afterAll(async () => {
  await allowed.close();
  await forbidden.close();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** Answers 127.0.0.1 the first `firstN` times, 127.0.0.2 afterwards. */
function rebinding(firstN = 1) {
  let n = 0;
  return stubResolver({ "rebind.test": () => (n++ < firstN ? ["127.0.0.1"] : ["127.0.0.2"]) });
}

function client(allowNetworks: string[], resolver: (h: string) => Promise<string[]>): EgressClient {
  const c = createEgressClient({
    allowNetworks,
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxResponseBytes: 1 << 16,
    resolver,
  });
  clients.push(c);
  return c;
}

const target = () => `http://rebind.test:${allowed.port}/`;

describe("DNS rebinding", () => {
  it("the fixture has teeth: a check-then-connect client that resolves twice reaches the forbidden server", async () => {
    const dns = rebinding();
    const [checked] = await dns.resolver("rebind.test");
    expect(checked).toBe("127.0.0.1");
    const naiveLookup: LookupFunction = (host, opts, cb) => {
      void dns.resolver(host).then(([address = ""]) => {
        if (opts.all) cb(null, [{ address, family: 4 }]);
        else cb(null, address, 4);
      });
    };
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: "rebind.test", port: allowed.port, lookup: naiveLookup, agent: false }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c.toString();
          });
          res.on("end", () => resolve(text));
        })
        .on("error", reject);
    });
    expect(body).toBe("forbidden");
  });

  it("connects to the address it checked: the resolver is asked once and 127.0.0.2 is never reached", async () => {
    const dns = rebinding();
    const beforeForbidden = forbidden.seen.length;
    const res = await client(["127.0.0.1/32"], dns.resolver).request({
      method: "GET",
      url: target(),
      allowedHosts: ["rebind.test"],
    });
    expect(res.body.toString()).toBe("allowed");
    expect(dns.calls).toEqual(["rebind.test"]);
    expect(forbidden.seen.length).toBe(beforeForbidden);
    expect(allowed.seen.at(-1)?.headers.host).toBe(`rebind.test:${allowed.port}`);
    expect(classifyAddress("127.0.0.2").global).toBe(false);
  });

  it("a pooled keep-alive socket does not carry a request whose new answer is forbidden", async () => {
    const dns = rebinding();
    const c = client(["127.0.0.1/32"], dns.resolver);
    const beforeAllowed = allowed.seen.length;
    const beforeForbidden = forbidden.seen.length;
    expect((await c.request({ method: "GET", url: target(), allowedHosts: ["rebind.test"] })).status).toBe(
      200,
    );
    await expectGatewayError(
      c.request({ method: "GET", url: target(), allowedHosts: ["rebind.test"] }),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
    expect(allowed.seen.length - beforeAllowed).toBe(1);
    expect(forbidden.seen.length).toBe(beforeForbidden);
  });

  it("the pool is keyed by checked address, not hostname: a new answer gets a new connection", async () => {
    const dns = rebinding();
    const c = client(["127.0.0.0/8"], dns.resolver);
    const first = await c.request({ method: "GET", url: target(), allowedHosts: ["rebind.test"] });
    const second = await c.request({ method: "GET", url: target(), allowedHosts: ["rebind.test"] });
    expect([first.body.toString(), second.body.toString()]).toEqual(["allowed", "forbidden"]);
  });

  it("a same-origin redirect is re-resolved and re-checked before its connection", async () => {
    const redirecting = await startServer(
      (req, res) => {
        if (req.url === "/start") {
          res.writeHead(302, { location: "/next" });
          res.end();
        } else res.end("should not be reached");
      },
      { host: "127.0.0.1" },
    );
    try {
      let n = 0;
      const dns = stubResolver({ "rebind.test": () => (n++ === 0 ? ["127.0.0.1"] : ["169.254.169.254"]) });
      const err = await expectGatewayError(
        client(["127.0.0.1/32"], dns.resolver).request({
          method: "GET",
          url: `http://rebind.test:${redirecting.port}/start`,
          allowedHosts: ["rebind.test"],
        }),
        "EGRESS_DENIED",
        "address_not_allowed",
      );
      expect(err.details.range).toBe("link-local");
      expect(redirecting.seen.map((s) => s.url)).toEqual(["/start"]);
    } finally {
      await redirecting.close();
    }
  });
});
