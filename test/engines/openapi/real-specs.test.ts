import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildRequest } from "../../../src/engines/openapi/build-request.js";
import { hostsOf, resolveServerUrl } from "../../../src/engines/openapi/servers.js";
import { FIXTURES, fixtureText, loadOk, operation } from "./helpers.js";

function sha256(relative: string): string {
  return createHash("sha256")
    .update(readFileSync(join(FIXTURES, relative)))
    .digest("hex");
}

describe("fixtures are the published files (hashes as listed in their READMEs)", () => {
  it.each([
    ["petstore/openapi.yaml", "7c1315ff7d191c2470e1f5fc9c9f7de1c7aacd162f24eaaf0174f88e1b7d9b1d"],
    ["openai/openapi.yaml", "db5d7478feae10b4d331834c60d9765a8aa042e38419f9b1694288c11aa8ebc8"],
    ["twilio/twilio_api_v2010.json", "99cae87a6bb1725f71363364cbd30282a13140374b2d5f9bdd5bdfa5d4c8a6d7"],
  ])("%s", (file, hash) => {
    expect(sha256(file)).toBe(hash);
  });
});

describe("OpenAI API description (OpenAPI 3.1, YAML, ~3 MB)", () => {
  const text = fixtureText("openai/openapi.yaml");

  it("is larger than 1 MB", () => {
    expect(Buffer.byteLength(text)).toBeGreaterThan(1_000_000);
  });

  it("loads within a few seconds and indexes its 288 operations", () => {
    const started = performance.now();
    const spec = loadOk({ text });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(10_000);
    expect(spec.openapi).toBe("3.1.0");
    expect(spec.majorMinor).toBe("3.1");
    expect(spec.operations).toHaveLength(288);
    expect(spec.byOperationId.size).toBe(288);
    expect(hostsOf(spec)).toEqual(["api.openai.com"]);
    expect(spec.security).toEqual([{ ApiKeyAuth: [] }]);
    expect(spec.securitySchemes.get("ApiKeyAuth")?.injection).toEqual({ kind: "bearer" });

    const chat = operation(spec, "createChatCompletion");
    expect([chat.method, chat.pathTemplate]).toEqual(["POST", "/chat/completions"]);
    expect(chat.requestBody?.required).toBe(true);
    expect(chat.security).toEqual([{ ApiKeyAuth: [] }]);
    const model = operation(spec, "retrieveModel");
    expect(model.parameters.map((p) => [p.name, p.in, p.required])).toEqual([["model", "path", true]]);
    expect(operation(spec, "admin-api-keys-list").security).toEqual([{ AdminApiKeyAuth: [] }]);

    // A route keyed with a fixed query keeps it, after the encoded path.
    const beta = operation(spec, "beta_getResponse");
    expect(beta.pathTemplate).toBe("/responses/{response_id}?beta=true");
    const request = buildRequest(
      beta,
      { pathParams: { response_id: "resp/1?x" } },
      resolveServerUrl(spec, beta),
    );
    expect(request.url).toBe("https://api.openai.com/v1/responses/resp%2F1%3Fx?beta=true");
  });
});

describe("Twilio Api v2010 (OpenAPI 3.0, JSON, ~1.9 MB)", () => {
  const text = fixtureText("twilio/twilio_api_v2010.json");

  it("loads and indexes its 197 operations, each with its own server", () => {
    const spec = loadOk({ text });
    expect(spec.openapi).toBe("3.0.1");
    expect(spec.operations).toHaveLength(197);
    expect(spec.byOperationId.size).toBe(197);
    expect(hostsOf(spec)).toEqual(["api.twilio.com"]);
    expect(spec.securitySchemes.get("accountSid_authToken")?.injection).toEqual({ kind: "basic" });

    const create = operation(spec, "CreateMessage");
    expect([create.method, create.pathTemplate]).toEqual([
      "POST",
      "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    ]);
    expect(Object.keys(create.requestBody?.content ?? {})).toEqual(["application/x-www-form-urlencoded"]);
    expect(create.servers.map((s) => s.url)).toEqual(["https://api.twilio.com"]);

    const request = buildRequest(
      create,
      { pathParams: { AccountSid: "AC123" }, body: { To: "+15550001111", Body: "hi there" } },
      resolveServerUrl(spec, create),
    );
    expect(request).toEqual({
      method: "POST",
      url: "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "To=%2B15550001111&Body=hi+there",
    });
  });

  it("loads the same document given as an object", () => {
    const spec = loadOk({ inline_json: JSON.parse(text) });
    expect(spec.operations).toHaveLength(197);
  });
});
