/**
 * deploy/prometheus/seal-gateway-alerts.yaml, the alerts docs/operations.md tells operators to
 * set, checked three ways:
 *
 * - `promtool check rules` (the Prometheus project's own tool) accepts the file;
 * - `promtool test rules`: for every alert, series that must make it fire (after its `for`, not
 *   before) and series that must leave it quiet;
 * - every metric and label an expression names is one the gateway registers (read from a real
 *   `GatewayMetrics` registry), so a renamed metric cannot leave an alert that never fires;
 * - the table in docs/operations.md shows the file's expressions, one for one.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { packageRoot } from "../../src/paths.js";
import { promtoolPath } from "./metrics-support.js";

const RULES = join(packageRoot(), "deploy", "prometheus", "seal-gateway-alerts.yaml");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);

interface Scenario {
  /** Series that make the alert fire. */
  firing: Record<string, string>;
  /** When it must not have fired yet (inside its `for`), and when it must be firing. */
  pendingAt?: string;
  firingAt: string;
  /** The labels the firing alert carries besides its own (those an aggregation keeps). */
  labels?: Record<string, string>;
  /** Series of the same metrics that must leave it quiet at `firingAt`. */
  quiet: Record<string, string>;
}

const I = 'instance="gw-1",job="seal-gateway"';
const SCENARIOS: Record<string, Scenario> = {
  SealGatewaySealerStuck: {
    firing: { [`seal_gateway_audit_oldest_unsealed_age_seconds{${I}}`]: "0 120x15" },
    pendingAt: "3m",
    firingAt: "8m",
    labels: { instance: "gw-1", job: "seal-gateway" },
    quiet: { [`seal_gateway_audit_oldest_unsealed_age_seconds{${I}}`]: "0 30x15" },
  },
  SealGatewayStoreUnavailable: {
    firing: {
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="none",status="error",stage="authenticate",code="5030"}`]:
        "0+2x10",
    },
    firingAt: "6m",
    quiet: {
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="none",status="error",stage="authenticate",code="5030"}`]:
        "3x10",
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="workflow",status="success",stage="done",code="none"}`]:
        "0+50x10",
    },
  },
  SealGatewayErrorRatio: {
    firing: {
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="workflow",status="error",stage="authorize",code="3000"}`]:
        "0+30x25",
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="workflow",status="success",stage="done",code="none"}`]:
        "0+60x25",
    },
    pendingAt: "8m",
    firingAt: "18m",
    quiet: {
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="workflow",status="error",stage="authorize",code="3000"}`]:
        "0+1x25",
      [`seal_gateway_calls_total{${I},transport="http",tool_kind="workflow",status="success",stage="done",code="none"}`]:
        "0+60x25",
    },
  },
  SealGatewayUpstreamFailing: {
    firing: {
      [`seal_gateway_upstream_request_duration_seconds_count{${I},method="GET",status_class="5xx"}`]:
        "0+60x10",
    },
    firingAt: "6m",
    quiet: {
      [`seal_gateway_upstream_request_duration_seconds_count{${I},method="GET",status_class="2xx"}`]:
        "0+600x10",
    },
  },
  SealGatewayContainerCleanupFailing: {
    firing: { [`seal_gateway_container_removals_total{${I},result="error"}`]: "0 0 1 1 1 1" },
    firingAt: "4m",
    labels: { instance: "gw-1", job: "seal-gateway", result: "error" },
    quiet: {
      [`seal_gateway_container_removals_total{${I},result="error"}`]: "2x6",
      [`seal_gateway_container_removals_total{${I},result="ok"}`]: "0+5x6",
    },
  },
  SealGatewayCredentialBackendFailing: {
    firing: {
      [`seal_gateway_credential_resolutions_total{${I},path="StaticRef",outcome="backend_error"}`]: "0+1x25",
    },
    pendingAt: "8m",
    firingAt: "18m",
    quiet: { [`seal_gateway_credential_resolutions_total{${I},path="StaticRef",outcome="ok"}`]: "0+100x25" },
  },
  SealGatewayDbPoolSaturated: {
    firing: {
      [`seal_gateway_db_operations_in_flight{${I}}`]: "25x15",
      [`seal_gateway_db_pool_size{${I}}`]: "10x15",
    },
    pendingAt: "3m",
    firingAt: "8m",
    labels: { instance: "gw-1", job: "seal-gateway" },
    quiet: {
      [`seal_gateway_db_operations_in_flight{${I}}`]: "15x15",
      [`seal_gateway_db_pool_size{${I}}`]: "10x15",
    },
  },
  SealGatewayEventLoopBlocked: {
    firing: { [`nodejs_eventloop_lag_p99_seconds{${I}}`]: "0.5x15" },
    pendingAt: "3m",
    firingAt: "8m",
    labels: { instance: "gw-1", job: "seal-gateway" },
    quiet: { [`nodejs_eventloop_lag_p99_seconds{${I}}`]: "0.02x15" },
  },
  SealGatewayMetricsBlind: {
    firing: { [`seal_gateway_metrics_db_read_failures_total{${I}}`]: "0 0 1 1 1" },
    firingAt: "4m",
    labels: { instance: "gw-1", job: "seal-gateway" },
    quiet: { [`seal_gateway_metrics_db_read_failures_total{${I}}`]: "0x5" },
  },
};

