import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { GatewayError } from "../errors.js";

/**
 * A small client for the parts of the OpenBao (and Vault) HTTP API the gateway uses: KV v2
 * reads, dynamic credentials, lease revocation, and token / AppRole authentication with
 * renewal before expiry. node:http(s) rather than fetch, for a CA file without another
 * dependency. Every failure is a 4010 GatewayError with a `reason` and a fixed message: the
 * gateway's own token, the values read and the server's error text never appear in one.
 */

export interface OpenBaoSettings {
  address: string;
  token?: string | undefined;
  approle?: { role_id: string; secret_id: string; mount: string } | undefined;
  namespace?: string | undefined;
  ca_file?: string | undefined;
  timeout_ms: number;
}

export interface OpenBaoAnswer {
  status: number;
  body: unknown;
}

const MAX_ANSWER_BYTES = 1 << 20;

const unavailable = (reason: string, message: string) =>
  new GatewayError("CREDENTIAL_UNAVAILABLE", message, { reason });

/** The reason a non-2xx answer is refused with. */
function statusReason(status: number): [string, string] {
  if (status === 403) return ["permission_denied", "OpenBao refused the gateway's token for this path"];
  if (status === 404) return ["secret_not_found", "OpenBao has nothing at this path"];
  if (status === 429 || status === 503) return ["backend_unavailable", `OpenBao is unavailable (${status})`];
  return ["backend_error", `OpenBao answered ${status}`];
}

export class OpenBaoClient {
  private readonly ca: Buffer | undefined;
  private token: string | undefined;
  /** Unix ms after which the AppRole token is renewed (or logged in again) before use. */
  private renewAt = 0;
  private expiresAt = Number.POSITIVE_INFINITY;
  private login: Promise<void> | null = null;

  constructor(
    private readonly settings: OpenBaoSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.ca = settings.ca_file ? readFileSync(settings.ca_file) : undefined;
    this.token = settings.token;
  }

  /** GET/POST/PUT one API path (`/v1/…`) with the gateway's token; 2xx JSON or a thrown 4010. */
  async call(method: "GET" | "POST" | "PUT", path: string, body?: unknown, signal?: AbortSignal) {
    const answer = await this.authed(method, path, body, signal);
    if (answer.status === 403 && this.settings.approle) {
      // The AppRole token may have been revoked or expired early: log in once more, then retry.
      this.renewAt = 0;
      this.expiresAt = 0;
      return this.expectOk(await this.authed(method, path, body, signal));
    }
    return this.expectOk(answer);
  }

  private expectOk(answer: OpenBaoAnswer): unknown {
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const [reason, message] = statusReason(answer.status);
    throw unavailable(reason, message);
  }

  private async authed(method: string, path: string, body: unknown, signal: AbortSignal | undefined) {
    const token = await this.currentToken();
    return await this.raw(method, path, body, token, signal);
  }

  private async currentToken(): Promise<string> {
    if (!this.settings.approle) return this.token ?? "";
    if (this.token && this.now() < this.renewAt) return this.token;
    this.login ??= this.refresh().finally(() => {
      this.login = null;
    });
    await this.login;
    return this.token ?? "";
  }

  /** Renews the AppRole token while it can be renewed and is not expired, else logs in again. */
  private async refresh(): Promise<void> {
    const approle = this.settings.approle;
    if (!approle) return;
    if (this.token && this.now() < this.expiresAt - 1000) {
      const renewed = await this.raw("POST", "/v1/auth/token/renew-self", {}, this.token).catch(() => null);
      if (renewed && renewed.status === 200 && this.adopt(renewed.body)) return;
    }
    const answer = await this.raw("POST", `/v1/auth/${approle.mount}/login`, {
      role_id: approle.role_id,
      secret_id: approle.secret_id,
    });
    if (answer.status !== 200) {
      const reason =
        answer.status === 400 || answer.status === 403 ? "auth_failed" : statusReason(answer.status)[0];
      throw unavailable(reason, `OpenBao refused the gateway's AppRole login (${answer.status})`);
    }
    if (!this.adopt(answer.body)) throw unavailable("auth_failed", "OpenBao's AppRole login gave no token");
  }

  /** Takes the token of an auth answer; renews at two thirds of its lease. */
  private adopt(body: unknown): boolean {
    const auth = (body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | null)?.auth;
    const token = auth?.client_token;
    if (typeof token !== "string" || token.length === 0) return false;
    const ttl = typeof auth?.lease_duration === "number" ? auth.lease_duration : 0;
    const now = this.now();
    this.token = token;
    // A token without a TTL (root, periodic 0) never needs renewal.
    this.expiresAt = ttl > 0 ? now + ttl * 1000 : Number.POSITIVE_INFINITY;
    this.renewAt = ttl > 0 ? now + (ttl * 1000 * 2) / 3 : Number.POSITIVE_INFINITY;
    return true;
  }

  private raw(
    method: string,
    path: string,
    body: unknown,
    token?: string,
    signal?: AbortSignal,
  ): Promise<OpenBaoAnswer> {
    const url = new URL(path, this.settings.address);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers["x-vault-token"] = token;
    if (this.settings.namespace) headers["x-vault-namespace"] = this.settings.namespace;
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const timeout = AbortSignal.timeout(this.settings.timeout_ms);
    const aborted = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        { method, headers, signal: aborted, ...(this.ca ? { ca: this.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy();
              reject(unavailable("backend_error", "OpenBao's answer is too large"));
              return;
            }
            chunks.push(chunk);
          });
          res.on("error", () => reject(unavailable("backend_unreachable", "the OpenBao connection failed")));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (text.length === 0) return resolve({ status: res.statusCode ?? 0, body: null });
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
            } catch {
              reject(
                unavailable(
                  "backend_not_json",
                  `OpenBao answered ${res.statusCode} with a body that is not JSON`,
                ),
              );
            }
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (timeout.aborted) reject(unavailable("backend_timeout", "OpenBao did not answer in time"));
        else if (signal?.aborted)
          reject(unavailable("call_aborted", "the call ended before OpenBao answered"));
        else if (/CERT|TLS|SSL|^UNABLE_TO_|SELF_SIGNED|HOSTNAME/.test(err.code ?? ""))
          reject(
            unavailable(
              "backend_tls",
              "OpenBao's TLS certificate cannot be verified (see secrets.openbao.ca_file)",
            ),
          );
        else reject(unavailable("backend_unreachable", "OpenBao cannot be reached"));
      });
      req.end(payload);
    });
  }
}
