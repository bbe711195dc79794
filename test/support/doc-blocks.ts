/**
 * Documentation that is itself a test: find the one `sh` block of a section that makes the
 * signed call, and run it with bash (with the `seal-gateway` alias the README defines) against
 * a real gateway, so the document and the product cannot drift apart.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, MAIN } from "../cli/process.js";

/** The section's sh block containing `seal-gateway call` (exactly one, or it throws). */
export function callBlock(doc: string, heading: string, what: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${what} has no "${heading}" section`);
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const calls = blocks.filter((b) => b.includes("seal-gateway call"));
  if (calls.length !== 1)
    throw new Error(`expected exactly one sh block with "seal-gateway call", found ${calls.length}`);
  return calls[0] ?? "";
}

export interface BashResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `block` (plus an optional epilogue) to a script in `cwd` and runs it with bash. */
export function runDocBlock(
  block: string,
  env: Record<string, string>,
  cwd: string,
  epilogue = "",
): Promise<BashResult> {
  const script = join(cwd, "walkthrough.sh");
  writeFileSync(
    script,
    `set -euo pipefail\nshopt -s expand_aliases\nalias seal-gateway=${JSON.stringify(`node ${MAIN}`)}\n${block}\n${epilogue}`,
  );
  return new Promise((resolve) => {
    const proc = spawn("bash", [script], { env: cleanEnv(env), cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
