import { defineConfig } from "drizzle-kit";

// biome-ignore lint/style/noDefaultExport: drizzle-kit loads the config from the default export.
export default defineConfig({
  dialect: "sqlite",
  schema: "./drizzle/sqlite/schema.ts",
  out: "./drizzle/sqlite/migrations",
  strict: true,
});
