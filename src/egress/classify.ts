import { type IpAddress, inNetwork, ipv4, parseIp } from "./ip-address.js";
import { type Embedding, IPV6_GLOBAL_UNICAST, SPECIAL_RANGES } from "./special-ranges.js";

export interface AddressClass {
  /** True only for global unicast: the one kind of destination the guard lets through by default. */
  global: boolean;
  /**
   * The special-purpose block that decided (`loopback`, `private-use`, …); for blocks that
   * carry an IPv4 address, `<block>:<ipv4 block>` (e.g. `nat64:link-local`). Absent for
   * ordinary global unicast. `invalid` for text that is not a bare IP address.
   */
  range?: string;
}

function embeddedIpv4(ip: IpAddress, embedding: Embedding): IpAddress {
  // 6to4 (2002:AABB:CCDD::/48) carries the IPv4 address in bits 16..47.
  return embedding === "sixToFour" ? ipv4(ip.value >> 80n) : ipv4(ip.value);
}

export function classifyIp(ip: IpAddress): AddressClass {
  for (const range of SPECIAL_RANGES) {
    if (!inNetwork(ip, range.network, range.prefix)) continue;
    if (range.embedded === undefined) return { global: range.global, range: range.name };
    const inner = classifyIp(embeddedIpv4(ip, range.embedded));
    return inner.global
      ? { global: true, range: range.name }
      : { global: false, range: `${range.name}:${inner.range ?? "unknown"}` };
  }
  if (ip.family === 6 && !inNetwork(ip, IPV6_GLOBAL_UNICAST.network, IPV6_GLOBAL_UNICAST.prefix)) {
    return { global: false, range: "reserved" };
  }
  return { global: true };
}

/**
 * Classifies a textual IP address. Anything that is not a bare, well-formed IPv4 or IPv6
 * address (a hostname, a zone id, a CIDR, leading zeros) is reported as not global.
 */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIp(ip);
  if (parsed === null) return { global: false, range: "invalid" };
  return classifyIp(parsed);
}
