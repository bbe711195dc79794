/**
 * The measuring decorators forward every call unchanged and count it under bounded labels:
 * upstream requests by method and status class, container runs by outcome, credential
 * resolutions by path variant and outcome, store operations in flight.
 */
import { describe, expect, it } from "vitest";
import type { CredentialResolver } from "../../src/credentials/types.js";
import type { EgressClient } from "../../src/egress/types.js";
import { type ContainerRuntime, RuntimeError } from "../../src/engines/cli/runtime.js";
import { GatewayError } from "../../src/errors.js";
import {
  credentialPathLabel,
  instrumentCredentials,
  instrumentEgress,
  instrumentRuntime,
  instrumentStore,
} from "../../src/metrics/instrument.js";
import { GatewayMetrics, methodLabel, statusClass } from "../../src/metrics/metrics.js";
import type { Store } from "../../src/store/types.js";
import { counterSum, family, parseMetrics, parseSamples } from "./metrics-support.js";

function metrics() {
  return new GatewayMetrics({
    now: () => 0,
    db: {
      replayRecords: async () => 0,
      unsealed: async () => ({ count: 0, oldestCreatedAt: null }),
      poolSize: 1,
    },
  });
}

async function samples(m: GatewayMetrics, name: string) {
  return family(parseSamples((await m.render()).body), name);
}

describe("label values", () => {
  it("maps methods, statuses and credential paths onto fixed sets", () => {
    expect(methodLabel("get")).toBe("GET");
    expect(methodLabel("PROPFIND")).toBe("OTHER");
    expect(methodLabel("x".repeat(1000))).toBe("OTHER");
    expect(statusClass(204)).toBe("2xx");
    expect(statusClass(599)).toBe("5xx");
    expect(statusClass(600)).toBe("other");
    expect(statusClass(-1)).toBe("other");
    expect(credentialPathLabel(null)).toBe("none");
    expect(credentialPathLabel({ StaticRef: { key: "k" } })).toBe("StaticRef");
    expect(credentialPathLabel({ "agent-supplied-name": {} })).toBe("other");
    expect(credentialPathLabel({ StaticRef: {}, Auto: {} })).toBe("other");
    expect(credentialPathLabel(["StaticRef"])).toBe("other");
    expect(credentialPathLabel("StaticRef")).toBe("other");
  });
});

describe("instrumentEgress", () => {
  it("times answers by status class and failures as error, and passes both through", async () => {
    const m = metrics();
    const boom = new GatewayError("UPSTREAM_ERROR", "down", { reason: "connect" });
    let fail = false;
    const inner: EgressClient = {
      request: async () => {
        if (fail) throw boom;
        return { status: 503, headers: {}, body: Buffer.from("x"), url: "http://u.example/" };
      },
      close: () => undefined,
    };
    const egress = instrumentEgress(inner, m);
    expect(
      (await egress.request({ method: "post", url: "http://u.example/", allowedHosts: ["u.example"] }))
        .status,
    ).toBe(503);
    fail = true;
    await expect(
      egress.request({ method: "GET", url: "http://u.example/?token=s3cr3t", allowedHosts: [] }),
    ).rejects.toBe(boom);
    const counts = await samples(m, "seal_gateway_upstream_request_duration_seconds_count");
    expect(counterSum(counts, { method: "POST", status_class: "5xx" })).toBe(1);
    expect(counterSum(counts, { method: "GET", status_class: "error" })).toBe(1);
    expect((await m.render()).body).not.toContain("s3cr3t");
  });
});

describe("instrumentRuntime", () => {
  it("forwards every method of the port, the optional pull included, and adds none", async () => {
    const called: string[] = [];
    const methods = [
      "ping",
      "imageExists",
      "pull",
      "create",
      "attach",
      "start",
      "wait",
      "kill",
      "remove",
      "listByLabel",
      "inspect",
    ] as const;
    const inner = Object.fromEntries(
      methods.map((name) => [
        name,
        async (...args: unknown[]) => {
          called.push(`${name}:${JSON.stringify(args.slice(0, 1))}`);
          return name === "wait" ? { exitCode: 0 } : undefined;
        },
      ]),
    ) as unknown as ContainerRuntime;
    const rt = instrumentRuntime(inner, metrics()) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    expect(Object.keys(rt).sort()).toEqual([...methods].sort());
    for (const name of methods) await rt[name]?.("x", "y");
    // Each reached the adapter, with its first argument (ping takes none).
    expect(called).toEqual(methods.map((name) => `${name}:${name === "ping" ? "[]" : '["x"]'}`));
    // Without pull on the adapter, the decorator has none either.
    const { pull: _pull, ...withoutPull } = inner as unknown as Record<string, unknown>;
    expect("pull" in instrumentRuntime(withoutPull as unknown as ContainerRuntime, metrics())).toBe(false);
  });

  it("counts starts and removals and times runs by outcome", async () => {
    const m = metrics();
    const exits: Array<() => Promise<{ exitCode: number }>> = [
      async () => ({ exitCode: 0 }),
      async () => ({ exitCode: 2 }),
      async () => {
        throw new RuntimeError("not_found", "removed");
      },
    ];
    const inner = {
      start: async () => undefined,
      wait: async () => (exits.shift() as () => Promise<{ exitCode: number }>)(),
      remove: async (id: string) => {
        if (id === "bad") throw new RuntimeError("failed", "engine error");
      },
    } as unknown as ContainerRuntime;
    const rt = instrumentRuntime(inner, m);
    for (const id of ["a", "b", "c"]) await rt.start(id);
    expect(await rt.wait("a")).toEqual({ exitCode: 0 });
    await rt.wait("b");
    await expect(rt.wait("c")).rejects.toThrow("removed");
    await rt.remove("a");
    await expect(rt.remove("bad")).rejects.toThrow("engine error");
    const text = (await m.render()).body;
    expect(Number(family(parseMetrics(text), "seal_gateway_container_starts_total").metrics[0]?.value)).toBe(
      3,
    );
    const runs = family(parseSamples(text), "seal_gateway_container_run_duration_seconds_count");
    for (const outcome of ["exit_zero", "exit_nonzero", "gone"])
      expect(counterSum(runs, { outcome })).toBe(1);
    const removals = family(parseMetrics(text), "seal_gateway_container_removals_total");
    expect(counterSum(removals, { result: "ok" })).toBe(1);
    expect(counterSum(removals, { result: "error" })).toBe(1);
  });
});

