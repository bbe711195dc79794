import { lookup } from "node:dns/promises";
import type { AllowNetworks } from "./allow-networks.js";
import { classifyIp } from "./classify.js";
import { egressDenied } from "./egress-errors.js";
import { formatIp, type IpAddress, parseIp, unmapIpv4 } from "./ip-address.js";

/** Answers every address a name resolves to (A and AAAA), in the resolver's order. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
};

/** The one address a request will connect to, already checked. */
export interface PinnedAddress {
  ip: IpAddress;
  /** Canonical text; the only form ever handed to the socket layer. */
  address: string;
  family: 4 | 6;
}

function judge(ip: IpAddress, allow: AllowNetworks): { ok: true } | { ok: false; range: string } {
  const target = unmapIpv4(ip);
  const verdict = classifyIp(target);
  if (verdict.global || allow.contains(target)) return { ok: true };
  return { ok: false, range: verdict.range ?? "unknown" };
}

/**
 * Checks every answer and pins the first. Any answer that is refused refuses the whole host:
 * otherwise a name answering one public and one internal address would reach the internal one
 * whenever the resolver (or the connect fallback) picked it.
 */
export function checkAddresses(
  host: string,
  answers: readonly string[],
  allow: AllowNetworks,
): PinnedAddress {
  if (answers.length === 0) throw egressDenied("resolution_failed", host);
  let pinned: PinnedAddress | null = null;
  for (const answer of answers) {
    const parsed = typeof answer === "string" ? parseIp(answer) : null;
    if (parsed === null) throw egressDenied("address_not_allowed", host, { range: "invalid" });
    const verdict = judge(parsed, allow);
    if (!verdict.ok) throw egressDenied("address_not_allowed", host, { range: verdict.range });
    if (pinned === null) {
      const ip = unmapIpv4(parsed);
      pinned = { ip, address: formatIp(ip), family: ip.family };
    }
  }
  if (pinned === null) throw egressDenied("resolution_failed", host);
  return pinned;
}

/**
 * Resolves `host` (unless it is an IP literal) and checks the answers. Resolution is raced
 * against `signal` because getaddrinfo cannot be cancelled and may hang.
 */
export async function resolveDestination(
  host: string,
  resolver: Resolver,
  allow: AllowNetworks,
  signal: AbortSignal,
): Promise<PinnedAddress> {
  const literal = parseIp(host);
  if (literal !== null) return checkAddresses(host, [host], allow);
  let answers: unknown;
  try {
    answers = await raceAbort(resolver(host), signal);
  } catch {
    if (signal.aborted) throw signal.reason;
    throw egressDenied("resolution_failed", host);
  }
  if (!Array.isArray(answers)) throw egressDenied("resolution_failed", host);
  return checkAddresses(host, answers as string[], allow);
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
