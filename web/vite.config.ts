import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The console ships as static files in dist/web, served by src/http/static.ts under a strict
// CSP: no inline script or style, nothing from another origin, so nothing here may add any.
const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [preact({ prerender: { enabled: false } })],
  publicDir: "public",
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // Inlined assets would become data: URLs in CSS or scripts; keep every asset a file.
    assetsInlineLimit: 0,
    // The polyfill is injected as script; modern browsers need none.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
