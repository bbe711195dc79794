import { defineConfig } from "vitest/config";

// For running this folder alone while the shared global setup's dist/ build is broken by
// work in progress elsewhere: PostgreSQL only, no tsc build (these tests do not use dist/).
// biome-ignore lint/style/noDefaultExport: vitest reads a config file's default export
export default defineConfig({
  test: {
    include: ["test/pipeline/**/*.test.ts"],
    globalSetup: ["test/pipeline/pg-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
