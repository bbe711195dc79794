import { defineConfig } from "vitest/config";

// Runs the policy suites alone: they are pure and need none of the global setup (PostgreSQL, build).
// biome-ignore lint/style/noDefaultExport: vitest loads the config through its default export
export default defineConfig({
  test: {
    include: ["test/policy/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
