import { formatIp, parseIp } from "./ip-address.js";

const MAX_HOST_LENGTH = 255;
const HOST_CHARS = /^[a-z0-9._-]+$/;

/**
 * The one spelling of a host that allow-list comparisons use: lowercase, IDN as punycode,
 * IPv4 in dotted decimal, IPv6 in RFC 5952 form without brackets. Built with the same WHATWG
 * URL parser that reads request URLs, so an allowed host and a URL's host are compared in
 * the same form. Returns `null` for anything that is not a bare host (ports, paths, userinfo,
 * wildcards): such an entry can never match, which fails closed. A trailing dot is kept:
 * `example.com.` and `example.com` are different entries.
 */
export function normalizeHost(text: string): string | null {
  if (text.length === 0 || text.length > MAX_HOST_LENGTH) return null;
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) {
    const ip = parseIp(bare);
    return ip !== null && ip.family === 6 ? formatIp(ip) : null;
  }
  let url: URL;
  try {
    url = new URL(`http://${bare}/`);
  } catch {
    return null;
  }
  const plain =
    url.hostname !== "" &&
    url.port === "" &&
    url.username === "" &&
    url.password === "" &&
    url.pathname === "/" &&
    url.search === "" &&
    url.hash === "";
  // After IDN conversion a DNS name is plain ASCII; anything else (`*`, `%`, `!`) is not a
  // name a resolver should see.
  if (!plain || !HOST_CHARS.test(url.hostname)) return null;
  return url.hostname;
}

/** Exact, case-insensitive host match: no suffix or wildcard matching (AEGIS defect). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((entry) => normalizeHost(entry) === host);
}
