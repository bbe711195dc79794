import { describe, expect, it } from "vitest";
import { parseCidr } from "../../src/config/cidr.js";
import { defaultDatabaseUrl, parseDatabaseUrl } from "../../src/config/database-url.js";
import { PublicKeyText, TokenAlgorithmSchema, TrustedIssuer } from "../../src/config/fields.js";
import { decodeMasterKey } from "../../src/config/master-key.js";

const KEY_32 = Buffer.alloc(32, 7);

describe("parseCidr", () => {
  it.each([
    ["127.0.0.0/8", 4, 8],
    ["10.0.0.1/32", 4, 32],
    ["0.0.0.0/0", 4, 0],
    ["::1/128", 6, 128],
    ["fd00::/8", 6, 8],
    ["::ffff:127.0.0.1/104", 6, 104],
  ])("accepts %s", (text, family, prefix) => {
    expect(parseCidr(text)).toMatchObject({ family, prefix });
  });

  it.each([
    "127.0.0.1",
    "127.0.0.0/33",
    "::1/129",
    "256.0.0.0/8",
    "127.0.0.0/",
    "/8",
    "127.0.0.0/8/8",
    "127.0.0.0/-1",
    "127.0.0.0/08x",
    "localhost/8",
    "fe80::1%eth0/64",
    "127.0.0.0/1000",
    " 127.0.0.0/8",
  ])("refuses %j", (text) => {
    expect(parseCidr(text)).toBeNull();
  });
});

describe("decodeMasterKey", () => {
  it("accepts standard base64 with and without padding, and base64url", () => {
    const standard = KEY_32.toString("base64");
    expect(decodeMasterKey(standard)).toEqual(new Uint8Array(KEY_32));
    expect(decodeMasterKey(standard.replace(/=$/, ""))).toEqual(new Uint8Array(KEY_32));
    const urlSafe = Buffer.alloc(32, 0xfb).toString("base64url");
    expect(urlSafe).toMatch(/[-_]/);
    expect(decodeMasterKey(urlSafe)).toEqual(new Uint8Array(Buffer.alloc(32, 0xfb)));
  });

  it.each([
    ["31 bytes", Buffer.alloc(31, 1).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 1).toString("base64")],
    ["64 bytes", Buffer.alloc(64, 1).toString("base64")],
    ["hex", KEY_32.toString("hex")],
    ["empty", ""],
    ["not base64", "!".repeat(44)],
  ])("refuses %s", (_label, text) => {
    expect(decodeMasterKey(text)).toBeNull();
  });

  it("refuses a non-canonical last character (stray low bits)", () => {
    const canonical = KEY_32.toString("base64");
    // In the 43rd character only the top four bits carry data; the next letter differs only in the discarded bits.
    const last = canonical[42] ?? "";
    const sibling = String.fromCharCode(last.charCodeAt(0) + 1);
    const mangled = `${canonical.slice(0, 42)}${sibling}=`;
    expect(Buffer.from(mangled, "base64")).toEqual(KEY_32);
    expect(decodeMasterKey(mangled)).toBeNull();
  });
});

