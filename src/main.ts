#!/usr/bin/env node
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildGateway } from "./app.js";
import { exitCodeFor, verifyChain } from "./audit/verify.js";
import { OPERATOR_ROLES, type OperatorRole } from "./auth/tokens.js";
import { applyCommand } from "./cli/apply.js";
import { mintLocalOperatorToken, withKeyring } from "./cli/keyring.js";
import { parseDuration } from "./config/duration.js";
import { formatProblems, loadConfig } from "./config/load.js";
import type { GatewayConfig } from "./config/schema.js";
import { RotationError, rotateMasterKey } from "./credentials/rotate-master-key.js";
import { serveGateway } from "./http/server.js";
import { decodeMasterKey, MasterKeyError, resolveMasterKey } from "./keys/master-key.js";
import { createLogger } from "./log/logger.js";
import { callTool } from "./sdk/client.js";
import { signEnvelope, toolCallPayload } from "./sdk/envelope.js";
import { generateKeyPair } from "./sdk/keys.js";
import { openStore } from "./store/open.js";

/**
 * seal-gateway: start | migrate | token | keygen | sign | call | audit verify |
 * secrets rotate-master-key.
 * Exit codes: 0 success, 1 failure (or an error response for `call`), 2 usage error;
 * `audit verify` adds 3 (intact with an unsealed tail).
 */

const USAGE = `usage: seal-gateway <command> [options]
  start   [--config FILE]                       run the gateway
  migrate [--config FILE]                       apply database migrations
  token   --role admin|approver|operator|viewer [--tenant T] [--ttl 1h] [--sub NAME] [--config FILE]
  keygen  [--out FILE]                          new Ed25519 key pair
  sign    --tool NAME [--args JSON] [--id ID] [--token JWT] [--key B64|--key-file FILE] [--unix-timestamp]
  call    --tool NAME [--args JSON] [--url URL] [--token JWT] [--key B64|--key-file FILE] [--meta JSON]
  apply   -f FILE|DIR [--dry-run] [--prune] [--url URL] [--token JWT] [--tenant T] [--output text|json] [--config FILE]
                                                declarative manifests (docs/manifests.md)
  audit verify [--config FILE]                  check the audit chain (0 intact, 1 tampered, 3 unsealed tail, 4 could not verify)
  secrets rotate-master-key [--new-key-file FILE] [--config FILE]
                                                re-wrap every secret and signing key under a new master key
                                                (or SEAL_GATEWAY_NEW_MASTER_KEY); stop every instance first
Environment for sign/call: SEAL_TOKEN, SEAL_PRIVATE_KEY, SEAL_GATEWAY_URL.`;

class UsageError extends Error {}

function configOrExit(path: string | undefined, env?: NodeJS.ProcessEnv): GatewayConfig {
  const r = loadConfig({ configPath: path, ...(env ? { env } : {}) });
  if (!r.ok) {
    process.stderr.write(`configuration refused:\n${formatProblems(r.problems)}\n`);
    process.exit(1);
  }
  return r.config;
}

