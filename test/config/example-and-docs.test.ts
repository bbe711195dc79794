import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envTable } from "../../src/config/env-overrides.js";
import { loadConfig } from "../../src/config/load.js";
import { GatewayConfig, GatewayConfigShape } from "../../src/config/schema.js";

const root = join(import.meta.dirname, "..", "..");
const example = readFileSync(join(root, "config", "seal-gateway.example.yaml"), "utf8");
const docs = readFileSync(join(root, "docs", "configuration.md"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "seal-config-example-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string) {
  const file = join(dir, "example.yaml");
  writeFileSync(file, text);
  return loadConfig({ env: {}, cwd: dir, configPath: file });
}

describe("config/seal-gateway.example.yaml", () => {
  const defaults = GatewayConfig.parse({});

  it("loads as-is to the built-in defaults", () => {
    const result = load(example);
    expect(result.ok && result.config).toEqual(defaults);
  });

  it("states the real defaults: uncommenting every setting changes nothing", () => {
    const uncommented = example
      .split("\n")
      .map((line) => (line.startsWith("# ") ? line.slice(2) : line))
      .join("\n");
    expect(uncommented).toMatch(/^server:$/m);
    const result = load(uncommented);
    expect(result.ok ? result.config : result.problems).toEqual(defaults);
  });

  it("mentions every key", () => {
    for (const leaf of envTable(GatewayConfigShape).values()) {
      const key = leaf.path[leaf.path.length - 1] ?? "";
      expect(example, key).toMatch(new RegExp(`^#+ +${key}:`, "m"));
    }
  });
});

describe("docs/configuration.md", () => {
  it("documents every key and every environment variable name", () => {
    for (const [name, leaf] of envTable(GatewayConfigShape)) {
      expect(docs, name).toContain(`\`${name}\``);
      expect(docs, leaf.path.join(".")).toContain(`\`${leaf.path.join(".")}\``);
    }
  });
});
