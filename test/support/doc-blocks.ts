/**
 * Documentation that is itself a test: find the one `sh` block of a section that makes the
 * signed call, and run it with bash against a real gateway, so the document and the product
 * cannot drift apart. `seal-gateway` and `npx seal-gateway` run this build (dist/src/main.js)
 * from whatever folder the block runs in; the packed bin itself is tested in test/cli/package.test.ts.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, MAIN } from "../cli/process.js";

/** The fenced blocks of one language in a `## ` section, in order (throws when it has none). */
export function sectionBlocks(doc: string, heading: string, lang: string, what: string): string[] {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${what} has no "${heading}" section`);
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map(
    (m) => m[1] ?? "",
  );
  if (blocks.length === 0) throw new Error(`${what} "${heading}" has no ${lang} block`);
  return blocks;
}

/** The section's sh block containing `seal-gateway call` (exactly one, or it throws). */
export function callBlock(doc: string, heading: string, what: string): string {
  const blocks = sectionBlocks(doc, heading, "sh", what);
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
    [
      "set -euo pipefail",
      "shopt -s expand_aliases",
      `alias seal-gateway=${JSON.stringify(`node ${MAIN}`)}`,
      `npx() { if [ "$1" = seal-gateway ]; then shift; node ${JSON.stringify(MAIN)} "$@"; else command npx "$@"; fi; }`,
      block,
      epilogue,
    ].join("\n"),
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
