import { describe, expect, it } from "vitest";
import { compileAllowNetworks } from "../../src/egress/allow-networks.js";
import { type IpAddress, parseIp } from "../../src/egress/ip-address.js";

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (parsed === null) throw new Error(text);
  return parsed;
}

describe("compileAllowNetworks", () => {
  it("allows nothing when empty", () => {
    const allow = compileAllowNetworks([]);
    expect(allow.contains(ip("127.0.0.1"))).toBe(false);
    expect(allow.contains(ip("::1"))).toBe(false);
  });

  it("matches exactly the listed prefixes", () => {
    const allow = compileAllowNetworks(["127.0.0.0/8", "10.1.0.0/16", "fd00:1::/32"]);
    expect(allow.contains(ip("127.0.0.1"))).toBe(true);
    expect(allow.contains(ip("127.255.255.255"))).toBe(true);
    expect(allow.contains(ip("128.0.0.0"))).toBe(false);
    expect(allow.contains(ip("10.1.255.255"))).toBe(true);
    expect(allow.contains(ip("10.2.0.0"))).toBe(false);
    expect(allow.contains(ip("10.0.255.255"))).toBe(false);
    expect(allow.contains(ip("fd00:1:ffff::1"))).toBe(true);
    expect(allow.contains(ip("fd00:2::1"))).toBe(false);
    expect(allow.contains(ip("::1"))).toBe(false);
  });

  it("a /32 allows one address only", () => {
    const allow = compileAllowNetworks(["127.0.0.1/32"]);
    expect(allow.contains(ip("127.0.0.1"))).toBe(true);
    expect(allow.contains(ip("127.0.0.2"))).toBe(false);
    expect(allow.contains(ip("127.0.0.0"))).toBe(false);
  });

  it("ignores host bits below the prefix", () => {
    const allow = compileAllowNetworks(["127.0.0.1/8"]);
    expect(allow.contains(ip("127.9.9.9"))).toBe(true);
  });

  it("judges IPv4-mapped addresses and entries as IPv4", () => {
    const v4 = compileAllowNetworks(["127.0.0.0/8"]);
    expect(v4.contains(ip("::ffff:127.0.0.1"))).toBe(true);
    const mappedEntry = compileAllowNetworks(["::ffff:10.0.0.0/104"]);
    expect(mappedEntry.contains(ip("10.200.0.1"))).toBe(true);
    expect(mappedEntry.contains(ip("11.0.0.1"))).toBe(false);
    // NAT64 and IPv4-compatible forms are IPv6 destinations: an IPv4 entry does not cover them.
    expect(v4.contains(ip("64:ff9b::7f00:1"))).toBe(false);
    expect(v4.contains(ip("::127.0.0.1"))).toBe(false);
  });

  it.each([
    "127.0.0.1",
    "127.0.0.0/33",
    "::/129",
    "fe80::/10%eth0",
    "fe80::%eth0/10",
    "localhost/8",
    "127.0.0.0/8/8",
    "127.0.0.0/",
    "/8",
    "127.0.0.0/08x",
    "",
  ])("refuses the entry %j at startup", (entry) => {
    expect(() => compileAllowNetworks(["127.0.0.0/8", entry])).toThrow(/allow_networks\[1\]/);
  });
});
