import { parseArgs } from "node:util";
import { configOrExit } from "./common.js";
import { mintOperatorToken, operatorRole, ttlSeconds } from "./operator-token.js";

/** `token --role R [--tenant T] [--ttl D] [--sub S]`: the operator token is the last stdout line. */
export async function tokenCommand(argv: string[]): Promise<number> {
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
  const role = operatorRole(values.role);
  const ttl = ttlSeconds(values.ttl, "1h");
  const config = configOrExit(values.config);
  const jwt = await mintOperatorToken(config, {
    role,
    tenant: values.tenant ?? "default",
    ttlSeconds: ttl,
    sub: values.sub,
  });
  process.stdout.write(`${jwt}\n`);
  return 0;
}
