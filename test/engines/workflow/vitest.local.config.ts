// biome-ignore-all lint/style/noDefaultExport: vitest loads its config from a default export
import { defineConfig } from "vitest/config";

// Runs this folder's tests without the suite's global setup (PostgreSQL, build), which
// these tests do not need: `npx vitest run --config test/engines/workflow/vitest.local.config.ts`.
export default defineConfig({
  test: {
    root: new URL("../../..", import.meta.url).pathname,
    include: ["test/engines/workflow/**/*.test.ts"],
    testTimeout: 20_000,
    pool: "forks",
  },
});
