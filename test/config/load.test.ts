import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadConfigResult, Problem } from "../../src/config/load.js";
import { formatProblems, loadConfig } from "../../src/config/load.js";

const MASTER_KEY = Buffer.alloc(32, 3).toString("base64");

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "seal-config-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function ok(result: LoadConfigResult) {
  if (!result.ok) throw new Error(`expected ok, got:\n${formatProblems(result.problems)}`);
  return result;
}

function failed(result: LoadConfigResult): Problem[] {
  if (result.ok) throw new Error("expected problems, got a config");
  return result.problems;
}

describe("loadConfig: sources", () => {
  it("uses built-in defaults with nothing set", () => {
    const result = ok(loadConfig({ env: {}, cwd: dir }));
    expect(result.file).toBeNull();
    expect(result.config.server.port).toBe(8089);
    expect(result.config.server.host).toBe("127.0.0.1");
    expect(result.config.database.url).toBe("sqlite://./data/gateway.db");
    expect(result.config.dev_mode).toBe(true);
  });

  it("reads ./seal-gateway.yaml from cwd when present", () => {
    const file = write("seal-gateway.yaml", "server:\n  port: 9100\n");
    const result = ok(loadConfig({ env: {}, cwd: dir }));
    expect(result.file).toBe(file);
    expect(result.config.server.port).toBe(9100);
  });

  it("prefers configPath over SEAL_GATEWAY_CONFIG over ./seal-gateway.yaml", () => {
    write("seal-gateway.yaml", "server:\n  port: 1\n");
    write("from-env.yaml", "server:\n  port: 2\n");
    write("explicit.yaml", "server:\n  port: 3\n");
    const env = { SEAL_GATEWAY_CONFIG: "from-env.yaml" };
    expect(ok(loadConfig({ env, cwd: dir, configPath: "explicit.yaml" })).config.server.port).toBe(3);
    expect(ok(loadConfig({ env, cwd: dir })).config.server.port).toBe(2);
    expect(ok(loadConfig({ env: {}, cwd: dir })).config.server.port).toBe(1);
  });

  it("treats a named file that does not exist as a problem", () => {
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "missing.yaml" }));
    expect(problems).toEqual([
      { path: "(config file)", message: `${join(dir, "missing.yaml")}: file not found` },
    ]);
    const viaEnv = failed(loadConfig({ env: { SEAL_GATEWAY_CONFIG: join(dir, "nope.yaml") }, cwd: dir }));
    expect(viaEnv[0]?.message).toMatch(/nope\.yaml: file not found$/);
  });

  it("refuses a directory given as the config file", () => {
    mkdirSync(join(dir, "sub"));
    expect(failed(loadConfig({ env: {}, cwd: dir, configPath: "sub" }))[0]?.message).toMatch(
      /is not a file$/,
    );
  });

  it("reads an empty file as defaults", () => {
    write("empty.yaml", "# nothing yet\n");
    expect(ok(loadConfig({ env: {}, cwd: dir, configPath: "empty.yaml" })).config.log.level).toBe("info");
  });
});

describe("loadConfig: YAML problems", () => {
  it("reports syntax errors with their line", () => {
    write("bad.yaml", "server:\n  port: 1\n  host: [a, b\nlog:\n  level: info\n");
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "bad.yaml" }));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.path).toBe("(config file)");
    expect(problems[0]?.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
  });

  it("still reports variable typos when the file does not parse", () => {
    write("broken.yaml", "server: [\n");
    const problems = failed(
      loadConfig({ env: { SEAL_GATEWAY_SERVR_PORT: "1" }, cwd: dir, configPath: "broken.yaml" }),
    );
    expect(problems.map((p) => p.path)).toEqual(["(config file)", "SEAL_GATEWAY_SERVR_PORT"]);
  });

  it("locates a missing key at the nearest enclosing value in the file", () => {
    const file = write("issuer.yaml", "seal:\n  issuers:\n    - issuer: kc\n");
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "issuer.yaml" }));
    expect(problems).toEqual([
      { path: "seal.issuers.0.jwks_url", message: "set one of jwks_url or public_key", source: `${file}:3` },
    ]);
  });

  it("reports duplicate keys", () => {
    write("dup.yaml", "server:\n  port: 1\n  port: 2\n");
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "dup.yaml" }));
    expect(problems[0]?.message).toMatch(/line 3, column 3: .*unique/);
  });

  it("refuses a top level that is not a mapping", () => {
    write("list.yaml", "- a\n- b\n");
    expect(failed(loadConfig({ env: {}, cwd: dir, configPath: "list.yaml" }))[0]?.message).toBe(
      "the top level must be a mapping of sections",
    );
  });

  it("refuses an alias bomb instead of expanding it", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 12; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    write("bomb.yaml", `${lines.join("\n")}\n`);
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "bomb.yaml" }));
    expect(problems.length).toBeGreaterThan(0);
  });

  it("refuses a __proto__ key as an unknown key rather than changing a prototype", () => {
    write("proto.yaml", "__proto__:\n  dev_mode: false\nserver:\n  __proto__:\n    port: 1\n");
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "proto.yaml" }));
    expect(problems.map((p) => p.path).sort()).toEqual(["__proto__", "server.__proto__"]);
  });
});

