import { defineConfig } from "vitest/config";

// For running this folder alone: PostgreSQL up once, no dist/ build (only the multi-process
// suite needs dist/, built by the repository-wide global setup).
// biome-ignore lint/style/noDefaultExport: vitest reads a config file's default export
export default defineConfig({
  test: {
    include: ["test/authorization/**/*.test.ts"],
    globalSetup: ["test/pipeline/pg-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
