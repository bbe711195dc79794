import { applyCommand } from "./apply.js";
import { auditCommand } from "./audit.js";
import { callCommand, signCommand } from "./call.js";
import { type Command, UsageError } from "./common.js";
import { contextCommand } from "./context.js";
import { keygenCommand } from "./keygen.js";
import { keysCommand } from "./keys.js";
import { mcpCommand } from "./mcp.js";
import { migrateCommand } from "./migrate.js";
import { secretsCommand } from "./secrets.js";
import { sessionCommand } from "./session.js";
import { startCommand } from "./start.js";
import { tokenCommand } from "./token.js";

/**
 * seal-gateway: one file per command behind this table.
 * Exit codes: 0 success, 1 failure (or an error response for `call`), 2 usage error;
 * `audit verify` adds 3 (intact with an unsealed tail) and 4 (could not verify).
 */

export const USAGE = `usage: seal-gateway <command> [options]
  start   [--config FILE]                       run the gateway
  migrate [--config FILE]                       apply database migrations
  token   --role admin|approver|operator|viewer [--tenant T] [--ttl 1h] [--sub NAME] [--config FILE]
  keygen  [--out FILE]                          new Ed25519 key pair
  session create --context NAME (--key-file F | --public-key B64) [--sub S] [--tenant T] [--ttl D]
                 [--url URL] [--token JWT] [--print-token]
                                                a session for an agent key (prints the session, or its token)
  apply   -f FILE|DIR [-f …] [--dry-run] [--prune] [--url URL] [--token JWT] [--tenant T] [--output text|json]
                                                declarative specs, workflows, contexts, CLI tools (docs/manifests.md)
  context what-if NAME -f FILE [--since 7d] [--until T] [--output text|json]
                                                recorded calls of a context decided again under a candidate
  context suggest NAME [--since 30d] [--until T]
                                                the narrowest context the recorded calls need (a manifest)
  sign    --tool NAME [--args JSON] [--id ID] [--token JWT] [--key B64|--key-file FILE] [--unix-timestamp]
  call    --tool NAME [--args JSON] [--url URL] [--token JWT] [--key B64|--key-file FILE] [--meta JSON]
  mcp     [--url URL] [--token JWT | --token-command CMD] [--key B64 | --key-file FILE] [--listen HOST:PORT]
          [--approval-timeout SECONDS] [--tools-ttl SECONDS]
                                                the signing bridge for MCP clients (stdio, or loopback HTTP)
  audit verify [--config FILE]                  check the audit chain (0 intact, 1 tampered, 3 unsealed tail, 4 could not verify)
  audit verify --evidence FILE [--keys JWKS_FILE | --config FILE]
                                                check an exported evidence pack offline (3: events not sealed yet)
  secrets rotate-master-key [--new-key-file FILE] [--config FILE]
                                                re-wrap every secret and signing key under a new master key
                                                (or SEAL_GATEWAY_NEW_MASTER_KEY); without one, finish a rotation:
                                                re-wrap what is under secrets.previous_master_keys under the current key
  keys rotate [--config FILE]                   a new gateway signing key; the old one retired (still verifies),
                                                each instance signs with the new one after its restart
Environment: SEAL_TOKEN, SEAL_PRIVATE_KEY, SEAL_GATEWAY_URL (sign, call, mcp);
SEAL_OPERATOR_TOKEN (session, apply, context; else an operator token is minted from the local config).`;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  migrate: migrateCommand,
  token: tokenCommand,
  keygen: keygenCommand,
  session: sessionCommand,
  apply: applyCommand,
  context: contextCommand,
  sign: signCommand,
  call: callCommand,
  mcp: mcpCommand,
  audit: auditCommand,
  secrets: secretsCommand,
  keys: keysCommand,
};

async function dispatch(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = cmd === undefined ? undefined : COMMANDS[cmd];
  if (!command)
    throw new UsageError(cmd ? `unknown command ${JSON.stringify(cmd)}` : "a command is required");
  return await command(rest);
}

/** Runs one command line; sets the exit code (undefined: the command keeps the process running). */
export async function runCli(argv: string[]): Promise<void> {
  // Everything the gateway writes (database, WAL, dev master key, key files) is owner-only.
  process.umask(0o077);
  try {
    const code = await dispatch(argv);
    if (code !== undefined) process.exitCode = code;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`seal-gateway: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