describe("loadConfig: every problem at once", () => {
  it("reports three bad fields as three problems with paths and file lines", () => {
    write(
      "three.yaml",
      ["server:", "  port: 70000", "seal:", "  freshness_seconds: 61", "log:", "  level: loud", ""].join(
        "\n",
      ),
    );
    const problems = failed(loadConfig({ env: {}, cwd: dir, configPath: "three.yaml" }));
    expect(problems.map((p) => [p.path, p.source])).toEqual([
      ["server.port", `${join(dir, "three.yaml")}:2`],
      ["seal.freshness_seconds", `${join(dir, "three.yaml")}:4`],
      ["log.level", `${join(dir, "three.yaml")}:6`],
    ]);
  });

  it("reports unknown keys with their path and a suggestion, alongside env and interpolation problems", () => {
    write("unknown.yaml", "server:\n  prot: 1\nsecrets:\n  master_key: env:NOT_SET_ANYWHERE\nextra: true\n");
    const problems = failed(
      loadConfig({ env: { SEAL_GATEWAY_PROT: "1" }, cwd: dir, configPath: "unknown.yaml" }),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual([
      "SEAL_GATEWAY_PROT: unknown configuration variable (did you mean SEAL_GATEWAY_PORT?)",
      "extra: unknown key",
      "secrets.master_key: environment variable NOT_SET_ANYWHERE is not set",
      'server.prot: unknown key (did you mean "port"?)',
    ]);
  });

  it("formats one line per problem", () => {
    expect(
      formatProblems([
        { path: "server.port", message: "Too big", source: "env SEAL_GATEWAY_PORT" },
        { path: "log.level", message: "bad" },
      ]),
    ).toBe("server.port: Too big (env SEAL_GATEWAY_PORT)\nlog.level: bad");
  });
});

describe("loadConfig: environment", () => {
  it("lets environment overrides win over the file", () => {
    write("seal-gateway.yaml", "server:\n  port: 9100\n  host: 0.0.0.0\nseal:\n  freshness_seconds: 20\n");
    const env = { SEAL_GATEWAY_SEAL_FRESHNESS_SECONDS: "45", SEAL_GATEWAY_SERVER_PORT: "9200" };
    const { config } = ok(loadConfig({ env, cwd: dir }));
    expect(config.seal.freshness_seconds).toBe(45);
    expect(config.server.port).toBe(9200);
    expect(config.server.host).toBe("0.0.0.0");
  });

  it("honours the pinned short names", () => {
    const env = {
      SEAL_GATEWAY_HOST: "0.0.0.0",
      SEAL_GATEWAY_PORT: "8443",
      SEAL_GATEWAY_DATA_DIR: "/tmp/x",
      SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8,::1/128",
      SEAL_GATEWAY_MASTER_KEY: MASTER_KEY,
    };
    const { config } = ok(loadConfig({ env, cwd: dir }));
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.server.port).toBe(8443);
    expect(config.data_dir).toBe("/tmp/x");
    expect(config.database.url).toBe("sqlite:///tmp/x/gateway.db");
    expect(config.egress.allow_networks).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(config.secrets.master_key).toBe(MASTER_KEY);
    const withUrl = ok(loadConfig({ env: { SEAL_GATEWAY_DATABASE_URL: "postgres://db/gw" }, cwd: dir }));
    expect(withUrl.config.database.url).toBe("postgres://db/gw");
  });

  it("derives the database url from the final data_dir (file value overridden by env)", () => {
    write("seal-gateway.yaml", "data_dir: ./from-file\n");
    const fromFile = ok(loadConfig({ env: {}, cwd: dir }));
    expect(fromFile.config.database.url).toBe("sqlite://./from-file/gateway.db");
    const fromEnv = ok(loadConfig({ env: { SEAL_GATEWAY_DATA_DIR: "state" }, cwd: dir }));
    expect(fromEnv.config.database.url).toBe("sqlite://./state/gateway.db");
  });

  it("splits lists on commas", () => {
    const { config } = ok(loadConfig({ env: { SEAL_GATEWAY_SEAL_ALGORITHMS: "EdDSA, ES256" }, cwd: dir }));
    expect(config.seal.algorithms).toEqual(["EdDSA", "ES256"]);
  });

  it("validates overridden values and attributes the problem to the variable", () => {
    const problems = failed(
      loadConfig({
        env: { SEAL_GATEWAY_SEAL_ALGORITHMS: "EdDSA,none", SEAL_GATEWAY_PORT: "99999" },
        cwd: dir,
      }),
    );
    expect(problems.map((p) => [p.path, p.source])).toEqual([
      ["server.port", "env SEAL_GATEWAY_PORT"],
      ["seal.algorithms.1", "env SEAL_GATEWAY_SEAL_ALGORITHMS"],
    ]);
  });

  it("ignores SEAL_GATEWAY_TEST_ variables and reports other unknown ones", () => {
    expect(loadConfig({ env: { SEAL_GATEWAY_TEST_ANYTHING: "x" }, cwd: dir }).ok).toBe(true);
    expect(failed(loadConfig({ env: { SEAL_GATEWAY_LOG: "debug" }, cwd: dir }))).toEqual([
      { path: "SEAL_GATEWAY_LOG", message: "unknown configuration variable" },
    ]);
  });

  it("does not read process.env when an env is passed", () => {
    process.env.SEAL_GATEWAY_TYPO_FROM_PROCESS = "1";
    try {
      expect(loadConfig({ env: {}, cwd: dir }).ok).toBe(true);
      expect(loadConfig({ cwd: dir }).ok).toBe(false);
    } finally {
      delete process.env.SEAL_GATEWAY_TYPO_FROM_PROCESS;
    }
  });
});

