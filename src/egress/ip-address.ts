/**
 * A strict IP address parser. The egress guard never hands a string it has not parsed itself
 * to the socket layer: every address is parsed here and re-serialized canonically, so no
 * alternative spelling (leading zeros read as octal, shorthand IPv4, zone ids) can reach
 * getaddrinfo or the kernel and mean something other than what was checked.
 */

export interface IpAddress {
  family: 4 | 6;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
// The longest valid text form: eight four-digit groups, or six and a dotted quad (45 chars).
const MAX_IPV6_TEXT = 45;

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: inet_aton and some resolvers read them as octal.
    if (!IPV4_PART.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** Turns `a:b:c` pieces into 16-bit words; a dotted quad is allowed only as the last piece. */
function toWords(pieces: string[], lastPieceOfAddress: boolean): number[] | null {
  const words: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] ?? "";
    if (piece.includes(".")) {
      if (!lastPieceOfAddress || i !== pieces.length - 1) return null;
      const v4 = parseIpv4(piece);
      if (v4 === null) return null;
      words.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!HEX_GROUP.test(piece)) return null;
      words.push(Number.parseInt(piece, 16));
    }
  }
  return words;
}

function parseIpv6(text: string): bigint | null {
  // Zone ids (`%eth0`) and anything outside the grammar's alphabet are refused outright.
  if (text.length < 2 || text.length > MAX_IPV6_TEXT || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const headText = halves[0] ?? "";
  const tailText = halves[1] ?? "";
  const head = toWords(headText === "" ? [] : headText.split(":"), !compressed);
  const tail = compressed ? toWords(tailText === "" ? [] : tailText.split(":"), true) : [];
  if (head === null || tail === null) return null;
  const count = head.length + tail.length;
  // `::` stands for at least one zero group, so a compressed address has at most seven.
  if (compressed ? count > 7 : count !== 8) return null;
  const words = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  let value = 0n;
  for (const word of words) value = (value << 16n) | BigInt(word);
  return value;
}

/** Parses a bare IPv4 (dotted decimal) or IPv6 address; `null` for anything else. */
export function parseIp(text: string): IpAddress | null {
  if (text.includes(":")) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

function formatIpv6(value: bigint): string {
  const words: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) words.push(Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (at least two) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}

/** The canonical text form: dotted decimal, or RFC 5952 lowercase compressed IPv6. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 0xffn).toString()).join(".");
  }
  return formatIpv6(ip.value);
}

export function ipv4(value: bigint): IpAddress {
  return { family: 4, value: value & 0xffff_ffffn };
}

/** Whether `ip` lies inside `network/prefix` (same family only). */
export function inNetwork(ip: IpAddress, network: IpAddress, prefix: number): boolean {
  if (ip.family !== network.family) return false;
  const bits = BigInt(ip.family === 4 ? 32 : 128);
  const shift = bits - BigInt(prefix);
  return ip.value >> shift === network.value >> shift;
}

const MAPPED_PREFIX = 0xffffn << 32n;

/**
 * `::ffff:a.b.c.d` is how a dual-stack socket spells an IPv4 peer: a connection to it goes to
 * the IPv4 address, so it is judged (and connected to) as that IPv4 address.
 */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 6 && ip.value >> 32n === MAPPED_PREFIX >> 32n) return ipv4(ip.value);
  return ip;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  const x = unmapIpv4(a);
  const y = unmapIpv4(b);
  return x.family === y.family && x.value === y.value;
}
