/**
 * Where a credential goes, from the operation's OpenAPI security requirements: every scheme
 * kind, the first fully injectable requirement, the Bearer default, refusals that fail closed,
 * and values that cannot be placed without being altered.
 */
import { describe, expect, it } from "vitest";
import { checkedPlan, inject, planInjection } from "../../src/engines/openapi/credential-injection.js";
import { loadSpec } from "../../src/engines/openapi/load-spec.js";
import type { IndexedSpec } from "../../src/engines/openapi/types.js";
import { GatewayError } from "../../src/errors.js";
import { securedSpec } from "./support.js";

const SCHEMES = {
  bearer: { type: "http", scheme: "bearer" },
  basic: { type: "http", scheme: "basic" },
  digest: { type: "http", scheme: "digest" },
  hdr: { type: "apiKey", in: "header", name: "X-Api-Key" },
  qry: { type: "apiKey", in: "query", name: "api_key" },
  ck: { type: "apiKey", in: "cookie", name: "sid" },
  oauth: {
    type: "oauth2",
    flows: { clientCredentials: { tokenUrl: "https://auth.example.com/t", scopes: {} } },
  },
  mtls: { type: "mutualTLS" },
};

function spec(security: unknown[] | undefined): IndexedSpec {
  const loaded = loadSpec({
    inline_json: securedSpec({ paths: { "/x": "op" }, schemes: SCHEMES, ...(security ? { security } : {}) }),
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.spec;
}

function placed(
  security: unknown[] | undefined,
  value: string,
  url = "https://secured.example.com/x?a=1%202&b=%2F",
) {
  const s = spec(security);
  const op = s.operations[0];
  if (!op) throw new Error("no operation");
  const targets = checkedPlan(s, op, value);
  const req = {
    url: new URL(url),
    headers: { cookie: "theme=dark; sid=caller-chosen" } as Record<string, string>,
  };
  inject(targets, value, req);
  return req;
}

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("credential injection", () => {
  it("defaults to Authorization: Bearer when the operation declares no security", () => {
    expect(placed(undefined, "tok-1").headers.authorization).toBe("Bearer tok-1");
    expect(placed([{}], "tok-1").headers.authorization).toBe("Bearer tok-1");
  });

  it("http bearer, oauth2 and openIdConnect send a bearer token", () => {
    expect(placed([{ bearer: [] }], "tok-2").headers.authorization).toBe("Bearer tok-2");
    expect(placed([{ oauth: [] }], "tok-3").headers.authorization).toBe("Bearer tok-3");
  });

  it("http basic sends base64(user:password)", () => {
    expect(placed([{ basic: [] }], "ada:s3cr3t:x").headers.authorization).toBe(
      `Basic ${Buffer.from("ada:s3cr3t:x").toString("base64")}`,
    );
  });

  it("apiKey in a header uses the scheme's name (lower-cased on the request)", () => {
    const req = placed([{ hdr: [] }], "key-4");
    expect(req.headers["x-api-key"]).toBe("key-4");
    expect(req.headers.authorization).toBeUndefined();
  });

  it("apiKey in the query is added, percent-encoded, without re-encoding the other parameters", () => {
    const req = placed(
      [{ qry: [] }],
      "k/5 +&=",
      "https://secured.example.com/x?a=1%202&api_key=caller&b=%2F",
    );
    expect(req.url.search).toBe(`?a=1%202&b=%2F&api_key=${encodeURIComponent("k/5 +&=")}`);
    expect(req.url.searchParams.getAll("api_key")).toEqual(["k/5 +&="]);
  });

  it("apiKey in a cookie replaces a caller cookie of the same name and keeps the others", () => {
    expect(placed([{ ck: [] }], "c00kie").headers.cookie).toBe("theme=dark; sid=c00kie");
  });

  it("takes the first requirement whose schemes can all be filled", () => {
    const req = placed([{ digest: [] }, { mtls: [], hdr: [] }, { qry: [], hdr: [] }, { bearer: [] }], "v-6");
    expect(req.url.searchParams.get("api_key")).toBe("v-6");
    expect(req.headers["x-api-key"]).toBe("v-6");
    expect(req.headers.authorization).toBeUndefined();
  });

  it("prefers a named scheme over 'anonymous allowed'", () => {
    expect(placed([{}, { hdr: [] }], "v-7").headers["x-api-key"]).toBe("v-7");
  });

  it("refuses (4010 unsupported_scheme) when no requirement can be filled", () => {
    for (const security of [[{ digest: [] }], [{ mtls: [] }], [{ digest: [] }, { mtls: [], bearer: [] }]]) {
      const s = spec(security);
      const op = s.operations[0];
      if (!op) throw new Error("no operation");
      expect(planInjection(s, op).ok).toBe(false);
      const err = refusal(() => checkedPlan(s, op, null));
      expect(err.code).toBe("CREDENTIAL_UNAVAILABLE");
      expect(err.details.reason).toBe("unsupported_scheme");
    }
  });

  it("refuses values that a header, a cookie or basic auth would alter (4010 unusable_value), without echoing them", () => {
    const cases: Array<[unknown[] | undefined, string]> = [
      [undefined, "line\r\nX-Injected: 1"],
      [undefined, " padded "],
      [undefined, "naïve-token"],
      [[{ hdr: [] }], "tab\there"],
      [[{ ck: [] }], "a;b"],
      [[{ ck: [] }], "with space"],
      [[{ ck: [] }], 'quo"te'],
      [[{ basic: [] }], "no-colon-here"],
      [[{ basic: [] }], "user:pa\nss"],
    ];
    for (const [security, value] of cases) {
      const err = refusal(() => placed(security, value));
      expect(err.details.reason, value).toBe("unusable_value");
      expect(err.message).not.toContain(value);
    }
  });

  it("query placement accepts any text (it is percent-encoded)", () => {
    expect(placed([{ qry: [] }], "naïve \r\n;").url.searchParams.get("api_key")).toBe("naïve \r\n;");
  });
});
