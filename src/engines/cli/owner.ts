/**
 * Which gateway process owns a container: `host/boot/pid/start`, set as a label at creation.
 * A crashed gateway (kill -9) leaves its running containers behind; the reaper of the gateway
 * that replaces it can prove the owner is gone — same host and boot, and no process with that
 * pid and start time — and remove them at once instead of waiting for their deadline. Where
 * that cannot be proved (another host, /proc unreadable) the deadline rule alone applies.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

interface Owner {
  host: string;
  boot: string;
  pid: number;
  start: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null when no such process. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[19] ?? null;
}

let self: Owner | null | undefined;

function currentOwner(): Owner | null {
  if (self !== undefined) return self;
  const boot = readText("/proc/sys/kernel/random/boot_id");
  const start = startTime(process.pid);
  self = boot && start ? { host: hostname(), boot, pid: process.pid, start } : null;
  return self;
}

/** The label value naming this process, or null where it cannot be named provably. */
export function ownerLabel(): string | null {
  const o = currentOwner();
  return o ? `${o.host}/${o.boot}/${o.pid}/${o.start}` : null;
}

function parse(label: string): Owner | null {
  const parts = label.split("/");
  if (parts.length !== 4) return null;
  const [host, boot, pid, start] = parts as [string, string, string, string];
  const n = Number(pid);
  if (!host || !boot || !start || !Number.isInteger(n) || n <= 0) return null;
  return { host, boot, pid: n, start };
}

/** True only when the owner is provably gone: same host and boot, its process no longer there. */
export function ownerGone(label: string | undefined): boolean {
  if (label === undefined) return false;
  const owner = parse(label);
  const me = currentOwner();
  if (!owner || !me || owner.host !== me.host || owner.boot !== me.boot) return false;
  if (owner.pid === me.pid && owner.start === me.start) return false;
  return startTime(owner.pid) !== owner.start;
}