describe("instrumentCredentials", () => {
  it("counts by path variant and outcome, and passes the built-in store through", async () => {
    const m = metrics();
    const builtin = {} as NonNullable<CredentialResolver["builtin"]>;
    const inner: CredentialResolver = {
      builtin,
      obtain: async (input) => {
        if ("StaticRef" in (input.credentialPath as object))
          throw new GatewayError("CREDENTIAL_UNAVAILABLE", "no such key", { reason: "missing" });
        return { value: "v", release: async () => undefined };
      },
    };
    const creds = instrumentCredentials(inner, m);
    expect(creds.builtin).toBe(builtin);
    const base = { call: {} as never, signal: new AbortController().signal };
    await expect(creds.obtain({ ...base, credentialPath: { StaticRef: { key: "k" } } })).rejects.toThrow(
      "no such key",
    );
    expect((await creds.obtain({ ...base, credentialPath: { UserBound: { provider: "p" } } })).value).toBe(
      "v",
    );
    const c = family(parseMetrics((await m.render()).body), "seal_gateway_credential_resolutions_total");
    expect(counterSum(c, { path: "StaticRef", outcome: "credential_unavailable" })).toBe(1);
    expect(counterSum(c, { path: "UserBound", outcome: "ok" })).toBe(1);
    expect(counterSum(c, {})).toBe(2);
  });
});

describe("instrumentStore", () => {
  it("counts operations in flight, sync and async, thrown and rejected", async () => {
    const m = metrics();
    let release: () => void = () => undefined;
    const inner = {
      dialect: "sqlite",
      slow: () => new Promise<number>((r) => (release = () => r(1))),
      fails: async () => {
        throw new Error("db down");
      },
      throws: () => {
        throw new Error("sync");
      },
    } as unknown as Store;
    const store = instrumentStore(inner, m) as unknown as Record<string, () => Promise<unknown>> & {
      dialect: string;
    };
    expect(store.dialect).toBe("sqlite");
    const inFlight = async () =>
      Number(
        family(parseMetrics((await m.render()).body), "seal_gateway_db_operations_in_flight").metrics[0]
          ?.value,
      );
    const pending = store.slow?.();
    expect(await inFlight()).toBe(1);
    release();
    expect(await pending).toBe(1);
    await expect(store.fails?.()).rejects.toThrow("db down");
    expect(() => store.throws?.()).toThrow("sync");
    expect(await inFlight()).toBe(0);
  });
});

describe("database gauges", () => {
  it("keep their last values when the database does not answer, count the failure, and the scrape answers", async () => {
    let now = 0;
    let down = false;
    const m = new GatewayMetrics({
      now: () => now,
      refreshMs: 1000,
      db: {
        replayRecords: async () => {
          if (down) throw new Error("connection refused");
          return 42;
        },
        unsealed: async () => ({ count: 3, oldestCreatedAt: -2000 }),
        poolSize: 4,
      },
    });
    const read = async () => parseMetrics((await m.render()).body);
    let f = await read();
    expect(family(f, "seal_gateway_replay_records").metrics[0]?.value).toBe("42");
    expect(family(f, "seal_gateway_audit_oldest_unsealed_age_seconds").metrics[0]?.value).toBe("2");
    down = true;
    now = 5000;
    f = await read();
    expect(family(f, "seal_gateway_replay_records").metrics[0]?.value).toBe("42");
    expect(family(f, "seal_gateway_audit_unsealed_rows").metrics[0]?.value).toBe("3");
    expect(family(f, "seal_gateway_metrics_db_read_failures_total").metrics[0]?.value).toBe("1");
    expect(family(f, "seal_gateway_db_pool_size").metrics[0]?.value).toBe("4");
  });

  it("are read at most once per refresh interval, however often it is scraped", async () => {
    let reads = 0;
    let now = 0;
    const m = new GatewayMetrics({
      now: () => now,
      refreshMs: 1000,
      db: {
        replayRecords: async () => ++reads,
        unsealed: async () => ({ count: 0, oldestCreatedAt: null }),
        poolSize: 1,
      },
    });
    await Promise.all(Array.from({ length: 20 }, () => m.render()));
    expect(reads).toBe(1);
    now = 999;
    await m.render();
    expect(reads).toBe(1);
    now = 1000;
    await m.render();
    expect(reads).toBe(2);
  });
});
