import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import type { MiddlewareHandler } from "hono";
import { packageRoot } from "../paths.js";

/**
 * The web console: the static files `vite build` wrote to dist/web, served at `/`. It is a
 * client of the public API and nothing else, so this module only hands out files.
 *
 * Files are read once, at start, into a fixed table: a request can only ever name one of
 * them, so no path from the URL reaches the file system. GETs of other non-API paths get
 * index.html (the console routes in the browser); API paths are never answered here.
 */

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/** First path segments that belong to the API and operations, never to the console. */
const API_SEGMENTS = new Set(["v1", "mcp", "health", "ready", "metrics", "openapi.json"]);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

interface StaticFile {
  body: Uint8Array;
  type: string;
  etag: string;
  /** Vite names files under assets/ by content hash, so they never change under one name. */
  immutable: boolean;
}

/** Shown when dist/web was not built (a checkout that ran only tsc). */
const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SEAL gateway</title></head>
<body><h1>SEAL gateway</h1><p>The web console is not built. Run <code>npm run build</code>.</p></body></html>
`;

export function isApiPath(path: string): boolean {
  const first = path.split("/", 2)[1] ?? "";
  // Case-folded, so /V1/... is kept away from the console as well.
  return API_SEGMENTS.has(first.toLowerCase());
}

function file(body: Uint8Array, type: string, immutable: boolean): StaticFile {
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  return { body, type, etag, immutable };
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

/** The console's files by URL path; `/` is index.html. Exported for tests. */
export function loadConsoleFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (existsSync(join(root, "index.html"))) {
    for (const full of walk(root)) {
      const type = TYPES[extname(full).toLowerCase()];
      if (!type) continue; // source maps and anything unexpected stay unserved
      const path = `/${relative(root, full).split(sep).join("/")}`;
      files.set(path, file(readFileSync(full), type, path.startsWith("/assets/")));
    }
  }
  const index = files.get("/index.html") ?? file(Buffer.from(NOT_BUILT), TYPES[".html"] ?? "", false);
  files.set("/", index);
  files.set("/index.html", index);
  return files;
}

export function staticConsole(opts: { root?: string } = {}): MiddlewareHandler {
  const files = loadConsoleFiles(opts.root ?? join(packageRoot(), "dist", "web"));
  const index = files.get("/");
  return async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    if ((method !== "GET" && method !== "HEAD") || isApiPath(path)) return await next();
    let f = files.get(path);
    // A missing asset or file name is a 404, not the page: a script tag must never get HTML.
    if (!f && !path.startsWith("/assets/") && !/\.[A-Za-z0-9]+$/.test(path)) f = index;
    if (!f) return await next();
    const headers: Record<string, string> = {
      "content-type": f.type,
      "cache-control": f.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      etag: f.etag,
      "content-security-policy": CONSOLE_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      "cross-origin-opener-policy": "same-origin",
    };
    if (c.req.header("if-none-match") === f.etag) return new Response(null, { status: 304, headers });
    return new Response(method === "HEAD" ? null : f.body, { status: 200, headers });
  };
}