function jsonObject(text: string | undefined, what: string): Record<string, unknown> | undefined {
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

function privateKeyFrom(values: { key?: string; "key-file"?: string }): string {
  if (values["key-file"]) {
    const text = readFileSync(values["key-file"], "utf8").trim();
    try {
      const parsed = JSON.parse(text) as { private_key_b64?: string };
      if (parsed.private_key_b64) return parsed.private_key_b64;
    } catch {
      // a bare base64 key file
    }
    return text;
  }
  const k = values.key ?? process.env.SEAL_PRIVATE_KEY;
  if (!k) throw new UsageError("a private key is required (--key, --key-file or SEAL_PRIVATE_KEY)");
  return k;
}

async function start(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string" } } });
  const config = configOrExit(values.config);
  const gw = await buildGateway(config);
  let server: Awaited<ReturnType<typeof serveGateway>>;
  try {
    server = await serveGateway(gw, {
      host: config.server.host,
      port: config.server.port,
      graceMs: config.server.shutdown_grace_ms,
    });
  } catch (err) {
    // The open database pool (PostgreSQL) would otherwise keep a process that cannot listen alive.
    await gw.close().catch(() => undefined);
    throw err;
  }
  gw.log.info("seal-gateway listening", {
    host: config.server.host,
    port: server.port,
    database: gw.store.dialect,
  });
  const shutdown = (signal: string) => {
    gw.log.info("shutting down", { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gw.log.error("shutdown failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

async function migrate(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string" } } });
  const config = configOrExit(values.config);
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    await store.migrate();
    process.stdout.write(`migrations applied (${store.dialect})\n`);
  } finally {
    await store.close();
  }
}

async function token(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: "string" },
      tenant: { type: "string" },
      ttl: { type: "string" },
      sub: { type: "string" },
      config: { type: "string" },
    },
  });
  const role = OPERATOR_ROLES.find((r) => r === values.role);
  if (!role) throw new UsageError("--role must be one of admin, approver, operator, viewer");
  const ttl = parseDuration(values.ttl ?? "1h");
  if (ttl === null || ttl <= 0 || ttl > 86_400)
    throw new UsageError("--ttl must be a duration such as 15m or 1h, at most 24h");
  const tenant = values.tenant ?? "default";
  if (tenant === "*" && role !== "admin") throw new UsageError("only admin tokens may use --tenant '*'");
  const config = configOrExit(values.config);
  const jwt = await mintLocalOperatorToken(config, {
    role: role as OperatorRole,
    tenant,
    ttlSeconds: ttl,
    ...(values.sub ? { sub: values.sub } : {}),
  });
  process.stdout.write(`${jwt}\n`);
}

function keygen(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string" } } });
  const pair = generateKeyPair();
  const json = JSON.stringify({ public_key_b64: pair.publicKeyB64, private_key_b64: pair.privateKeyB64 });
  if (values.out) {
    writeFileSync(values.out, `${json}\n`, { mode: 0o600, flag: "wx" });
    process.stdout.write(`${JSON.stringify({ public_key_b64: pair.publicKeyB64, key_file: values.out })}\n`);
  } else {
    process.stdout.write(`${json}\n`);
  }
}

const callOptions = {
  tool: { type: "string" },
  args: { type: "string" },
  id: { type: "string" },
  token: { type: "string" },
  key: { type: "string" },
  "key-file": { type: "string" },
  url: { type: "string" },
  meta: { type: "string" },
  "unix-timestamp": { type: "boolean" },
} as const;

function commonCall(values: { tool?: string; token?: string; args?: string; meta?: string }) {
  if (!values.tool) throw new UsageError("--tool is required");
  const securityToken = values.token ?? process.env.SEAL_TOKEN;
  if (!securityToken) throw new UsageError("a security token is required (--token or SEAL_TOKEN)");
  return {
    tool: values.tool,
    securityToken,
    args: jsonObject(values.args, "--args") ?? {},
    meta: jsonObject(values.meta, "--meta"),
  };
}

function sign(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: callOptions });
  const c = commonCall(values);
  const payload = toolCallPayload({
    name: c.tool,
    arguments: c.args,
    ...(values.id ? { id: values.id } : {}),
    ...(c.meta ? { meta: c.meta } : {}),
  });
  const { body } = signEnvelope({
    securityToken: c.securityToken,
    payload,
    privateKeyB64: privateKeyFrom(values),
    timestampFormat: values["unix-timestamp"] ? "unix" : "rfc3339",
  });
  process.stdout.write(`${body}\n`);
}

async function call(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: callOptions });
  const c = commonCall(values);
  const r = await callTool({
    url: values.url ?? process.env.SEAL_GATEWAY_URL ?? "http://127.0.0.1:8089",
    securityToken: c.securityToken,
    privateKeyB64: privateKeyFrom(values),
    name: c.tool,
    arguments: c.args,
    ...(values.id ? { id: values.id } : {}),
    ...(c.meta ? { meta: c.meta } : {}),
  });
  process.stdout.write(`${JSON.stringify(r.response)}\n`);
  return r.response.status === "error" ? 1 : 0;
}

