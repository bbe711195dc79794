import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const SDK_DIR = new URL("../../src/sdk/", import.meta.url);

describe("the SDK is client-side code", () => {
  const files = readdirSync(SDK_DIR).filter((f) => f.endsWith(".ts"));

  it("has an index and its modules", () => {
    expect(files).toContain("index.ts");
    expect(files.length).toBeGreaterThan(3);
  });

  for (const file of files) {
    it(`${file} imports nothing from the gateway`, () => {
      const source = readFileSync(new URL(file, SDK_DIR), "utf8");
      const specifiers = [...source.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g)].map(
        (m) => m[1] ?? m[2],
      );
      for (const spec of specifiers) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/[a-z-]+\.js|node:[a-z]+|@noble\/ed25519)$/);
      }
    });
  }

  it("the index re-exports by name, not with export *", () => {
    expect(readFileSync(new URL("index.ts", SDK_DIR), "utf8")).not.toMatch(/export \*/);
  });
});
