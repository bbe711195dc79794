import { describe, expect, it } from "vitest";
import { coerceText } from "../../src/config/coerce.js";
import { envNameFor, envTable, readEnvOverrides } from "../../src/config/env-overrides.js";
import { GatewayConfigShape } from "../../src/config/schema.js";
import { keysAt } from "../../src/config/schema-walk.js";

const table = envTable(GatewayConfigShape);

function pathOf(name: string): string | undefined {
  return table.get(name)?.path.join(".");
}

describe("envTable", () => {
  it("maps key paths containing underscores by walking the schema", () => {
    expect(pathOf("SEAL_GATEWAY_SEAL_FRESHNESS_SECONDS")).toBe("seal.freshness_seconds");
    expect(pathOf("SEAL_GATEWAY_SERVER_BODY_LIMIT_BYTES")).toBe("server.body_limit_bytes");
    expect(pathOf("SEAL_GATEWAY_AUDIT_PREAUTH_RATE_PER_MINUTE")).toBe("audit.preauth_rate_per_minute");
    expect(pathOf("SEAL_GATEWAY_SEAL_TOKEN_TTL")).toBe("seal.token_ttl");
    expect(pathOf("SEAL_GATEWAY_DEV_MODE")).toBe("dev_mode");
    expect(pathOf("SEAL_GATEWAY_SERVER_PORT")).toBe("server.port");
  });

  it("has the pinned short names", () => {
    expect(pathOf("SEAL_GATEWAY_HOST")).toBe("server.host");
    expect(pathOf("SEAL_GATEWAY_PORT")).toBe("server.port");
    expect(pathOf("SEAL_GATEWAY_DATA_DIR")).toBe("data_dir");
    expect(pathOf("SEAL_GATEWAY_DATABASE_URL")).toBe("database.url");
    expect(pathOf("SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS")).toBe("egress.allow_networks");
    expect(pathOf("SEAL_GATEWAY_MASTER_KEY")).toBe("secrets.master_key");
  });

  it("does not treat SEAL_GATEWAY_CONFIG or bare section names as overrides", () => {
    expect(table.has("SEAL_GATEWAY_CONFIG")).toBe(false);
    expect(table.has("SEAL_GATEWAY_SERVER")).toBe(false);
    expect(table.has("SEAL_GATEWAY_SEAL")).toBe(false);
  });

  it("gives each leaf kind from the schema", () => {
    expect(table.get("SEAL_GATEWAY_PORT")?.kind).toBe("number");
    expect(table.get("SEAL_GATEWAY_SERVER_TRUST_PROXY")?.kind).toBe("boolean");
    expect(table.get("SEAL_GATEWAY_SEAL_ALGORITHMS")?.kind).toBe("list");
    expect(table.get("SEAL_GATEWAY_SEAL_ISSUERS")?.kind).toBe("json");
    expect(table.get("SEAL_GATEWAY_SECRETS_BACKENDS")?.kind).toBe("json");
    expect(table.get("SEAL_GATEWAY_SEAL_TOKEN_TTL")?.kind).toBe("string");
  });

  it("names every variable after its key path", () => {
    expect(envNameFor(["egress", "allow_networks"])).toBe("SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS");
  });
});

