/**
 * docs/policy.md, run as written: every `sh` block of the page, in order, with bash against a
 * REAL gateway process (the built CLI: apply, keygen, session create, call, context what-if,
 * context suggest, apply --dry-run). Each `text` block that follows an `sh` block must be what
 * that block printed (event and request ids shown as `…`), so the page's history is made by
 * this test and its quoted answers cannot drift from the product.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { runDocBlock } from "../support/doc-blocks.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { type GatewayProcess, runCli, startGateway, tempDir } from "./process.js";

const DOC = readFileSync(join(packageRoot(), "docs", "policy.md"), "utf8");

interface Block {
  lang: string;
  text: string;
}

function blocks(doc: string): Block[] {
  return [...doc.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] ?? "", text: m[2] ?? "" }));
}

/** Each sh block with the text block quoted right after it, if any. */
function steps(doc: string): { sh: string; shown: string | null }[] {
  const all = blocks(doc);
  const out: { sh: string; shown: string | null }[] = [];
  all.forEach((b, i) => {
    if (b.lang !== "sh") return;
    const next = all[i + 1];
    out.push({ sh: b.text, shown: next?.lang === "text" ? next.text.trimEnd() : null });
  });
  return out;
}

const normalize = (s: string) =>
  s
    .replace(/evt_[0-9A-Za-z_-]+/g, "evt_…")
    .replace(/request \S+/g, "request …")
    .trimEnd();

describe("docs/policy.md", () => {
  it("has a history block and quotes the answer of each question", () => {
    const s = steps(DOC);
    expect(s.length).toBe(4);
    expect(s.filter((x) => x.shown !== null).length).toBe(3);
    expect(DOC).toContain("npx seal-gateway context what-if notes-agent -f tighter.yaml --since 7d");
    expect(DOC).toContain("npx seal-gateway context suggest notes-agent --since 30d > suggested.yaml");
    expect(DOC).toContain("npx seal-gateway apply -f suggested.yaml --dry-run");
  });
});

describe.each(BACKENDS)("docs/policy.md against a real gateway process (%s)", (backend) => {
  const dir = tempDir("seal-policy-");
  const work = tempDir("seal-policy-work-");
  let gw: GatewayProcess;
  let drop: (() => Promise<void>) | null = null;
  const env: Record<string, string> = { SEAL_GATEWAY_DATA_DIR: dir };

  beforeAll(async () => {
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      env.SEAL_GATEWAY_DATABASE_URL = db.url;
      drop = db.drop;
    }
    gw = await startGateway({ env, cwd: dir });
  });
  afterAll(async () => {
    await gw?.kill();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("runs as written, and every quoted output is what the commands print", async () => {
    const s = steps(DOC);
    const script = s.map((step, i) => `echo "@@@ ${i}"\n${step.sh}`).join("\n");
    const r = await runDocBlock(script, { ...env, SEAL_GATEWAY_URL: gw.url }, work);
    const context = `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`;
    expect(r.code, context).toBe(0);
    const outputs = r.stdout.split(/^@@@ \d+\n/m).slice(1);
    expect(outputs.length, context).toBe(s.length);
    s.forEach((step, i) => {
      if (step.shown === null) return;
      expect(normalize(outputs[i] ?? ""), `block ${i}:\n${step.sh}`).toBe(step.shown);
    });
    // The history's refused call was refused.
    expect(outputs[0]).toContain("refused");
    // Every command of the page is a fresh CLI process: 16–18 s on Node 20 on a slow 2-core VM,
    // past vitest's default 20 s on Node 24 beside the suite's other process tests.
  }, 90_000);

  it("refuses bad usage (2), a bad candidate file (2, every problem) and an unknown context (1)", async () => {
    const cli = (args: string[]) =>
      runCli(["context", ...args], { env: { ...env, SEAL_GATEWAY_URL: gw.url }, cwd: work });
    expect((await cli([])).code).toBe(2);
    expect((await cli(["delete", "notes-agent"])).code).toBe(2);
    expect((await cli(["what-if", "notes-agent"])).code).toBe(2);
    expect((await cli(["what-if", "notes-agent", "-f", "tighter.yaml", "--output", "xml"])).code).toBe(2);
    writeFileSync(
      join(work, "bad.yaml"),
      "kind: SecurityContext\nname: notes-agent\nspec:\n  capabilities:\n    - tool_pattern: ''\n      bogus: 1\n",
    );
    const bad = await cli(["what-if", "notes-agent", "-f", "bad.yaml"]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain("tool_pattern");
    expect(bad.stderr).toContain("bogus");
    const other = await cli(["what-if", "other-agent", "-f", "tighter.yaml"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('no SecurityContext named "other-agent"');
    const unknown = await cli(["suggest", "no-such-agent"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("not found");
    const window = await cli([
      "suggest",
      "notes-agent",
      "--since",
      "2026-01-02T00:00:00Z",
      "--until",
      "2026-01-01T00:00:00Z",
    ]);
    expect(window.code).toBe(1);
    expect(window.stderr).toContain("since is after until");
    const json = await cli(["what-if", "notes-agent", "-f", "tighter.yaml", "--output", "json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      evaluated: 6,
      unchanged: 4,
      undecidable: 0,
      flipCount: 2,
    });
  });
});