describe("loadConfig: env:VAR interpolation", () => {
  it("replaces env:NAME values and converts them to the key's type", () => {
    write(
      "interp.yaml",
      [
        "dev_mode: env:DEV",
        "server:",
        "  port: env:PORT",
        "  host: 'env:HOST'",
        "secrets:",
        "  master_key: env:MK",
        "egress:",
        "  allow_networks: env:NETS",
        "seal:",
        "  issuers:",
        "    - issuer: kc",
        "      jwks_url: env:JWKS",
        "judge:",
        "  url: not-env:JUDGE",
        "",
      ].join("\n"),
    );
    const env = {
      DEV: "false",
      PORT: "7000",
      HOST: "10.0.0.5",
      MK: MASTER_KEY,
      NETS: "10.0.0.0/8",
      JWKS: "https://kc/certs",
    };
    const result = loadConfig({ env, cwd: dir, configPath: "interp.yaml" });
    // "not-env:JUDGE" is not a reference and is not a URL either.
    expect(failed(result).map((p) => p.path)).toEqual(["judge.url"]);
    writeFileSync(
      join(dir, "interp.yaml"),
      "judge:\n  url: env:JUDGE\ndev_mode: env:DEV\nserver:\n  port: env:PORT\n",
    );
    const { config } = ok(
      loadConfig({
        env: { ...env, JUDGE: "http://judge:8080/v1", SEAL_GATEWAY_MASTER_KEY: MASTER_KEY },
        cwd: dir,
        configPath: "interp.yaml",
      }),
    );
    expect(config.judge.url).toBe("http://judge:8080/v1");
    expect(config.dev_mode).toBe(false);
    expect(config.server.port).toBe(7000);
  });

  it("interpolates every field it meets, including list items", () => {
    write("items.yaml", "egress:\n  allow_networks: [env:NET_A, 192.168.0.0/16]\n");
    const { config } = ok(loadConfig({ env: { NET_A: "127.0.0.0/8" }, cwd: dir, configPath: "items.yaml" }));
    expect(config.egress.allow_networks).toEqual(["127.0.0.0/8", "192.168.0.0/16"]);
  });

  it("reports a missing variable at its path, naming the variable", () => {
    write("missing.yaml", "database:\n  url: env:DB_URL\nsecrets:\n  master_key: env:MK\n");
    const problems = failed(loadConfig({ env: { MK: MASTER_KEY }, cwd: dir, configPath: "missing.yaml" }));
    expect(problems).toEqual([
      { path: "database.url", message: "environment variable DB_URL is not set", source: "env:DB_URL" },
    ]);
  });

  it("never puts an interpolated or master-key value into a message", () => {
    const secret = Buffer.alloc(31, 0x42).toString("base64");
    write("secret.yaml", "dev_mode: false\nsecrets:\n  master_key: env:MK\nserver:\n  port: env:P\n");
    const problems = failed(
      loadConfig({ env: { MK: secret, P: "not-a-port-secret" }, cwd: dir, configPath: "secret.yaml" }),
    );
    const text = formatProblems(problems);
    expect(problems.map((p) => p.path)).toEqual(["server.port", "secrets.master_key"]);
    expect(text).toMatch(/secrets\.master_key: must be base64 of exactly 32 bytes/);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(0, 10));
    expect(text).not.toContain("not-a-port-secret");
  });

  it("never echoes a wrong master key given through SEAL_GATEWAY_MASTER_KEY", () => {
    const secret = Buffer.alloc(33, 0x61).toString("base64");
    const problems = failed(loadConfig({ env: { SEAL_GATEWAY_MASTER_KEY: secret }, cwd: dir }));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.source).toBe("env SEAL_GATEWAY_MASTER_KEY");
    expect(formatProblems(problems)).not.toContain(secret.slice(0, 10));
  });
});

describe("loadConfig: production mode", () => {
  it("refuses dev_mode false without a master key", () => {
    const problems = failed(loadConfig({ env: { SEAL_GATEWAY_DEV_MODE: "false" }, cwd: dir }));
    expect(problems.map((p) => p.path)).toEqual(["secrets.master_key"]);
  });

  it("starts with dev_mode false and a master key", () => {
    const env = { SEAL_GATEWAY_DEV_MODE: "false", SEAL_GATEWAY_MASTER_KEY: MASTER_KEY };
    expect(ok(loadConfig({ env, cwd: dir })).config.dev_mode).toBe(false);
  });
});
