import { readFileSync, statSync } from "node:fs";
import { formatProblems, loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import { buildCore, type Core } from "../core.js";
import { backendSettingsProblems } from "../credentials/backends/index.js";
import { createLogger } from "../log/logger.js";

/** A mistake in how the command was called: exit 2 with the usage text. */
export class UsageError extends Error {}

/** A command: its arguments in, its exit code out (undefined: keep running, as `start` does). */
export type Command = (argv: string[]) => Promise<number | undefined>;

export function configOrExit(path: string | undefined, env?: NodeJS.ProcessEnv): GatewayConfig {
  const r = loadConfig({ configPath: path, ...(env ? { env } : {}) });
  // `secrets.backends` entries are validated by the backend each configures (or refused).
  const problems = r.ok ? backendSettingsProblems(r.config.secrets.backends) : r.problems;
  if (!r.ok || problems.length > 0) {
    process.stderr.write(`configuration refused:\n${formatProblems(problems)}\n`);
    process.exit(1);
  }
  return r.config;
}

/** Opens the shared core for one command and closes it afterwards, whatever happens. */
export async function withCore<T>(config: GatewayConfig, fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await buildCore(config, { log: createLogger("warn") });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

export function jsonObject(text: string | undefined, what: string): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new UsageError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** A key file as `keygen --out` writes it (JSON), or one bare base64 key. */
export function readKeyFile(file: string): { privateKeyB64: string; publicKeyB64?: string } {
  const text = readFileSync(file, "utf8").trim();
  try {
    const parsed = JSON.parse(text) as { private_key_b64?: unknown; public_key_b64?: unknown };
    if (typeof parsed.private_key_b64 === "string")
      return {
        privateKeyB64: parsed.private_key_b64,
        ...(typeof parsed.public_key_b64 === "string" ? { publicKeyB64: parsed.public_key_b64 } : {}),
      };
  } catch {
    // a bare base64 key file
  }
  return { privateKeyB64: text };
}

/** A file holding a private key must be readable by its owner only, as `keygen --out` writes it. */
export function requireOwnerOnly(file: string): void {
  if ((statSync(file).mode & 0o077) !== 0)
    throw new UsageError(`${file} holds a private key and must be readable by its owner only (chmod 600)`);
}

export function privateKeyFrom(values: {
  key?: string | undefined;
  "key-file"?: string | undefined;
}): string {
  const file = values["key-file"];
  if (file) {
    requireOwnerOnly(file);
    return readKeyFile(file).privateKeyB64;
  }
  const k = values.key ?? process.env.SEAL_PRIVATE_KEY;
  if (!k) throw new UsageError("a private key is required (--key, --key-file or SEAL_PRIVATE_KEY)");
  return k;
}

export function gatewayUrl(flag: string | undefined): string {
  return flag ?? process.env.SEAL_GATEWAY_URL ?? "http://127.0.0.1:8089";
}
