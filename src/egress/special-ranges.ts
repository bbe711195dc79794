import { type IpAddress, parseIp } from "./ip-address.js";

/**
 * The IANA IPv4 and IPv6 Special-Purpose Address Registries (as of 2025), plus multicast
 * (its own registries) and the IPv6 space outside 2000::/3 (not global unicast at all).
 * `global` is the registry's "Globally Reachable" column; where a block is globally reachable
 * only through an IPv4 address it carries, `embedded` says where that address sits and the
 * verdict is the embedded address's. The most specific matching block decides, which is how
 * the registry's global sub-blocks (e.g. 2001:1::1/128 inside 2001::/23) take precedence.
 */

export type Embedding = "low32" | "sixToFour";

export interface SpecialRange {
  network: IpAddress;
  prefix: number;
  name: string;
  global: boolean;
  embedded?: Embedding;
}

type Row = [cidr: string, name: string, global: boolean, embedded?: Embedding];

const ROWS: Row[] = [
  // IPv4
  ["0.0.0.0/8", "this-network", false],
  ["10.0.0.0/8", "private-use", false],
  ["100.64.0.0/10", "shared-address-space", false],
  ["127.0.0.0/8", "loopback", false],
  ["169.254.0.0/16", "link-local", false],
  ["172.16.0.0/12", "private-use", false],
  ["192.0.0.0/24", "ietf-protocol-assignments", false],
  ["192.0.0.9/32", "pcp-anycast", true],
  ["192.0.0.10/32", "turn-anycast", true],
  ["192.0.2.0/24", "documentation", false],
  ["192.88.99.0/24", "deprecated-6to4-relay-anycast", false],
  ["192.168.0.0/16", "private-use", false],
  ["198.18.0.0/15", "benchmarking", false],
  ["198.51.100.0/24", "documentation", false],
  ["203.0.113.0/24", "documentation", false],
  ["224.0.0.0/4", "multicast", false],
  ["240.0.0.0/4", "reserved", false],
  ["255.255.255.255/32", "limited-broadcast", false],
  // IPv6
  ["::/128", "unspecified", false],
  ["::1/128", "loopback", false],
  // Deprecated (RFC 4291); some stacks still tunnel it to the embedded IPv4: refuse outright.
  ["::/96", "ipv4-compatible", false],
  ["::ffff:0:0/96", "ipv4-mapped", true, "low32"],
  ["64:ff9b::/96", "nat64", true, "low32"],
  // Local-use NAT64 (RFC 8215): not globally reachable, and where the IPv4 address sits
  // depends on the operator's prefix length, so it cannot be judged by its payload.
  ["64:ff9b:1::/48", "nat64-local-use", false],
  ["100::/64", "discard-only", false],
  ["100:0:0:1::/64", "dummy-prefix", false],
  ["2001::/23", "ietf-protocol-assignments", false],
  // Teredo tunnels to an obfuscated client IPv4 address through a relay: refused.
  ["2001::/32", "teredo", false],
  ["2001:1::1/128", "pcp-anycast", true],
  ["2001:1::2/128", "turn-anycast", true],
  ["2001:1::3/128", "dns-sd-srp-anycast", true],
  ["2001:2::/48", "benchmarking", false],
  ["2001:3::/32", "amt", true],
  ["2001:4:112::/48", "as112-v6", true],
  ["2001:10::/28", "deprecated-orchid", false],
  ["2001:20::/28", "orchid-v2", true],
  ["2001:30::/28", "drone-remote-id", true],
  ["2001:db8::/32", "documentation", false],
  ["2002::/16", "6to4", true, "sixToFour"],
  ["3fff::/20", "documentation", false],
  ["5f00::/16", "srv6-sids", false],
  ["fc00::/7", "unique-local", false],
  ["fe80::/10", "link-local", false],
  ["fec0::/10", "site-local", false],
  ["ff00::/8", "multicast", false],
];

function toRange([cidr, name, global, embedded]: Row): SpecialRange {
  const [address = "", prefixText = ""] = cidr.split("/");
  const network = parseIp(address);
  if (network === null) throw new Error(`special-range table: bad address ${cidr}`);
  const range: SpecialRange = { network, prefix: Number(prefixText), name, global };
  if (embedded !== undefined) range.embedded = embedded;
  return range;
}

/** Most specific first, so the first match is the deciding one. */
export const SPECIAL_RANGES: readonly SpecialRange[] = ROWS.map(toRange).sort((a, b) => b.prefix - a.prefix);

/** Global unicast IPv6 (IANA IPv6 Address Space registry): everything else is reserved. */
export const IPV6_GLOBAL_UNICAST: { network: IpAddress; prefix: number } = {
  network: { family: 6, value: 0x2000n << 112n },
  prefix: 3,
};
