import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../src/egress/classify.js";
import { parseIp } from "../../src/egress/ip-address.js";

type Row = [address: string, global: boolean, range?: string];

// Each IANA block at its first and last address, with the neighbours just outside it.
// Written out by hand (not derived from the implementation's table) so a wrong prefix there
// shows up here.
const IPV4: Row[] = [
  ["0.0.0.0", false, "this-network"],
  ["0.255.255.255", false, "this-network"],
  ["1.0.0.0", true],
  ["9.255.255.255", true],
  ["10.0.0.0", false, "private-use"],
  ["10.255.255.255", false, "private-use"],
  ["11.0.0.0", true],
  ["100.63.255.255", true],
  ["100.64.0.0", false, "shared-address-space"],
  ["100.127.255.255", false, "shared-address-space"],
  ["100.128.0.0", true],
  ["126.255.255.255", true],
  ["127.0.0.0", false, "loopback"],
  ["127.0.0.1", false, "loopback"],
  ["127.255.255.255", false, "loopback"],
  ["128.0.0.0", true],
  ["169.253.255.255", true],
  ["169.254.0.0", false, "link-local"],
  ["169.254.169.254", false, "link-local"],
  ["169.254.255.255", false, "link-local"],
  ["169.255.0.0", true],
  ["172.15.255.255", true],
  ["172.16.0.0", false, "private-use"],
  ["172.31.255.255", false, "private-use"],
  ["172.32.0.0", true],
  ["191.255.255.255", true],
  ["192.0.0.0", false, "ietf-protocol-assignments"],
  ["192.0.0.8", false, "ietf-protocol-assignments"],
  // Globally reachable per the registry, inside the otherwise refused 192.0.0.0/24.
  ["192.0.0.9", true, "pcp-anycast"],
  ["192.0.0.10", true, "turn-anycast"],
  ["192.0.0.11", false, "ietf-protocol-assignments"],
  ["192.0.0.170", false, "ietf-protocol-assignments"],
  ["192.0.0.255", false, "ietf-protocol-assignments"],
  ["192.0.1.0", true],
  ["192.0.2.0", false, "documentation"],
  ["192.0.2.255", false, "documentation"],
  ["192.0.3.0", true],
  ["192.31.196.1", true],
  ["192.52.193.1", true],
  ["192.88.98.255", true],
  ["192.88.99.0", false, "deprecated-6to4-relay-anycast"],
  ["192.88.99.2", false, "deprecated-6to4-relay-anycast"],
  ["192.88.99.255", false, "deprecated-6to4-relay-anycast"],
  ["192.88.100.0", true],
  ["192.167.255.255", true],
  ["192.168.0.0", false, "private-use"],
  ["192.168.255.255", false, "private-use"],
  ["192.169.0.0", true],
  ["192.175.48.1", true],
  ["198.17.255.255", true],
  ["198.18.0.0", false, "benchmarking"],
  ["198.19.255.255", false, "benchmarking"],
  ["198.20.0.0", true],
  ["198.51.99.255", true],
  ["198.51.100.0", false, "documentation"],
  ["198.51.100.255", false, "documentation"],
  ["198.51.101.0", true],
  ["203.0.112.255", true],
  ["203.0.113.0", false, "documentation"],
  ["203.0.113.255", false, "documentation"],
  ["203.0.114.0", true],
  ["223.255.255.255", true],
  ["224.0.0.0", false, "multicast"],
  ["239.255.255.255", false, "multicast"],
  ["240.0.0.0", false, "reserved"],
  ["255.255.255.254", false, "reserved"],
  ["255.255.255.255", false, "limited-broadcast"],
  ["8.8.8.8", true],
  ["1.1.1.1", true],
];

const MAX = "ffff:ffff:ffff:ffff:ffff";

