import { defineConfig } from "vitest/config";
// biome-ignore lint/style/noDefaultExport: temporary
export default defineConfig({ test: { include: ["test/cli/**/*.test.ts", "test/authorization/**/*.test.ts", "test/keys/**/*.test.ts", "test/crypto/**/*.test.ts", "test/config/**/*.test.ts", "test/store/**/*.test.ts"], globalSetup: ["test/pipeline/pg-setup.ts"], testTimeout: 30000, hookTimeout: 60000, pool: "forks" } });
