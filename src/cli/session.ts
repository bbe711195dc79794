import { parseArgs } from "node:util";
import { configOrExit, gatewayUrl, readKeyFile, UsageError } from "./common.js";
import { operatorTokenFor, ttlSeconds } from "./operator-token.js";

const USAGE =
  "usage: seal-gateway session create --context NAME (--key-file F | --public-key B64) [--sub S] [--tenant T] [--ttl D] [--url URL] [--token JWT] [--print-token]";

/**
 * `session create`: a session through the control-plane API (so it is audited like any other),
 * with an operator token from --token, SEAL_OPERATOR_TOKEN, or minted locally. Prints the
 * session JSON, or with --print-token only the agent's security token, for
 * `export SEAL_TOKEN=$(seal-gateway session create … --print-token)`.
 */
export async function sessionCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "create") throw new UsageError(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: {
      context: { type: "string" },
      "key-file": { type: "string" },
      "public-key": { type: "string" },
      sub: { type: "string" },
      tenant: { type: "string" },
      ttl: { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      config: { type: "string" },
      "print-token": { type: "boolean" },
    },
  });
  if (!values.context) throw new UsageError(`--context is required\n${USAGE}`);
  if ((values["key-file"] === undefined) === (values["public-key"] === undefined))
    throw new UsageError(`give the agent's key once: --key-file or --public-key\n${USAGE}`);
  const publicKey = values["public-key"] ?? publicKeyOf(values["key-file"] as string);
  const body = {
    sub: values.sub ?? "agent",
    security_context_name: values.context,
    public_key_b64: publicKey,
    ...(values.tenant ? { tenant_id: values.tenant } : {}),
    ...(values.ttl ? { ttl_seconds: ttlSeconds(values.ttl, "1h") } : {}),
  };
  const token = await operatorTokenFor(values.token, () => configOrExit(values.config), {
    role: "operator",
    tenant: values.tenant ?? "default",
    sub: "cli:session-create",
  });
  const url = new URL("/v1/seal/sessions", gatewayUrl(values.url));
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    process.stderr.write(
      `seal-gateway: the gateway at ${url.origin} cannot be reached: ${(err as Error).message}\n`,
    );
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    process.stderr.write(`seal-gateway: the gateway refused the session (HTTP ${res.status}): ${text}\n`);
    return 1;
  }
  const session = JSON.parse(text) as { security_token?: unknown };
  if (values["print-token"]) {
    if (typeof session.security_token !== "string") {
      process.stderr.write("seal-gateway: the gateway answered without a security token\n");
      return 1;
    }
    process.stdout.write(`${session.security_token}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  return 0;
}

/** The public half of a key file; a bare private key is refused, since its public half is not in it. */
function publicKeyOf(file: string): string {
  const key = readKeyFile(file);
  if (!key.publicKeyB64)
    throw new UsageError(
      `${file} has no public_key_b64 (write key files with \`seal-gateway keygen --out\`)`,
    );
  return key.publicKeyB64;
}