async function audit(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "verify") throw new UsageError("usage: seal-gateway audit verify [--config FILE]");
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string" }, json: { type: "boolean" } },
  });
  const config = configOrExit(values.config);
  let report: Awaited<ReturnType<typeof verifyChain>>;
  try {
    report = await withKeyring(config, async (_tokens, store, keyring) =>
      verifyChain(store, keyring.publicKeys()),
    );
  } catch (err) {
    // Not being able to look is not the same finding as tampering: its own exit code.
    process.stderr.write(`seal-gateway: could not verify the audit chain: ${(err as Error).message}\n`);
    return 4;
  }
  process.stdout.write(`${JSON.stringify(report, null, values.json ? 0 : 2)}\n`);
  return exitCodeFor(report);
}

const NEW_KEY_VARIABLE = "SEAL_GATEWAY_NEW_MASTER_KEY";

/** The new master key, from an owner-only file or the environment; never echoed. */
function newMasterKey(file: string | undefined) {
  const fromEnv = process.env[NEW_KEY_VARIABLE];
  if (file !== undefined && fromEnv !== undefined)
    throw new UsageError(`give the new key once: --new-key-file or ${NEW_KEY_VARIABLE}, not both`);
  if (file === undefined) {
    if (fromEnv === undefined)
      throw new UsageError(`the new master key is required (--new-key-file FILE or ${NEW_KEY_VARIABLE})`);
    return decodeMasterKey(fromEnv);
  }
  if ((statSync(file).mode & 0o077) !== 0)
    throw new MasterKeyError(`${file} must be readable by its owner only (chmod 600)`);
  return decodeMasterKey(readFileSync(file, "utf8").trim());
}

async function secretsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "rotate-master-key")
    throw new UsageError(
      "usage: seal-gateway secrets rotate-master-key [--new-key-file FILE] [--config FILE]",
    );
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string" }, "new-key-file": { type: "string" } },
  });
  const to = newMasterKey(values["new-key-file"]);
  // The new key's variable is this command's input, not a configuration setting.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== NEW_KEY_VARIABLE));
  const config = configOrExit(values.config, env);
  if (!config.secrets.master_key && !existsSync(join(config.data_dir, "master.key"))) {
    throw new MasterKeyError(
      "no current master key: set SEAL_GATEWAY_MASTER_KEY (or secrets.master_key) to the key the database was created with",
    );
  }
  const log = createLogger("warn");
  const from = resolveMasterKey(
    { configured: config.secrets.master_key, devMode: config.dev_mode, dataDir: config.data_dir },
    log,
  );
  const store = await openStore({ url: config.database.url, durability: config.audit.durability });
  try {
    await store.migrate();
    // Nothing is written unless every value opens under the current key (see rotateMasterKey).
    const summary = await rotateMasterKey(store, from, to);
    process.stdout.write(
      `${JSON.stringify({ rotated_secrets: summary.secrets, rotated_signing_keys: summary.signingKeys, already_rotated: summary.alreadyRotated })}\n`,
    );
    process.stderr.write(
      "master key rotated: start every instance with the new key (SEAL_GATEWAY_MASTER_KEY); the old key no longer opens anything\n",
    );
    return 0;
  } catch (err) {
    if (err instanceof RotationError || err instanceof MasterKeyError) {
      process.stderr.write(`seal-gateway: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}

async function main(argv: string[]): Promise<number | undefined> {
  // Everything the gateway writes (database, WAL, dev master key, key files) is owner-only.
  process.umask(0o077);
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "start":
      await start(rest);
      return undefined;
    case "migrate":
      await migrate(rest);
      return 0;
    case "token":
      await token(rest);
      return 0;
    case "keygen":
      keygen(rest);
      return 0;
    case "sign":
      sign(rest);
      return 0;
    case "call":
      return await call(rest);
    case "apply":
      return await applyCommand(rest);
    case "audit":
      return await audit(rest);
    case "secrets":
      return await secretsCommand(rest);
    default:
      throw new UsageError(cmd ? `unknown command ${JSON.stringify(cmd)}` : "a command is required");
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`seal-gateway: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
