/**
 * The local Keycloak (scripts/keycloak.sh: the real server, started once per machine and
 * reused) and a realm per test file, made through the admin API: an agent-facing public
 * client whose tokens carry the gateway's client in `aud` (an audience mapper), the gateway's
 * confidential client with standard token exchange on and the target service in its audience,
 * the target service's client, and a user. When Keycloak cannot start the test fails; it
 * never skips.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";

const run = promisify(execFile);

let started: Promise<string> | null = null;

export function keycloakUrl(): Promise<string> {
  started ??= (async () => {
    try {
      const { stdout } = await run("bash", [join(packageRoot(), "scripts", "keycloak.sh")], {
        timeout: 10 * 60_000,
        maxBuffer: 16 << 20,
      });
      return stdout.trim().split("\n").at(-1)?.trim() ?? "";
    } catch (err) {
      throw new Error("the Keycloak tests need scripts/keycloak.sh to start Keycloak, and it could not", {
        cause: err,
      });
    }
  })();
  return started;
}

export interface TestRealm {
  url: string;
  realm: string;
  issuer: string;
  jwksUrl: string;
  tokenUrl: string;
  gatewayClientId: string;
  gatewayClientSecret: string;
  targetService: string;
  /** A fresh access token of the realm's user, issued to the agent-facing client. */
  userToken(): Promise<string>;
  /** The same user's token from a client whose tokens do not name the gateway in aud. */
  foreignAudienceToken(): Promise<string>;
  deleteRealm(): Promise<void>;
}

async function json(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function testRealm(): Promise<TestRealm> {
  const url = await keycloakUrl();
  const password = readFileSync(join(packageRoot(), ".cache", "keycloak", "admin-password"), "utf8").trim();
  const adminToken = async () =>
    (
      await json(
        await fetch(`${url}/realms/master/protocol/openid-connect/token`, {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "password",
            client_id: "admin-cli",
            username: "admin",
            password,
          }),
        }),
        "admin token",
      )
    ).access_token as string;
  const admin = async (method: string, path: string, body?: unknown) =>
    await json(
      await fetch(`${url}/admin/realms${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await adminToken()}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
      `${method} ${path}`,
    );

  const realm = `seal-${randomBytes(4).toString("hex")}`;
  const gatewayClientId = "seal-gateway";
  const gatewayClientSecret = randomBytes(18).toString("hex");
  const targetService = "billing-api";
  const userPassword = randomBytes(12).toString("hex");
  const audienceMapper = (name: string, audience: string) => ({
    name,
    protocol: "openid-connect",
    protocolMapper: "oidc-audience-mapper",
    config: { "included.client.audience": audience, "access.token.claim": "true", "id.token.claim": "false" },
  });
  await admin("POST", "", { realm, enabled: true, accessTokenLifespan: 300 });
  await admin("POST", `/${realm}/clients`, {
    clientId: targetService,
    publicClient: false,
    secret: randomBytes(12).toString("hex"),
    standardFlowEnabled: false,
  });
  await admin("POST", `/${realm}/clients`, {
    clientId: gatewayClientId,
    publicClient: false,
    secret: gatewayClientSecret,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
    attributes: { "standard.token.exchange.enabled": "true" },
    protocolMappers: [audienceMapper("target-audience", targetService)],
  });
  await admin("POST", `/${realm}/clients`, {
    clientId: "agent-app",
    publicClient: true,
    directAccessGrantsEnabled: true,
    standardFlowEnabled: false,
    protocolMappers: [audienceMapper("gateway-audience", gatewayClientId)],
  });
  await admin("POST", `/${realm}/clients`, {
    clientId: "other-app",
    publicClient: true,
    directAccessGrantsEnabled: true,
    standardFlowEnabled: false,
  });
  await admin("POST", `/${realm}/users`, {
    username: "alice",
    email: "alice@example.com",
    firstName: "Alice",
    lastName: "Example",
    emailVerified: true,
    enabled: true,
    credentials: [{ type: "password", value: userPassword, temporary: false }],
  });
  const issuer = `${url}/realms/${realm}`;
  const tokenUrl = `${issuer}/protocol/openid-connect/token`;
  const login = async (clientId: string) =>
    (
      await json(
        await fetch(tokenUrl, {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "password",
            client_id: clientId,
            username: "alice",
            password: userPassword,
            scope: "openid",
          }),
        }),
        `alice's token from ${clientId}`,
      )
    ).access_token as string;
  return {
    url,
    realm,
    issuer,
    jwksUrl: `${issuer}/protocol/openid-connect/certs`,
    tokenUrl,
    gatewayClientId,
    gatewayClientSecret,
    targetService,
    userToken: () => login("agent-app"),
    foreignAudienceToken: () => login("other-app"),
    deleteRealm: async () => {
      await admin("DELETE", `/${realm}`);
    },
  };
}