const IPV6: Row[] = [
  ["::", false, "unspecified"],
  ["::1", false, "loopback"],
  ["::2", false, "ipv4-compatible"],
  ["::8.8.8.8", false, "ipv4-compatible"],
  ["::ffff:ffff", false, "ipv4-compatible"],
  ["::1:0:0", false, "reserved"],
  ["::fffe:ffff:ffff", false, "reserved"],
  ["::1:0:0:0", false, "reserved"],
  // IPv4-translated (SIIT), ::ffff:0:0:0/96: not in any global block.
  ["::ffff:0:808:808", false, "reserved"],
  ["64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved"],
  ["64:ff9b::1:0:0", false, "reserved"],
  ["64:ff9b:1::", false, "nat64-local-use"],
  ["64:ff9b:1::808:808", false, "nat64-local-use"],
  ["64:ff9b:1:ffff:ffff:ffff:ffff:ffff", false, "nat64-local-use"],
  ["64:ff9b:2::", false, "reserved"],
  ["100::", false, "discard-only"],
  ["100::ffff:ffff:ffff:ffff", false, "discard-only"],
  ["100:0:0:1::", false, "dummy-prefix"],
  ["100:0:0:1:ffff:ffff:ffff:ffff", false, "dummy-prefix"],
  ["100:0:0:2::", false, "reserved"],
  ["1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved"],
  ["2000::", true],
  ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
  ["2001::", false, "teredo"],
  ["2001:0:808:808::1", false, "teredo"],
  [`2001:0:${MAX}:ffff`, false, "teredo"],
  ["2001:1::", false, "ietf-protocol-assignments"],
  ["2001:1::1", true, "pcp-anycast"],
  ["2001:1::2", true, "turn-anycast"],
  ["2001:1::3", true, "dns-sd-srp-anycast"],
  ["2001:1::4", false, "ietf-protocol-assignments"],
  ["2001:2::", false, "benchmarking"],
  [`2001:2:0:${MAX}`, false, "benchmarking"],
  ["2001:2:1::", false, "ietf-protocol-assignments"],
  ["2001:3::", true, "amt"],
  [`2001:3:${MAX}:ffff`, true, "amt"],
  ["2001:4::", false, "ietf-protocol-assignments"],
  ["2001:4:111:ffff:ffff:ffff:ffff:ffff", false, "ietf-protocol-assignments"],
  ["2001:4:112::", true, "as112-v6"],
  [`2001:4:112:${MAX}`, true, "as112-v6"],
  ["2001:4:113::", false, "ietf-protocol-assignments"],
  ["2001:f:ffff:ffff:ffff:ffff:ffff:ffff", false, "ietf-protocol-assignments"],
  ["2001:10::", false, "deprecated-orchid"],
  [`2001:1f:${MAX}:ffff`, false, "deprecated-orchid"],
  ["2001:20::", true, "orchid-v2"],
  [`2001:2f:${MAX}:ffff`, true, "orchid-v2"],
  ["2001:30::", true, "drone-remote-id"],
  [`2001:3f:${MAX}:ffff`, true, "drone-remote-id"],
  ["2001:40::", false, "ietf-protocol-assignments"],
  [`2001:1ff:${MAX}:ffff`, false, "ietf-protocol-assignments"],
  ["2001:200::", true],
  [`2001:db7:${MAX}:ffff`, true],
  ["2001:db8::", false, "documentation"],
  [`2001:db8:${MAX}:ffff`, false, "documentation"],
  ["2001:db9::", true],
  [`2001:ffff:${MAX}:ffff`, true],
  ["2003::", true],
  ["2620:4f:8000::1", true],
  [`3ffe:ffff:${MAX}:ffff`, true],
  ["3fff::", false, "documentation"],
  [`3fff:fff:${MAX}:ffff`, false, "documentation"],
  ["3fff:1000::", true],
  [`3fff:ffff:${MAX}:ffff`, true],
  ["4000::", false, "reserved"],
  ["5f00::1", false, "srv6-sids"],
  [`fbff:ffff:${MAX}:ffff`, false, "reserved"],
  ["fc00::", false, "unique-local"],
  ["fd00::1", false, "unique-local"],
  [`fdff:ffff:${MAX}:ffff`, false, "unique-local"],
  ["fe00::", false, "reserved"],
  ["fe80::", false, "link-local"],
  ["fe80::1", false, "link-local"],
  [`febf:ffff:${MAX}:ffff`, false, "link-local"],
  ["fec0::", false, "site-local"],
  [`feff:ffff:${MAX}:ffff`, false, "site-local"],
  ["ff00::", false, "multicast"],
  ["ff02::1", false, "multicast"],
  ["ff0e::1", false, "multicast"],
  [`ffff:ffff:${MAX}:ffff`, false, "multicast"],
  ["2606:4700:4700::1111", true],
  ["2001:4860:4860::8888", true],
  ["2A00:1450:4001:830::200E", true],
];

function expected([, global, range]: Row) {
  return range === undefined ? { global } : { global, range };
}

describe("classifyAddress", () => {
  it.each(IPV4)("IPv4 %s → global %s (%s)", (...row) => {
    expect(classifyAddress(row[0])).toEqual(expected(row));
  });

  it.each(IPV6)("IPv6 %s → global %s (%s)", (...row) => {
    expect(classifyAddress(row[0])).toEqual(expected(row));
  });

  // Every IPv4 row again, wrapped in each IPv6 form that carries an IPv4 address: the verdict
  // is the IPv4 address's, so none of them is a way around the IPv4 table.
  const hex = (v4: string) => {
    const ip = parseIp(v4);
    if (ip === null) throw new Error(v4);
    const n = Number(ip.value);
    return [(n >>> 16).toString(16), (n & 0xffff).toString(16)] as const;
  };
  const wrapped: [string, string, Row][] = IPV4.flatMap((row) => {
    const [hi, lo] = hex(row[0]);
    return [
      ["ipv4-mapped", `::ffff:${row[0]}`, row],
      ["ipv4-mapped", `::ffff:${hi}:${lo}`, row],
      ["ipv4-mapped", `0:0:0:0:0:FFFF:${hi.toUpperCase()}:${lo.toUpperCase()}`, row],
      ["nat64", `64:ff9b::${row[0]}`, row],
      ["nat64", `64:ff9b::${hi}:${lo}`, row],
      ["6to4", `2002:${hi}:${lo}::`, row],
      ["6to4", `2002:${hi}:${lo}:ffff:ffff:ffff:ffff:ffff`, row],
    ] as [string, string, Row][];
  });
  it.each(wrapped)("%s form %s follows the embedded IPv4", (kind, text, [, global, range]) => {
    expect(classifyAddress(text)).toEqual(
      global ? { global, range: kind } : { global, range: `${kind}:${range}` },
    );
  });

  it.each(["::ffff:127.0.0.1", "::ffff:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1"])(
    "refuses loopback spelled as %s",
    (text) => {
      expect(classifyAddress(text).global).toBe(false);
    },
  );

  it.each([
    "",
    "localhost",
    "metadata.google.internal",
    "fe80::1%eth0",
    "fe80::1%25eth0",
    "127.1",
    "0x7f000001",
    "2130706433",
    "127.000.000.001",
    "[::1]",
    "::1/128",
    " 8.8.8.8",
    "8.8.8.8.",
  ])("treats %j as not an address (refused)", (text) => {
    expect(classifyAddress(text)).toEqual({ global: false, range: "invalid" });
  });
});
