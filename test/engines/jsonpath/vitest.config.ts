import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Runs the JSONPath tests alone, without the suite's global setup (PostgreSQL, tsc build), which
 * they do not need: `npx vitest run --config test/engines/jsonpath/vitest.config.ts`.
 */
// biome-ignore lint/style/noDefaultExport: vitest loads a config file's default export.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../../..", import.meta.url)),
    include: ["test/engines/jsonpath/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
