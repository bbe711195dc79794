import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { formatIp, inNetwork, parseIp, sameAddress, unmapIpv4 } from "../../src/egress/ip-address.js";

function canonical(text: string): string | null {
  const ip = parseIp(text);
  return ip === null ? null : formatIp(ip);
}

describe("parseIp / formatIp", () => {
  it.each([
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["8.8.8.8", "8.8.8.8"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:0:0:0:0:0:8", "1::8"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::ffff:127.0.0.1", "::ffff:7f00:1"],
    ["::FFFF:7F00:1", "::ffff:7f00:1"],
    ["0:0:0:0:0:ffff:127.0.0.1", "::ffff:7f00:1"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
    ["1::1.2.3.4", "1::102:304"],
    ["::1.2.3.4", "::102:304"],
    ["64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe"],
    // RFC 5952: the longest zero run is compressed, the first one on a tie, never a single group.
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["1:0:0:1:1:0:0:1", "1::1:1:0:0:1"],
    ["1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"],
  ])("%s → %s", (text, expected) => {
    expect(canonical(text)).toBe(expected);
  });

  it.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "1.2.3.256",
    // Leading zeros: octal to inet_aton, decimal to others. Ambiguous, so refused.
    "01.2.3.4",
    "1.2.3.04",
    "127.000.000.001",
    "0x7f.0.0.1",
    "127.1",
    "2130706433",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "1.2.3.-1",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1::2::3",
    ":::",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "12345::",
    "::g",
    "fe80::1%eth0",
    "fe80::1%1",
    "[::1]",
    "::1/128",
    "::1.2.3.4:1",
    "1.2.3.4::",
    "::ffff:1.2.3",
    "::ffff:01.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1:2:3:4:5:6:1.2.3.4",
    "localhost",
    `${"0:".repeat(50)}1`,
  ])("refuses %j", (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it("agrees with the WHATWG URL serializer on random IPv6 values in every spelling", () => {
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(16);
      // Zero out random runs so compression paths are exercised.
      const start = bytes[0] ?? 0;
      const run = (bytes[1] ?? 0) % 8;
      for (let w = start % 8; w < Math.min(8, (start % 8) + run); w++) bytes.writeUInt16BE(0, w * 2);
      const words = Array.from({ length: 8 }, (_, w) => bytes.readUInt16BE(w * 2));
      const full = words.map((w) => w.toString(16).padStart(4, "0")).join(":");
      const expected = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      const value = BigInt(`0x${bytes.toString("hex")}`);
      const tail = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      const dotted = `${words
        .slice(0, 6)
        .map((w) => w.toString(16))
        .join(":")}:${tail}`;
      for (const spelling of [full, full.toUpperCase(), expected, dotted]) {
        const parsed = parseIp(spelling);
        expect(parsed, spelling).not.toBeNull();
        expect(parsed?.value, spelling).toBe(value);
        expect(parsed === null ? null : formatIp(parsed), spelling).toBe(expected);
      }
    }
  });
});

describe("network helpers", () => {
  it("inNetwork checks prefix boundaries and never mixes families", () => {
    const net = parseIp("10.0.0.0");
    const inside = parseIp("10.255.255.255");
    const outside = parseIp("11.0.0.0");
    const v6 = parseIp("::a00:0");
    if (net === null || inside === null || outside === null || v6 === null) throw new Error("parse");
    expect(inNetwork(inside, net, 8)).toBe(true);
    expect(inNetwork(outside, net, 8)).toBe(false);
    expect(inNetwork(v6, net, 8)).toBe(false);
    expect(inNetwork(outside, net, 0)).toBe(true);
  });

  it("unmapIpv4 turns only ::ffff:0:0/96 into IPv4", () => {
    const mapped = parseIp("::ffff:10.1.2.3");
    const nat64 = parseIp("64:ff9b::a01:203");
    const siit = parseIp("::ffff:0:a01:203");
    if (mapped === null || nat64 === null || siit === null) throw new Error("parse");
    expect(formatIp(unmapIpv4(mapped))).toBe("10.1.2.3");
    expect(unmapIpv4(nat64).family).toBe(6);
    expect(unmapIpv4(siit).family).toBe(6);
  });

  it("sameAddress treats a mapped peer as its IPv4 address", () => {
    const a = parseIp("::ffff:127.0.0.1");
    const b = parseIp("127.0.0.1");
    const c = parseIp("127.0.0.2");
    if (a === null || b === null || c === null) throw new Error("parse");
    expect(sameAddress(a, b)).toBe(true);
    expect(sameAddress(a, c)).toBe(false);
  });
});
