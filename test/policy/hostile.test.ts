import { describe, expect, it } from "vitest";
import { SecurityContext } from "../../src/policy/context-schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { normalizePath } from "../../src/policy/paths.js";

// Matching is linear in practice and polynomial at worst: hostile inputs must stay fast.
describe("hostile inputs", () => {
  it("evaluates a large context against a call full of pathological paths quickly", () => {
    const capabilities = Array.from({ length: 8 }, (_, c) => ({
      tool_pattern: "fs.*",
      path_allowlist: [
        ...Array.from({ length: 32 }, (_, i) => `/w/**/${"a*".repeat(15)}b${c}-${i}/**/x`),
        `/w/**/${"a*".repeat(15)}b/**/x`,
      ],
    }));
    const ctx = SecurityContext.parse({ name: "big", capabilities });
    // Each path, 250 segments deep, passes only the last glob of each capability, after all
    // the others failed on it; the very last path fails everywhere.
    const deep = (i: number) => `/w/p${i}/${"aaaaaaaaaaaaa/".repeat(245)}${"a".repeat(15)}b/x`;
    const args = { paths: [...Array.from({ length: 255 }, (_, i) => deep(i)), "/w/a/x"] };
    expect(normalizePath(deep(0))).toMatchObject({ ok: true });
    const started = performance.now();
    const decision = evaluate(ctx, { toolName: "fs.read", arguments: args });
    const elapsed = performance.now() - started;
    expect(decision).toMatchObject({ decision: "reject", code: "PATH_DENIED", rule: "capabilities[7]" });
    expect(elapsed).toBeLessThan(2000);
  });

  it("evaluates a call with many URLs against a long domain list quickly", () => {
    const domains = Array.from({ length: 1024 }, (_, i) => `*.d${i}.example.com`);
    const ctx = SecurityContext.parse({
      name: "web",
      capabilities: Array.from({ length: 16 }, () => ({ tool_pattern: "*", domain_allowlist: domains })),
    });
    const urls = Array.from({ length: 256 }, (_, i) => `https://${"a.".repeat(100)}d${i}.example.com/`);
    const started = performance.now();
    expect(evaluate(ctx, { toolName: "web.get", arguments: { urls } }).decision).toBe("allow");
    urls.push("https://evil.example.com/");
    expect(evaluate(ctx, { toolName: "web.get", arguments: { urls: urls.slice(1) } }).code).toBe(
      "DOMAIN_DENIED",
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
