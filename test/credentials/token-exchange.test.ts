import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchangeToken } from "../../src/credentials/token-exchange.js";
import { GatewayError } from "../../src/errors.js";

type Handler = (req: IncomingMessage, body: URLSearchParams, res: ServerResponse) => void;
let handler: Handler = () => {};
let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => handler(req, new URLSearchParams(raw), res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const SUBJECT = "subject-token-secret-value";
const cfg = () => ({
  tokenUrl: url,
  clientId: "seal-gateway",
  clientSecret: "client-secret-value",
  timeoutMs: 500,
});

async function refusal(reason: string) {
  const err = await exchangeToken(cfg(), SUBJECT, "orders-api").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  const g = err as GatewayError;
  expect(g.sealCode).toBe(4010);
  expect(g.details.reason).toBe(reason);
  expect(g.message).not.toContain(SUBJECT);
  expect(g.message).not.toContain("client-secret-value");
}

describe("RFC 8693 token exchange", () => {
  it("sends the subject token for the target audience and returns the exchanged token", async () => {
    let seen: URLSearchParams | undefined;
    handler = (_req, body, res) => {
      seen = body;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ access_token: "exchanged", expires_in: 300, token_type: "Bearer" }));
    };
    const out = await exchangeToken(cfg(), SUBJECT, "orders-api");
    expect(out).toEqual({ accessToken: "exchanged", expiresIn: 300 });
    expect(seen?.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(seen?.get("subject_token")).toBe(SUBJECT);
    expect(seen?.get("audience")).toBe("orders-api");
    expect(seen?.get("client_id")).toBe("seal-gateway");
  });

  it("a refusal is 4010", async () => {
    handler = (_req, _b, res) => {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: "invalid_request", error_description: `bad ${SUBJECT}` }));
    };
    await refusal("exchange_refused");
  });

  it("an answer that is not JSON is 4010", async () => {
    handler = (_req, _b, res) => res.end("<html>oops</html>");
    await refusal("exchange_not_json");
  });

  it("an answer without an access token is 4010", async () => {
    handler = (_req, _b, res) => res.end(JSON.stringify({ token_type: "Bearer" }));
    await refusal("exchange_no_token");
  });

  it("a timeout is 4010", async () => {
    handler = () => {};
    await refusal("exchange_timeout");
  });

  it("an unreachable endpoint is 4010", async () => {
    const err = await exchangeToken({ ...cfg(), tokenUrl: "http://127.0.0.1:1/token" }, SUBJECT, "a").catch(
      (e) => e,
    );
    expect((err as GatewayError).details.reason).toBe("exchange_unreachable");
  });
});
