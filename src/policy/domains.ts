/**
 * Domain patterns for `domain_allowlist` and the host checks behind them.
 *
 * A pattern is a lowercase ASCII host name (`api.example.com`), an IP literal written in its
 * canonical form (`192.0.2.10`, `[2001:db8::1]`), or `*.` followed by a host name: the
 * wildcard stands for one or more whole labels, so `*.example.com` matches `a.example.com`
 * and `a.b.example.com` but not `example.com` (list it too if wanted) and never
 * `evilexample.com`. No other wildcard exists, and IP literals only ever match exactly.
 * Internationalized names are written in punycode (`xn--…`); non-ASCII is refused so that
 * two visually equal strings can never mean different hosts.
 *
 * A host is taken from a URL with the WHATWG URL parser (the one `fetch` uses), userinfo
 * ignored, lowercased, one trailing dot removed. Because the tool that finally uses the
 * string may run a different URL parser, a URL is refused unless the host it spells out
 * between `//` and the path is, character for character, the host the parser found: this
 * shuts out parser-differential tricks (`http://good.com\@evil.com`, tabs or newlines inside
 * the host, percent-encoded or full-width host names, `0x7f.1` style IPv4 spellings).
 */

export const DOMAIN_PATTERN_MAX_LENGTH = 255;

export type HostResult = { ok: true; host: string } | { ok: false; reason: string };

const LABEL = /^[a-z0-9_-]{1,63}$/;
// Characters that the WHATWG parser strips or reinterprets but other parsers may not.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const AMBIGUOUS = /[\u0000-\u0020\u007f\\]/;
const SCHEME_AND_SLASHES = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** WHATWG "ends in a number": such a host is parsed as an IPv4 address. */
function endsInNumber(host: string): boolean {
  const labels = host.split(".");
  if (labels[labels.length - 1] === "" && labels.length > 1) labels.pop();
  const last = labels[labels.length - 1] ?? "";
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || endsInNumber(host);
}

/** Lowercase and drop one trailing dot (`EXAMPLE.com.` → `example.com`). */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function whatwgHostname(host: string): string | null {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return null;
  }
}

function hostNameProblem(host: string): string | null {
  if (host.length > 253) return "host name must be at most 253 characters";
  for (const label of host.split(".")) {
    if (!LABEL.test(label)) return "labels must be 1-63 characters of a-z, 0-9, '-' or '_'";
  }
  return null;
}

/** Why `pattern` is not a valid domain pattern, or null when it is. */
export function domainPatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > DOMAIN_PATTERN_MAX_LENGTH)
    return `must be at most ${DOMAIN_PATTERN_MAX_LENGTH} characters`;
  if (!/^[\u0020-\u007e]*$/.test(pattern)) {
    return "must be ASCII: write internationalized domain names in punycode (xn--…)";
  }
  if (pattern !== pattern.toLowerCase()) return "must be lowercase";
  if (pattern === "*")
    return 'a bare "*" is not a domain pattern (leave domain_allowlist null for no constraint)';
  if (pattern.endsWith(".")) return "must not end with a dot";
  if (pattern.includes("://") || /[/?#@]/.test(pattern)) return "must be a host name, not a URL";
  if (pattern.startsWith("*.")) {
    const suffix = pattern.slice(2);
    if (suffix.includes("*")) return 'only one leading "*." wildcard is allowed';
    if (isIpLiteral(suffix) || suffix.includes(":")) return "a wildcard cannot apply to an IP address";
    return hostNameProblem(suffix);
  }
  if (pattern.includes("*")) return 'the only wildcard is a leading "*." label (as in "*.example.com")';
  if (pattern.startsWith("[") || pattern.includes(":")) {
    const canonical = whatwgHostname(pattern.startsWith("[") ? pattern : `[${pattern}]`);
    if (canonical === null || !pattern.startsWith("[")) {
      return canonical === null
        ? "is not a valid IPv6 address"
        : `write IPv6 addresses in brackets: ${canonical}`;
    }
    return canonical === pattern ? null : `write this IPv6 address in canonical form: ${canonical}`;
  }
  if (endsInNumber(pattern)) {
    const canonical = whatwgHostname(pattern);
    if (canonical === null) return "is not a valid IPv4 address";
    return canonical === pattern ? null : `write this IPv4 address in canonical form: ${canonical}`;
  }
  return hostNameProblem(pattern);
}

/** Whether a normalized host matches one domain pattern. */
export function matchDomainPattern(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return host === pattern;
  const suffix = pattern.slice(1);
  if (host.length <= suffix.length || !host.endsWith(suffix)) return false;
  if (isIpLiteral(host)) return false;
  const prefix = host.slice(0, host.length - suffix.length);
  return prefix.split(".").every((label) => label.length > 0);
}

/** Whether a normalized host matches any pattern of the allowlist. */
export function hostAllowed(allowlist: readonly string[], host: string): boolean {
  return allowlist.some((pattern) => matchDomainPattern(pattern, host));
}

/** The normalized host of an absolute URL string, or why none can be trusted. */
export function hostFromUrl(raw: string): HostResult {
  if (raw.length > 8192) return { ok: false, reason: "is longer than 8192 characters" };
  if (AMBIGUOUS.test(raw))
    return { ok: false, reason: "contains whitespace, a control character or a backslash" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not an absolute URL" };
  }
  if (url.hostname === "") return { ok: false, reason: "has no host" };
  if (!SCHEME_AND_SLASHES.test(raw)) return { ok: false, reason: 'must spell its host after "scheme://"' };
  const afterSlashes = raw.slice(raw.indexOf("//") + 2);
  const authority = afterSlashes.split(/[/?#]/, 1)[0] ?? "";
  const hostAndPort = authority.slice(authority.lastIndexOf("@") + 1);
  const written = hostAndPort.startsWith("[")
    ? hostAndPort.slice(0, hostAndPort.indexOf("]") + 1)
    : hostAndPort.split(":", 1)[0];
  if (written?.toLowerCase() !== url.hostname.toLowerCase()) {
    return {
      ok: false,
      reason: `spells its host differently from how it parses (${JSON.stringify(url.hostname)})`,
    };
  }
  const host = normalizeHost(url.hostname);
  // Opaque hosts of non-special schemes may carry `*`, `%` and such: no real host has them.
  if (!host.startsWith("[") && !/^[a-z0-9._-]+$/.test(host)) {
    return { ok: false, reason: "has a host with characters no DNS name contains" };
  }
  return { ok: true, host };
}

/**
 * The normalized host of a tool's registered upstream (`api.example.com`,
 * `api.example.com:8443`, `[::1]:8080`, `::1`); the port is not part of the constraint.
 */
export function hostFromUpstream(upstream: string): HostResult {
  if (/[/?#@]/.test(upstream)) return { ok: false, reason: "is not a valid host" };
  const bare =
    upstream.includes(":") &&
    !upstream.startsWith("[") &&
    upstream.indexOf(":") !== upstream.lastIndexOf(":");
  const parsed = hostFromUrl(`http://${bare ? `[${upstream}]` : upstream}/`);
  return parsed.ok ? parsed : { ok: false, reason: "is not a valid host" };
}
