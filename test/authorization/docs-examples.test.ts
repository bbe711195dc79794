/**
 * The examples in docs/security-model.md are executable: every fenced block tagged
 * `json context` is registered through the API, and the `json decisions` block that follows it
 * (`[{tool, arguments, decision, code, rule}]`) is checked through the dry-run endpoint.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

interface Expected {
  tool: string;
  arguments: Record<string, unknown>;
  decision: "allow" | "escalate" | "reject";
  code: number | null;
  rule: string;
}
interface Example {
  line: number;
  context: { name: string } & Record<string, unknown>;
  decisions: Expected[];
}

const DOC = join(packageRoot(), "docs", "security-model.md");

interface Fence {
  info: string;
  text: string;
  line: number;
  section: string;
}

/** Fenced blocks with their info string, start line and enclosing `## ` section. */
function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  const lines = markdown.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const open = /^```(.*)$/.exec(line);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j] ?? "")) body.push(lines[j++] ?? "");
    if (j >= lines.length) throw new Error(`unclosed fence at line ${i + 1}`);
    out.push({ info: (open[1] ?? "").trim(), text: body.join("\n"), line: i + 1, section });
    i = j;
  }
  return out;
}

/** Pairs every `json context` block with the `json decisions` block right after it. */
function examples(markdown: string): Example[] {
  const all = fences(markdown);
  const out: Example[] = [];
  for (let i = 0; i < all.length; i++) {
    const f = all[i];
    if (!f) continue;
    if (f.info === "json decisions") {
      const prev = all[i - 1];
      if (prev?.info !== "json context")
        throw new Error(`line ${f.line}: a decisions block must follow a context block`);
      continue;
    }
    if (f.info !== "json context") continue;
    const next = all[i + 1];
    if (next?.info !== "json decisions")
      throw new Error(`line ${f.line}: a context block needs a json decisions block after it`);
    out.push({ line: f.line, context: JSON.parse(f.text), decisions: JSON.parse(next.text) });
  }
  return out;
}

const markdown = readFileSync(DOC, "utf8");
const EXAMPLES = examples(markdown);

describe("docs/security-model.md examples: extraction", () => {
  it("finds the examples under ## Security contexts, each with decisions of every kind", () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(2);
    const tagged = fences(markdown).filter(
      (f) => f.info.startsWith("json context") || f.info.startsWith("json decisions"),
    );
    expect(
      tagged.every((f) => f.section === "Security contexts"),
      "example blocks belong under ## Security contexts",
    ).toBe(true);
    const names = EXAMPLES.map((e) => e.context.name);
    expect(new Set(names).size, "example context names must be distinct").toBe(names.length);
    const kinds = new Set(EXAMPLES.flatMap((e) => e.decisions.map((d) => d.decision)));
    expect([...kinds].sort()).toEqual(["allow", "escalate", "reject"]);
    for (const e of EXAMPLES) {
      expect(e.decisions.length, `example at line ${e.line}`).toBeGreaterThan(0);
      for (const d of e.decisions) {
        expect(Object.keys(d).sort(), `line ${e.line}`).toEqual([
          "arguments",
          "code",
          "decision",
          "rule",
          "tool",
        ]);
        expect(d.decision === "reject" ? typeof d.code : d.code, `line ${e.line} ${d.tool}`).toBe(
          d.decision === "reject" ? "number" : null,
        );
      }
    }
  });

  it("the extractor refuses a context without decisions and stray decisions", () => {
    expect(() => examples('```json context\n{"name":"a","capabilities":[]}\n```\n')).toThrow(/decisions/);
    expect(() => examples("```json decisions\n[]\n```\n")).toThrow(/follow/);
    expect(() => examples("```json context\n{}\n")).toThrow(/unclosed/);
  });
});

describe.each(BACKENDS)("docs/security-model.md examples: decisions (%s)", (backend) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  for (const example of EXAMPLES) {
    it(`${example.context.name} (line ${example.line}) is valid and decides as documented`, async () => {
      const admin = t.adminToken();
      await expectJson(
        await t.request("/v1/security-contexts", jsonInit("POST", example.context, admin)),
        201,
      );
      for (const d of example.decisions) {
        const got = await expectJson<{ decision: string; code: number | null; rule: string; reason: string }>(
          await t.request(
            `/v1/security-contexts/${example.context.name}/evaluate`,
            jsonInit("POST", { tool: d.tool, arguments: d.arguments }, t.operatorToken("viewer")),
          ),
          200,
        );
        expect(
          { decision: got.decision, code: got.code, rule: got.rule },
          `${d.tool} ${JSON.stringify(d.arguments)}: ${got.reason}`,
        ).toEqual({
          decision: d.decision,
          code: d.code,
          rule: d.rule,
        });
      }
    });
  }
});
