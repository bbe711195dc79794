/**
 * The `tracing` section: its defaults (off), the SEAL_GATEWAY_TRACING_* overrides, and every bad
 * value refused at load with its path — never echoing a collector header's value.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProblems, type LoadConfigResult, loadConfig } from "../../src/config/load.js";

const dir = mkdtempSync(join(tmpdir(), "seal-config-tracing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fromEnv = (env: Record<string, string>) => loadConfig({ env, cwd: dir });
function fromYaml(text: string): LoadConfigResult {
  const file = join(dir, `t-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadConfig({ env: {}, cwd: dir, configPath: file });
}
function tracingOf(r: LoadConfigResult) {
  if (!r.ok) throw new Error(formatProblems(r.problems));
  return r.config.tracing;
}
function pathsOf(r: LoadConfigResult): string[] {
  if (r.ok) throw new Error("expected problems, got a config");
  return r.problems.map((p) => p.path);
}

describe("config: tracing", () => {
  it("is off by default, with the documented defaults", () => {
    expect(tracingOf(fromEnv({}))).toEqual({
      enabled: false,
      otlp_endpoint: "http://127.0.0.1:4318/v1/traces",
      service_name: "seal-gateway",
      sample_ratio: 1,
      headers: {},
      propagate_upstream: true,
      export_timeout_ms: 10_000,
      batch_delay_ms: 1000,
    });
  });

  it("takes every field from SEAL_GATEWAY_TRACING_* variables", () => {
    expect(
      tracingOf(
        fromEnv({
          SEAL_GATEWAY_TRACING_ENABLED: "true",
          SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: "https://collector.internal:4318/v1/traces",
          SEAL_GATEWAY_TRACING_SERVICE_NAME: "gw-eu-1",
          SEAL_GATEWAY_TRACING_SAMPLE_RATIO: "0.25",
          SEAL_GATEWAY_TRACING_HEADERS: '{"x-api-key":"collector-key"}',
          SEAL_GATEWAY_TRACING_PROPAGATE_UPSTREAM: "false",
          SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS: "2500",
          SEAL_GATEWAY_TRACING_BATCH_DELAY_MS: "30000",
        }),
      ),
    ).toEqual({
      enabled: true,
      otlp_endpoint: "https://collector.internal:4318/v1/traces",
      service_name: "gw-eu-1",
      sample_ratio: 0.25,
      headers: { "x-api-key": "collector-key" },
      propagate_upstream: false,
      export_timeout_ms: 2500,
      batch_delay_ms: 30_000,
    });
  });

  it("accepts the boundaries of the ranges", () => {
    for (const [ratio, timeout] of [
      ["0", "100"],
      ["1", "60000"],
    ] as const) {
      const t = tracingOf(
        fromEnv({
          SEAL_GATEWAY_TRACING_SAMPLE_RATIO: ratio,
          SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS: timeout,
        }),
      );
      expect([t.sample_ratio, t.export_timeout_ms]).toEqual([Number(ratio), Number(timeout)]);
    }
  });

  it.each([
    ["SEAL_GATEWAY_TRACING_SAMPLE_RATIO", "1.01", "tracing.sample_ratio"],
    ["SEAL_GATEWAY_TRACING_SAMPLE_RATIO", "-0.1", "tracing.sample_ratio"],
    ["SEAL_GATEWAY_TRACING_SAMPLE_RATIO", "half", "tracing.sample_ratio"],
    ["SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS", "99", "tracing.export_timeout_ms"],
    ["SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS", "60001", "tracing.export_timeout_ms"],
    ["SEAL_GATEWAY_TRACING_EXPORT_TIMEOUT_MS", "1.5", "tracing.export_timeout_ms"],
    ["SEAL_GATEWAY_TRACING_BATCH_DELAY_MS", "99", "tracing.batch_delay_ms"],
    ["SEAL_GATEWAY_TRACING_BATCH_DELAY_MS", "300001", "tracing.batch_delay_ms"],
    ["SEAL_GATEWAY_TRACING_OTLP_ENDPOINT", "ftp://collector/v1/traces", "tracing.otlp_endpoint"],
    ["SEAL_GATEWAY_TRACING_OTLP_ENDPOINT", "collector:4318", "tracing.otlp_endpoint"],
    ["SEAL_GATEWAY_TRACING_SERVICE_NAME", "", "tracing.service_name"],
    ["SEAL_GATEWAY_TRACING_ENABLED", "yes please", "tracing.enabled"],
    ["SEAL_GATEWAY_TRACING_HEADERS", "[1]", "tracing.headers"],
  ])("refuses %s=%j at %s", (name, value, path) => {
    expect(pathsOf(fromEnv({ [name]: value }))).toContain(path);
  });

  it("refuses a collector header that is not a header, without echoing its value", () => {
    const bad = fromYaml(
      [
        "tracing:",
        "  headers:",
        '    "bad name": ok',
        '    x-api-key: "collector-secret-value\\r\\nx-injected: 1"',
        '    x-empty: ""',
        "",
      ].join("\n"),
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const text = formatProblems(bad.problems);
    expect(text).toContain("tracing.headers");
    expect(bad.problems.length).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain("collector-secret-value");
  });

  it("refuses an unknown key (a misspelt setting must not leave tracing at its default)", () => {
    expect(pathsOf(fromYaml("tracing:\n  endpoint: http://127.0.0.1:4318/v1/traces\n")).join()).toMatch(
      /^tracing/,
    );
  });
});
