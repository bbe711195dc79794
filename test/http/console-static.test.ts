import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_CSP, isApiPath, staticConsole } from "../../src/http/static.js";
import { packageRoot } from "../../src/paths.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { bearer } from "./support.js";

/**
 * The web console's static files: security headers on every file, cache rules, the
 * index.html fallback for console paths only, and never a file for an API path.
 */

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function expectSecurityHeaders(res: Response) {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(k), k).toBe(v);
}

describe("the console served by the gateway", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway("sqlite");
  });
  afterAll(async () => {
    await t?.close();
  });

  it("serves index.html at / with the strict CSP, nosniff, no-referrer and no-cache", async () => {
    const res = await t.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expectSecurityHeaders(res);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(await res.text()).toMatch(/<!doctype html>/i);
    expect(CONSOLE_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  });

  it("answers console paths with index.html, for GET and HEAD only", async () => {
    const index = await (await t.request("/")).text();
    for (const path of ["/approvals", "/events/12", "/executions/ses_abc", "/no/such/page"]) {
      const res = await t.request(path);
      expect(res.status, path).toBe(200);
      expectSecurityHeaders(res);
      expect(await res.text(), path).toBe(index);
    }
    const head = await t.request("/sessions", { method: "HEAD" });
    expect(head.status).toBe(200);
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await t.request("/approvals", { method });
      expect(res.status, method).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });

  it("never answers an API or operations path with a console file", async () => {
    const paths = [
      "/v1",
      "/v1/",
      "/v1/nothing-here",
      "/v1/events/stream/extra",
      "/V1/events",
      "/v1/seal/sessions/x/y/z",
      "/mcp",
      "/mcp/x",
      "/metrics",
      "/openapi.json",
      "/health/x",
      "/ready/",
    ];
    for (const path of paths) {
      const res = await t.request(path, { headers: bearer(t.adminToken()) });
      expect(res.headers.get("content-type") ?? "", path).not.toMatch(/text\/html/);
      expect(res.headers.get("content-security-policy"), path).toBeNull();
      if (res.status === 404) expect(((await res.json()) as { status: string }).status).toBe("error");
    }
    // The API itself still answers as before.
    expect((await t.request("/health")).headers.get("content-type")).toMatch(/^application\/json/);
    expect((await t.request("/v1/events")).status).toBe(401);
    expect((await t.request("/v1/events", { headers: bearer(t.adminToken()) })).status).toBe(200);
  });

  it("serves no file outside the built console, whatever the path says", async () => {
    for (const path of [
      "/package.json",
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/..%2f..%2fpackage.json",
      "/src/http/static.ts",
      "/assets/missing-abc123.js",
      "/favicon.ico",
    ]) {
      const res = await t.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('"name": "seal-gateway"');
    }
  });

  it("classifies API paths by their first segment, case-insensitively", () => {
    expect(isApiPath("/v1/events")).toBe(true);
    expect(isApiPath("/V1/events")).toBe(true);
    expect(isApiPath("/mcp")).toBe(true);
    expect(isApiPath("/v1x")).toBe(false);
    expect(isApiPath("/events")).toBe(false);
    expect(isApiPath("/")).toBe(false);
  });
});

describe("cache rules of built files", () => {
  const root = mkdtempSync(join(tmpdir(), "seal-web-"));
  const app = new Hono();
  beforeAll(() => {
    mkdirSync(join(root, "assets"));
    writeFileSync(
      join(root, "index.html"),
      '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>',
    );
    writeFileSync(join(root, "assets", "app-1a2b.js"), "console.log(1)");
    writeFileSync(join(root, "assets", "app-1a2b.js.map"), "{}");
    writeFileSync(join(root, "assets", "app-1a2b.css"), "body{}");
    writeFileSync(join(root, "favicon.svg"), "<svg/>");
    app.use("*", staticConsole({ root }));
    app.notFound((c) => c.json({ status: "error" }, 404));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("marks hashed assets immutable for a year and everything else no-cache", async () => {
    const js = await app.request("/assets/app-1a2b.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expectSecurityHeaders(js);
    const css = await app.request("/assets/app-1a2b.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    for (const path of ["/", "/index.html", "/favicon.svg", "/sessions"])
      expect((await app.request(path)).headers.get("cache-control"), path).toBe("no-cache");
  });

  it("answers a matching ETag with 304, and never serves source maps", async () => {
    const first = await app.request("/");
    const etag = first.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await app.request("/", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expectSecurityHeaders(again);
    expect((await app.request("/assets/app-1a2b.js.map")).status).toBe(404);
  });
});

describe("the console's sources", () => {
  const web = join(packageRoot(), "web");
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) =>
      statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)],
    );

  it("render no raw HTML, keep no token in localStorage or a URL, and evaluate no strings", () => {
    for (const f of files(join(web, "src"))) {
      const text = readFileSync(f, "utf8");
      for (const banned of [
        "dangerouslySetInnerHTML",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "localStorage.",
        "eval(",
        "new Function",
        "access_token",
        "new EventSource",
      ])
        expect(text.includes(banned), `${f} uses ${banned}`).toBe(false);
    }
  });

  it("load scripts from files only (no inline script for the CSP to refuse)", () => {
    const html = readFileSync(join(web, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/[^"]+"/);
      expect(body?.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });
});
