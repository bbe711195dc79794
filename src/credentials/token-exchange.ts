/**
 * RFC 8693 token exchange against the configured token endpoint (`secrets.keycloak`,
 * DESIGN §4). The end user's token goes in as the subject token; the answer is an access
 * token for the target service's audience. Any failure — refused, not JSON, no token,
 * timeout, network — is a 4010 that names neither token. Neither token is kept here.
 */
import { fail } from "../errors.js";

export interface ExchangeClientConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
}

export interface ExchangedToken {
  accessToken: string;
  /** Seconds, when the endpoint says. */
  expiresIn: number | undefined;
}

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

function refuse(reason: string, message: string): never {
  fail("CREDENTIAL_UNAVAILABLE", reason, message);
}

export async function exchangeToken(
  config: ExchangeClientConfig,
  subjectToken: string,
  audience: string,
): Promise<ExchangedToken> {
  const body = new URLSearchParams({
    grant_type: GRANT,
    client_id: config.clientId,
    client_secret: config.clientSecret,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    audience,
  });
  let res: Response;
  try {
    res = await fetch(config.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    refuse(
      timedOut ? "exchange_timeout" : "exchange_unreachable",
      timedOut ? "the token exchange timed out" : "the token endpoint cannot be reached",
    );
  }
  let answer: unknown;
  try {
    answer = await res.json();
  } catch {
    refuse("exchange_not_json", `the token endpoint answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const code =
      typeof answer === "object" &&
      answer !== null &&
      typeof (answer as { error?: unknown }).error === "string"
        ? (answer as { error: string }).error.slice(0, 64)
        : "unknown";
    refuse("exchange_refused", `the token endpoint refused the exchange (${res.status}, ${code})`);
  }
  const token = (answer as { access_token?: unknown } | null)?.access_token;
  if (typeof token !== "string" || token.length === 0) {
    refuse("exchange_no_token", "the token endpoint answered without an access token");
  }
  const expiresIn = (answer as { expires_in?: unknown }).expires_in;
  return { accessToken: token, expiresIn: typeof expiresIn === "number" ? expiresIn : undefined };
}
