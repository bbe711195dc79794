/**
 * DNS-rebinding protection for the MCP endpoints (DESIGN §7): a web page on another site can
 * make a browser POST to a gateway on loopback, so the Host must be one the gateway is meant
 * to be reached by, and an Origin, when a browser sent one, must be listed (`http://host:*`
 * for any port). Clients outside browsers send no Origin. `"*"` turns a check off.
 */

export interface OriginPolicy {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

/** The Host header's name without its port (`[::1]:8089` → `::1`), lower-cased. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") < 0 ? undefined : h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

export function checkOrigin(
  policy: OriginPolicy,
  headers: { host: string | undefined; origin: string | undefined },
): { ok: true } | { ok: false; reason: "host_not_allowed" | "origin_not_allowed" } {
  if (!policy.allowedHosts.includes("*")) {
    const allowed = policy.allowedHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, ""));
    if (!headers.host || !allowed.includes(hostName(headers.host)))
      return { ok: false, reason: "host_not_allowed" };
  }
  if (headers.origin !== undefined && !policy.allowedOrigins.includes("*")) {
    const origin = headers.origin.toLowerCase();
    if (!policy.allowedOrigins.some((o) => originMatches(o.toLowerCase(), origin)))
      return { ok: false, reason: "origin_not_allowed" };
  }
  return { ok: true };
}

/** Exact, or `scheme://host:*` for any port of that host (loopback pages on changing ports). */
function originMatches(entry: string, origin: string): boolean {
  if (!entry.endsWith(":*")) return entry === origin;
  const base = entry.slice(0, -2);
  return (
    origin === base || (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1)))
  );
}
