import { parseArgs } from "node:util";
import { callTool } from "../sdk/client.js";
import { signEnvelope, toolCallPayload } from "../sdk/envelope.js";
import { gatewayUrl, jsonObject, privateKeyFrom, UsageError } from "./common.js";

/** `sign` and `call`: one signed envelope; `call` also sends it and prints the answer. */

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

export async function signCommand(argv: string[]): Promise<number> {
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
  return 0;
}

/** Exit 0 on a success (or pending) answer, 1 on an error answer. */
export async function callCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: callOptions });
  const c = commonCall(values);
  const r = await callTool({
    url: gatewayUrl(values.url),
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
