import { isIP } from "node:net";

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/**
 * Parses `address/prefix` (IPv4 or IPv6). The prefix is required: an egress exception must
 * say how wide it is, so a bare address is refused rather than silently read as /32.
 * Zone ids (`fe80::1%eth0`) are refused: they name an interface, not a network.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash !== text.lastIndexOf("/")) return null;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (address.includes("%") || !/^\d{1,3}$/.test(prefixText)) return null;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return null;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return null;
  return { family, address, prefix };
}
