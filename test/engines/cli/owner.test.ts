/**
 * The owner label: a container's owner is "gone" only when that is provable — same host and
 * boot, and no process with that pid and start time — never for this process, another host or
 * boot, or a label that does not parse.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { ownerGone, ownerLabel } from "../../../src/engines/cli/owner.js";

function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

describe("ownerGone", () => {
  const label = ownerLabel();
  const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

  it("names this process as host/boot/pid/start", () => {
    expect(label).toBe(`${hostname()}/${boot}/${process.pid}/${startOf(process.pid)}`);
    expect(ownerGone(label ?? "")).toBe(false);
  });

  it("is true for a process of this host that has exited, false while it runs", async () => {
    const child = spawn("sleep", ["30"]);
    const pid = child.pid ?? 0;
    const theirs = `${hostname()}/${boot}/${pid}/${startOf(pid)}`;
    expect(ownerGone(theirs)).toBe(false);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(ownerGone(theirs)).toBe(true);
  });

  it("is true for a reused pid (another start time), false for other hosts, boots and junk", () => {
    expect(ownerGone(`${hostname()}/${boot}/${process.pid}/1`)).toBe(true);
    expect(ownerGone(`elsewhere/${boot}/999999/1`)).toBe(false);
    expect(ownerGone(`${hostname()}/00000000-0000-0000-0000-000000000000/999999/1`)).toBe(false);
    for (const junk of [undefined, "", "a/b/c", `${hostname()}/${boot}/-1/1`, `${hostname()}/${boot}/x/1`]) {
      expect(ownerGone(junk)).toBe(false);
    }
  });
});
