import { describe, expect, it } from "vitest";
import { hostAllowed, normalizeHost } from "../../src/egress/hosts.js";

describe("normalizeHost", () => {
  it.each([
    ["api.example.com", "api.example.com"],
    ["API.Example.COM", "api.example.com"],
    ["example.com.", "example.com."],
    ["bücher.example", "xn--bcher-kva.example"],
    ["127.0.0.1", "127.0.0.1"],
    // The URL parser reads IPv4 shorthand; both sides of a comparison go through it.
    ["0x7f.1", "127.0.0.1"],
    ["[::1]", "::1"],
    ["::1", "::1"],
    ["[::FFFF:127.0.0.1]", "::ffff:7f00:1"],
    ["[2001:DB8:0:0::1]", "2001:db8::1"],
    ["under_score.example", "under_score.example"],
  ])("%s → %s", (text, expected) => {
    expect(normalizeHost(text)).toBe(expected);
  });

  it.each([
    "",
    "example.com:443",
    "example.com/path",
    "user@example.com",
    "user:pw@example.com",
    "evil.com#@good.com",
    "evil.com?@good.com",
    "evil.com\\good.com",
    "*.example.com",
    "exa mple.com",
    "[::1]:80",
    "[fe80::1%eth0]",
    "fe80::1%eth0",
    "::g",
    "a".repeat(300),
  ])("refuses %j", (text) => {
    expect(normalizeHost(text)).toBeNull();
  });
});

describe("hostAllowed", () => {
  const allowed = ["API.example.com", "[::1]", "10.0.0.5"];

  it("matches exact hosts, case-insensitively", () => {
    expect(hostAllowed("api.example.com", allowed)).toBe(true);
    expect(hostAllowed("::1", allowed)).toBe(true);
    expect(hostAllowed("10.0.0.5", allowed)).toBe(true);
  });

  it.each([
    "example.com",
    "xapi.example.com",
    "a.api.example.com",
    "api.example.com.evil.net",
    "api.example.com.",
    "api-example.com",
    "10.0.0.50",
    "::2",
  ])("does not match the look-alike %s", (host) => {
    expect(hostAllowed(host, allowed)).toBe(false);
  });

  it("an unusable entry matches nothing", () => {
    expect(hostAllowed("example.com", ["*.example.com", "example.com:443", ""])).toBe(false);
  });

  it("no entries allow nothing", () => {
    expect(hostAllowed("example.com", [])).toBe(false);
  });
});
