import { describe, expect, it } from "vitest";
import {
  domainPatternProblem,
  hostAllowed,
  hostFromUpstream,
  hostFromUrl,
  matchDomainPattern,
  normalizeHost,
} from "../../src/policy/domains.js";

function host(url: string): string | null {
  const result = hostFromUrl(url);
  return result.ok ? result.host : null;
}

describe("hostFromUrl", () => {
  it.each([
    ["https://example.com/a?b#c", "example.com"],
    ["https://EXAMPLE.com./", "example.com"],
    ["https://Api.Example.COM:8443/x", "api.example.com"],
    ["http://example.com@evil.com/", "evil.com"],
    ["http://user:pass@example.com/", "example.com"],
    ["http://a@b@evil.com/", "evil.com"],
    ["http://192.0.2.1:80/", "192.0.2.1"],
    ["http://[2001:db8::1]/", "[2001:db8::1]"],
    ["https://xn--bcher-kva.example/", "xn--bcher-kva.example"],
    ["wss://stream.example.com/feed", "stream.example.com"],
    ["ftp://files.example.com/x", "files.example.com"],
    ["https://en.wikipedia.org/wiki/Zürich", "en.wikipedia.org"],
  ])("%s → %s", (url, expected) => {
    expect(host(url)).toBe(expected);
  });

  it.each([
    ["not a url", "whitespace"],
    ["example.com", "absolute"],
    ["/relative/path", "absolute"],
    ["//example.com/x", "absolute"],
    ["file:///etc/passwd", "no host"],
    ["mailto:a@example.com", "no host"],
    ["http:example.com", "scheme://"],
    ["http:/example.com", "scheme://"],
    ["http://good.com\\@evil.com/", "backslash"],
    ["http://exa\tmple.com/", "whitespace"],
    ["http://example.com\n.evil.com/", "whitespace"],
    [" http://example.com/", "whitespace"],
    ["http://ex%61mple.com/", "spells its host differently"],
    ["http://ｅｘａｍｐｌｅ.com/", "spells its host differently"],
    ["http://bücher.example/", "spells its host differently"],
    ["http://0x7f.1/", "spells its host differently"],
    ["http://2130706433/", "spells its host differently"],
    ["http://[0:0::1]/", "spells its host differently"],
    ["foo://*.example.com/", "characters"],
    ["http://[::1/", "absolute"],
    [`https://example.com/${"a".repeat(9000)}`, "longer"],
  ])("refuses %j (%s)", (url, fragment) => {
    const result = hostFromUrl(url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(fragment);
  });
});

describe("hostFromUpstream", () => {
  it.each([
    ["api.example.com", "api.example.com"],
    ["API.example.com:8443", "api.example.com"],
    ["[::1]:8080", "[::1]"],
    ["::1", "[::1]"],
    ["127.0.0.1", "127.0.0.1"],
  ])("%s → %s", (upstream, expected) => {
    expect(hostFromUpstream(upstream)).toEqual({ ok: true, host: expected });
  });

  it.each(["evil.com@good.com", "good.com/x", "", "a b"])("refuses %j", (upstream) => {
    expect(hostFromUpstream(upstream).ok).toBe(false);
  });
});

describe("matchDomainPattern", () => {
  it.each([
    ["example.com", "example.com", true],
    ["example.com", "evilexample.com", false],
    ["example.com", "example.com.evil.com", false],
    ["example.com", "a.example.com", false],
    ["*.example.com", "a.example.com", true],
    ["*.example.com", "a.b.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "evilexample.com", false],
    ["*.example.com", ".example.com", false],
    ["*.example.com", "a..example.com", false],
    ["*.example.com", "example.com.evil.com", false],
    ["192.0.2.1", "192.0.2.1", true],
    ["192.0.2.1", "192.0.2.10", false],
    ["[2001:db8::1]", "[2001:db8::1]", true],
  ])("%s vs %s → %s", (pattern, h, expected) => {
    expect(matchDomainPattern(pattern, h)).toBe(expected);
  });

  it("never lets a wildcard match an IP literal, even a pattern the schema would refuse", () => {
    expect(matchDomainPattern("*.0.0.1", "127.0.0.1")).toBe(false);
    expect(matchDomainPattern("*.2.1", "192.0.2.1")).toBe(false);
    expect(matchDomainPattern("*.1]", "[::1]")).toBe(false);
  });

  it("uses normalized hosts end to end", () => {
    const allow = ["example.com", "*.wikipedia.org"];
    const check = (url: string) => {
      const h = hostFromUrl(url);
      return h.ok && hostAllowed(allow, h.host);
    };
    expect(check("https://EXAMPLE.com./x")).toBe(true);
    expect(check("https://en.wikipedia.org/wiki/X")).toBe(true);
    expect(check("https://wikipedia.org/")).toBe(false);
    expect(check("https://example.com.evil.com/")).toBe(false);
    expect(check("https://evilexample.com/")).toBe(false);
    expect(check("https://example.com@evil.com/")).toBe(false);
    expect(check("https://evil.com/?u=https://example.com")).toBe(false);
    expect(check("https://evil.com#@example.com")).toBe(false);
  });

  it("normalizeHost lowercases and drops one trailing dot", () => {
    expect(normalizeHost("EXAMPLE.com.")).toBe("example.com");
    expect(normalizeHost("example.com..")).toBe("example.com.");
  });
});

describe("domainPatternProblem", () => {
  it.each([
    "example.com",
    "api.example.com",
    "*.example.com",
    "*.internal",
    "localhost",
    "xn--bcher-kva.example",
    "192.0.2.1",
    "[2001:db8::1]",
    "_service.example.com",
  ])("accepts %s", (pattern) => {
    expect(domainPatternProblem(pattern)).toBeNull();
  });

  it.each([
    ["", "empty"],
    ["*", "bare"],
    ["Example.com", "lowercase"],
    ["bücher.example", "punycode"],
    ["example.com.", "dot"],
    ["https://example.com", "not a URL"],
    ["example.com/path", "not a URL"],
    ["user@example.com", "not a URL"],
    ["*example.com", "leading"],
    ["a.*.example.com", "leading"],
    ["*.*.example.com", "only one"],
    ["*.192.0.2.1", "IP address"],
    ["*.[::1]", "IP address"],
    ["example..com", "labels"],
    ["exa mple.com", "labels"],
    [`${"a".repeat(64)}.com`, "labels"],
    ["1.2.3", "canonical form: 1.2.0.3"],
    ["0x7f.0.0.1", "canonical form: 127.0.0.1"],
    ["999.1.1.1", "not a valid IPv4"],
    ["2001:db8::1", "brackets"],
    ["[2001:db8:0::1]", "canonical form: [2001:db8::1]"],
    ["[zz::1]", "not a valid IPv6"],
    ["a".repeat(300), "255"],
    [`${"abcdefghi.".repeat(25)}abcd`, "253"],
  ])("refuses %j (%s)", (pattern, fragment) => {
    expect(domainPatternProblem(pattern)).toContain(fragment);
  });
});
