import { defineConfig } from "vitest/config";

// For running the HTTP suites alone, without the repository-wide global setup (full build).
// biome-ignore lint/style/noDefaultExport: vitest reads its configuration from the default export.
export default defineConfig({
  test: {
    include: ["test/http/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