describe("readEnvOverrides", () => {
  it("coerces per field type", () => {
    const { overrides, problems } = readEnvOverrides(
      {
        SEAL_GATEWAY_PORT: "9001",
        SEAL_GATEWAY_SERVER_TRUST_PROXY: "TRUE",
        SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: " 127.0.0.0/8, ::1/128 ,",
        SEAL_GATEWAY_CLI_CPUS: "0.5",
        SEAL_GATEWAY_SEAL_ISSUERS: '[{"issuer":"kc","jwks_url":"https://kc/certs"}]',
      },
      table,
    );
    expect(problems).toEqual([]);
    const byPath = Object.fromEntries(overrides.map((o) => [o.path.join("."), o.value]));
    expect(byPath).toEqual({
      "server.port": 9001,
      "server.trust_proxy": true,
      "egress.allow_networks": ["127.0.0.0/8", "::1/128"],
      "cli.cpus": 0.5,
      "seal.issuers": [{ issuer: "kc", jwks_url: "https://kc/certs" }],
    });
  });

  it("reports unknown names with a suggestion, and ignores CONFIG, TEST_ and the client's URL", () => {
    const { problems, overrides } = readEnvOverrides(
      {
        SEAL_GATEWAY_SEAL_FRESHNES_SECONDS: "10",
        SEAL_GATEWAY_CONFIG: "/x.yaml",
        SEAL_GATEWAY_URL: "http://127.0.0.1:8089",
        SEAL_GATEWAY_TEST_PG_URL: "postgres://x",
        SEAL_GATEWAY_NOPE: "1",
        OTHER_VAR: "1",
      },
      table,
    );
    expect(problems).toEqual([
      { path: "SEAL_GATEWAY_NOPE", message: "unknown configuration variable" },
      {
        path: "SEAL_GATEWAY_SEAL_FRESHNES_SECONDS",
        message: "unknown configuration variable (did you mean SEAL_GATEWAY_SEAL_FRESHNESS_SECONDS?)",
      },
    ]);
    expect(overrides).toEqual([]);
  });

  it("reports values that do not fit the type, without echoing them", () => {
    const { problems } = readEnvOverrides(
      { SEAL_GATEWAY_PORT: "80 80", SEAL_GATEWAY_DEV_MODE: "maybe-secret", SEAL_GATEWAY_SEAL_ISSUERS: "[{" },
      table,
    );
    expect(problems.map((p) => `${p.path}: ${p.message} (${p.source})`)).toEqual([
      "dev_mode: expected true or false (env SEAL_GATEWAY_DEV_MODE)",
      "server.port: expected a number (env SEAL_GATEWAY_PORT)",
      "seal.issuers: expected JSON (this key takes a list of objects or an object) (env SEAL_GATEWAY_SEAL_ISSUERS)",
    ]);
  });

  it("refuses a short and a long name disagreeing, and accepts them agreeing", () => {
    const conflict = readEnvOverrides({ SEAL_GATEWAY_PORT: "1", SEAL_GATEWAY_SERVER_PORT: "2" }, table);
    expect(conflict.problems).toEqual([
      {
        path: "server.port",
        message: "set by both SEAL_GATEWAY_PORT and SEAL_GATEWAY_SERVER_PORT with different values",
      },
    ]);
    const agree = readEnvOverrides({ SEAL_GATEWAY_PORT: "1", SEAL_GATEWAY_SERVER_PORT: "1" }, table);
    expect(agree.problems).toEqual([]);
    expect(agree.overrides).toHaveLength(1);
  });
});

describe("coerceText", () => {
  it.each(["1e3", "-5", "+7", ".5", "10."])("reads number %j", (text) => {
    expect(coerceText(text, "number")).toEqual({ ok: true, value: Number(text) });
  });

  it.each(["", "0x10", "1_000", "NaN", "Infinity", "1,5", "5px"])("refuses number %j", (text) => {
    expect(coerceText(text, "number").ok).toBe(false);
  });

  it.each([
    ["true", true],
    ["On", true],
    ["1", true],
    ["no", false],
    ["0", false],
    ["FALSE", false],
  ])("reads boolean %j", (text, value) => {
    expect(coerceText(text, "boolean")).toEqual({ ok: true, value });
  });

  it("reads an empty list as no entries", () => {
    expect(coerceText("", "list")).toEqual({ ok: true, value: [] });
  });

  it("keeps strings verbatim", () => {
    expect(coerceText(" a b ", "string")).toEqual({ ok: true, value: " a b " });
  });
});

describe("keysAt", () => {
  it("lists the keys a strict object accepts, through arrays", () => {
    expect(keysAt(GatewayConfigShape, ["seal", "issuers", 0])).toEqual([
      "issuer",
      "audience",
      "jwks_url",
      "public_key",
      "algorithms",
    ]);
    expect(keysAt(GatewayConfigShape, ["log"])).toEqual(["level"]);
    expect(keysAt(GatewayConfigShape, ["nope"])).toEqual([]);
  });
});