describe("database urls", () => {
  it.each([
    ["sqlite://./data/gateway.db", { dialect: "sqlite", file: "./data/gateway.db", memory: false }],
    ["sqlite://data/x.db", { dialect: "sqlite", file: "data/x.db", memory: false }],
    ["sqlite:///var/lib/x.db", { dialect: "sqlite", file: "/var/lib/x.db", memory: false }],
    ["sqlite://:memory:", { dialect: "sqlite", file: ":memory:", memory: true }],
    ["postgres://u:p@db:5432/gw", { dialect: "postgres", url: "postgres://u:p@db:5432/gw" }],
    ["postgresql://db/gw", { dialect: "postgres", url: "postgresql://db/gw" }],
  ])("reads %s", (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it.each([
    "",
    "sqlite://",
    "sqlite:",
    "sqlite:./x.db",
    "./x.db",
    "mysql://db/x",
    "SQLITE://x.db",
    "sqlite://./data/",
    "sqlite://x.db?mode=ro",
    "sqlite://x\0.db",
    "postgres://[bad",
    "http://db/x",
  ])("refuses %j", (url) => {
    expect(parseDatabaseUrl(url)).toBeNull();
  });

  it("derives the default from data_dir, keeping relative paths relative", () => {
    expect(defaultDatabaseUrl("./data")).toBe("sqlite://./data/gateway.db");
    expect(defaultDatabaseUrl("data")).toBe("sqlite://./data/gateway.db");
    expect(defaultDatabaseUrl("./a/../b/")).toBe("sqlite://./b/gateway.db");
    expect(defaultDatabaseUrl("/tmp/x")).toBe("sqlite:///tmp/x/gateway.db");
    expect(defaultDatabaseUrl("/tmp/x/")).toBe("sqlite:///tmp/x/gateway.db");
    expect(defaultDatabaseUrl("../up")).toBe("sqlite://../up/gateway.db");
    expect(defaultDatabaseUrl(".")).toBe("sqlite://./gateway.db");
  });
});

describe("token algorithms", () => {
  it("accepts the allow-list", () => {
    for (const alg of ["EdDSA", "Ed25519", "RS256", "ES256"])
      expect(TokenAlgorithmSchema.parse(alg)).toBe(alg);
  });

  it.each(["none", "NONE", "None"])("refuses %s with a message about unsigned tokens", (alg) => {
    const result = TokenAlgorithmSchema.safeParse(alg);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/never allowed.*unsigned/);
  });

  it.each(["HS256", "HS384", "HS512", "hs256"])("refuses %s as HMAC", (alg) => {
    const result = TokenAlgorithmSchema.safeParse(alg);
    expect(result.error?.issues[0]?.message).toMatch(/HMAC .*never allowed/);
  });

  it.each(["RS512", "PS256", "ES384", "eddsa", ""])(
    "refuses unsupported %j and lists the allowed ones",
    (alg) => {
      const result = TokenAlgorithmSchema.safeParse(alg);
      expect(result.error?.issues[0]?.message).toBe(
        "unsupported algorithm; allowed: EdDSA, Ed25519, RS256, ES256",
      );
    },
  );
});

const PEM =
  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----";

describe("trusted issuers", () => {
  it("accepts a JWKS URL or a public key", () => {
    expect(
      TrustedIssuer.parse({ issuer: "https://kc/realms/x", jwks_url: "https://kc/certs" }),
    ).toMatchObject({
      issuer: "https://kc/realms/x",
    });
    expect(TrustedIssuer.safeParse({ issuer: "ci", public_key: PEM }).success).toBe(true);
    const jwk = JSON.stringify({
      kty: "OKP",
      crv: "Ed25519",
      x: "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE",
    });
    expect(TrustedIssuer.safeParse({ issuer: "ci", public_key: jwk, algorithms: ["EdDSA"] }).success).toBe(
      true,
    );
  });

  it("requires exactly one key source, reported at a path", () => {
    const neither = TrustedIssuer.safeParse({ issuer: "x" });
    expect(neither.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["jwks_url", "set one of jwks_url or public_key"],
    ]);
    const both = TrustedIssuer.safeParse({ issuer: "x", jwks_url: "https://a/jwks", public_key: PEM });
    expect(both.error?.issues.map((i) => i.path.join("."))).toEqual(["public_key"]);
  });

  it("still reports the missing key source when another field is also wrong", () => {
    const result = TrustedIssuer.safeParse({ issuer: "", algorithms: ["none"] });
    expect(result.error?.issues.map((i) => i.path.join(".")).sort()).toEqual([
      "algorithms.0",
      "issuer",
      "jwks_url",
    ]);
  });

  it.each([
    [
      "a private PEM",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
      /private key was given/,
    ],
    ["a private JWK", JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "a", d: "b" }), /private JWK/],
    ["garbage", "hello", /PEM public key/],
    ["JSON without kty", "{}", /kty/],
    ["a JSON array", "[]", /kty/],
    ["a truncated PEM", "-----BEGIN PUBLIC KEY-----\nAAAA", /PEM public key/],
  ])("refuses %s as public_key", (_label, text, message) => {
    const result = PublicKeyText.safeParse(text);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it("refuses non-http JWKS URLs and unknown keys", () => {
    const result = TrustedIssuer.safeParse({ issuer: "x", jwks_url: "file:///etc/keys", extra: 1 });
    expect(result.error?.issues.map((i) => i.code).sort()).toEqual(["custom", "unrecognized_keys"]);
  });
});
