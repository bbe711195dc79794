import { describe, expect, it } from "vitest";
import { compileAllowNetworks } from "../../src/egress/allow-networks.js";
import { checkAddresses, resolveDestination } from "../../src/egress/destination.js";
import { GatewayError } from "../../src/errors.js";
import { expectGatewayError } from "./support/servers.js";

const none = compileAllowNetworks([]);
const loopback = compileAllowNetworks(["127.0.0.0/8"]);

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("checkAddresses", () => {
  it("pins the first answer in canonical form", () => {
    expect(checkAddresses("h", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"], none)).toMatchObject({
      address: "93.184.216.34",
      family: 4,
    });
    expect(checkAddresses("h", ["2606:2800:0220:0001::1"], none)).toMatchObject({
      address: "2606:2800:220:1::1",
      family: 6,
    });
  });

  it("pins an IPv4-mapped answer as the IPv4 address it names", () => {
    expect(checkAddresses("h", ["::ffff:127.0.0.1"], loopback)).toMatchObject({
      address: "127.0.0.1",
      family: 4,
    });
  });

  it.each([
    [["93.184.216.34", "10.0.0.1"], "private-use"],
    [["10.0.0.1", "93.184.216.34"], "private-use"],
    [["2606:4700::1111", "fd00::1"], "unique-local"],
    [["93.184.216.34", "169.254.169.254"], "link-local"],
    [["93.184.216.34", "::ffff:169.254.169.254"], "link-local"],
    [["93.184.216.34", "not-an-ip"], "invalid"],
    [["93.184.216.34", "fe80::1%eth0"], "invalid"],
  ])("refuses %j when any answer is not allowed", (answers, range) => {
    const err = thrown(() => checkAddresses("h", answers, none));
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.details).toEqual({ reason: "address_not_allowed", host: "h", range });
    // The address itself is not echoed to the (untrusted) caller.
    expect(JSON.stringify(err.details)).not.toMatch(/93\.184|10\.0\.0\.1|169\.254/);
  });

  it("allow_networks lets a listed range through, and only that range", () => {
    expect(checkAddresses("h", ["127.0.0.1", "127.0.0.2"], loopback).address).toBe("127.0.0.1");
    expect(thrown(() => checkAddresses("h", ["127.0.0.1", "10.0.0.1"], loopback)).details.reason).toBe(
      "address_not_allowed",
    );
  });

  it("no answers is a resolution failure", () => {
    expect(thrown(() => checkAddresses("h", [], none)).details.reason).toBe("resolution_failed");
  });
});

describe("resolveDestination", () => {
  const live = new AbortController().signal;

  it("does not resolve IP literals", async () => {
    const resolver = async () => {
      throw new Error("must not be called");
    };
    await expect(resolveDestination("8.8.8.8", resolver, none, live)).resolves.toMatchObject({
      address: "8.8.8.8",
    });
    await expectGatewayError(
      resolveDestination("127.0.0.1", resolver, none, live),
      "EGRESS_DENIED",
      "address_not_allowed",
    );
  });

  it("maps resolver failures and malformed answers to resolution_failed", async () => {
    const failing = async (): Promise<string[]> => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND secret-internal-name"), { code: "ENOTFOUND" });
    };
    const err = await expectGatewayError(
      resolveDestination("x.test", failing, none, live),
      "EGRESS_DENIED",
      "resolution_failed",
    );
    expect(err.message).not.toContain("getaddrinfo");
    const notArray = (async () => "1.2.3.4") as unknown as (h: string) => Promise<string[]>;
    await expectGatewayError(
      resolveDestination("x.test", notArray, none, live),
      "EGRESS_DENIED",
      "resolution_failed",
    );
    await expectGatewayError(
      resolveDestination("x.test", async () => [], none, live),
      "EGRESS_DENIED",
      "resolution_failed",
    );
  });

  it("gives up on a hanging resolver when the signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const hang = () => new Promise<string[]>(() => {});
    const reason = new GatewayError("UPSTREAM_TIMEOUT", "t", { reason: "connect_timeout" });
    setTimeout(() => controller.abort(reason), 20);
    await expect(resolveDestination("x.test", hang, none, controller.signal)).rejects.toBe(reason);
  });
});
