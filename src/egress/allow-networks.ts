import { parseCidr } from "../config/cidr.js";
import { type IpAddress, inNetwork, ipv4, parseIp, unmapIpv4 } from "./ip-address.js";

export interface AllowedNetwork {
  network: IpAddress;
  prefix: number;
}

export interface AllowNetworks {
  readonly networks: readonly AllowedNetwork[];
  contains(ip: IpAddress): boolean;
}

/**
 * Compiles the operator's `egress.allow_networks`. An entry that does not parse throws: this
 * runs at startup, and a half-read exception list must stop the gateway, not shrink silently.
 * Host bits below the prefix are ignored (`127.0.0.1/8` means 127.0.0.0/8). An IPv4-mapped
 * entry (`::ffff:10.0.0.0/104`) is stored as the IPv4 network it names, since mapped peers
 * are judged as IPv4.
 */
export function compileAllowNetworks(entries: readonly string[]): AllowNetworks {
  const networks: AllowedNetwork[] = entries.map((entry, index) => {
    const cidr = parseCidr(entry);
    const parsed = cidr === null ? null : parseIp(cidr.address);
    if (cidr === null || parsed === null) {
      throw new Error(
        `egress.allow_networks[${index}] is not a CIDR (address/prefix): ${JSON.stringify(entry)}`,
      );
    }
    const unmapped = unmapIpv4(parsed);
    if (unmapped.family === 4 && parsed.family === 6 && cidr.prefix >= 96) {
      return { network: ipv4(unmapped.value), prefix: cidr.prefix - 96 };
    }
    return { network: parsed, prefix: cidr.prefix };
  });
  return {
    networks,
    contains: (ip) => {
      const target = unmapIpv4(ip);
      return networks.some((n) => inNetwork(target, n.network, n.prefix));
    },
  };
}
