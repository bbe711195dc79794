import { defineConfig } from "vitest/config";

// For running this folder alone: PostgreSQL up once, no dist/ build (the README walk-through
// runs dist/src/main.js, which the repository-wide global setup builds; run `npm run build`
// first when using this file).
// biome-ignore lint/style/noDefaultExport: vitest reads a config file's default export
export default defineConfig({
  test: {
    include: ["test/rest-tools/**/*.test.ts"],
    globalSetup: ["test/pipeline/pg-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