const work = mkdtempSync(join(tmpdir(), "seal-alerts-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtool(args: string[]) {
  const r = spawnSync(promtoolPath(), args, { encoding: "utf8", cwd: work });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A promtool unit-test file for the scenarios, written beside a copy of the rules. */
function unitTests(scenarios: Record<string, Scenario>): string {
  writeFileSync(join(work, "rules.yaml"), readFileSync(RULES, "utf8"));
  const tests = Object.entries(scenarios).flatMap(([alertname, s]) => {
    const rule = rules.find((r) => r.alert === alertname);
    if (!rule) throw new Error(`no rule ${alertname}`);
    const series = (set: Record<string, string>) =>
      Object.entries(set).map(([series, values]) => ({ series, values }));
    const firing = {
      exp_labels: { ...rule.labels, ...(s.labels ?? {}) },
      exp_annotations: rule.annotations,
    };
    return [
      {
        name: `${alertname} fires`,
        interval: "1m",
        input_series: series(s.firing),
        alert_rule_test: [
          ...(s.pendingAt ? [{ eval_time: s.pendingAt, alertname, exp_alerts: [] }] : []),
          { eval_time: s.firingAt, alertname, exp_alerts: [firing] },
        ],
      },
      {
        name: `${alertname} stays quiet`,
        interval: "1m",
        input_series: series(s.quiet),
        alert_rule_test: [{ eval_time: s.firingAt, alertname, exp_alerts: [] }],
      },
    ];
  });
  const file = join(work, "rules.test.yaml");
  writeFileSync(file, stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
  return file;
}

describe("the alerting rules operators are told to set", () => {
  it("pass `promtool check rules`", () => {
    const r = promtool(["check", "rules", RULES]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("each fire on their condition, after their `for`, and stay quiet otherwise (`promtool test rules`)", () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(rules.map((r) => r.alert).sort());
    const r = promtool(["test", "rules", unitTests(SCENARIOS)]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
    expect(r.out).not.toMatch(/FAILED/);
    if (process.env.SEAL_SHOW_PROMTOOL) console.log(r.out);
  });

  it("and the unit tests can fail: a quiet case that fires, or a wrong expectation, is reported", () => {
    const broken: Record<string, Scenario> = {
      SealGatewaySealerStuck: {
        ...(SCENARIOS.SealGatewaySealerStuck as Scenario),
        quiet: { [`seal_gateway_audit_oldest_unsealed_age_seconds{${I}}`]: "0 600x15" },
      },
    };
    const r = promtool(["test", "rules", unitTests(broken)]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/SealGatewaySealerStuck/);
  });

  it("name only metrics and labels the gateway registers", async () => {
    const m = new GatewayMetrics({
      now: () => 0,
      db: {
        replayRecords: async () => 0,
        unsealed: async () => ({ count: 0, oldestCreatedAt: null }),
        poolSize: 1,
      },
    });
    const registered = new Map<string, Set<string>>();
    for (const metric of m.registry.getMetricsAsArray()) {
      const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
      const labels = new Set(labelNames ?? []);
      registered.set(name, labels);
      // A histogram's series: NAME_count, NAME_sum, NAME_bucket (with le).
      for (const suffix of ["_count", "_sum", "_bucket"]) registered.set(`${name}${suffix}`, labels);
    }
    const selector = /\b((?:seal_gateway|nodejs)_[a-z0-9_]+)(?:\{([^}]*)\})?/g;
    let seen = 0;
    for (const rule of rules) {
      for (const match of rule.expr.matchAll(selector)) {
        const [, name = "", matchers = ""] = match;
        seen++;
        expect(registered.has(name), `${rule.alert}: ${name} is not a registered metric`).toBe(true);
        for (const [, label] of matchers.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g))
          expect(registered.get(name)?.has(label ?? ""), `${rule.alert}: ${name} has no label ${label}`).toBe(
            true,
          );
      }
    }
    expect(seen).toBeGreaterThanOrEqual(rules.length);
    await m.render(); // the registry renders with these metrics, as /metrics does
  });

  it("are the ones docs/operations.md shows, expression for expression", () => {
    const doc = readFileSync(join(packageRoot(), "docs", "operations.md"), "utf8");
    const table = doc.slice(doc.indexOf("### Alerts to set"));
    const shown = [...table.matchAll(/^\| (SealGateway\w+) \| `([^`]+)`(?: for (\w+))? \|/gm)].map(
      ([, alert, expr, forDuration]) => ({ alert, expr: expr?.replaceAll("\\|", "|"), for: forDuration }),
    );
    expect(shown).toEqual(rules.map((r) => ({ alert: r.alert, expr: r.expr, for: r.for })));
  });
});
