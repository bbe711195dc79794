import { defineConfig } from "drizzle-kit";

// biome-ignore lint/style/noDefaultExport: drizzle-kit loads the config from the default export.
export default defineConfig({
  dialect: "postgresql",
  schema: "./drizzle/pg/schema.ts",
  out: "./drizzle/pg/migrations",
  strict: true,
});
